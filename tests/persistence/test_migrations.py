"""Migrations: applied once, re-runnable, safe from several OS processes at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import asyncpg
import pytest

from tests.conftest import REPO_ROOT
from tradingfloor.observability.redact import redact_url
from tradingfloor.persistence.db import DatabaseUnavailable, Retry, connect
from tradingfloor.persistence.migrate import (
    Migration,
    MigrationError,
    apply_migrations,
    load_migrations,
    migrate,
)

EXPECTED_TABLES = {
    "agents",
    "markets",
    "orders",
    "fills",
    "trades",
    "positions",
    "performance_metrics",
    "system_events",
    "agent_checkpoints",
    "market_data",
    "audit_log",
    "strategy_library",
    "schema_migrations",
}

# every object a migration can create, counted per kind
_INVENTORY = """
SELECT 'table' AS kind, count(*) FROM pg_tables WHERE schemaname = 'public'
UNION ALL SELECT 'index', count(*) FROM pg_indexes WHERE schemaname = 'public'
UNION ALL SELECT 'constraint', count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
          WHERE n.nspname = 'public'
UNION ALL SELECT 'trigger', count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND NOT t.tgisinternal
UNION ALL SELECT 'function', count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname = 'public'
UNION ALL SELECT 'sequence', count(*) FROM pg_sequences WHERE schemaname = 'public'
"""


async def inventory(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        return {r["kind"]: r["count"] for r in await conn.fetch(_INVENTORY)}
    finally:
        await conn.close()


async def table_names(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        return {
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
    finally:
        await conn.close()


def test_migration_files_are_numbered_uniquely_in_order():
    versions = [m.version for m in load_migrations()]
    assert versions == sorted(set(versions)) and versions[:3] == [1, 2, 3]


async def test_migrate_twice_is_a_no_op(db_url):
    applied = await migrate(db_url)
    assert applied == [m.version for m in load_migrations()]
    assert await table_names(db_url) >= EXPECTED_TABLES
    first = await inventory(db_url)
    assert first["trigger"] == 2  # audit_log: update/delete and truncate
    assert await migrate(db_url) == []
    assert await inventory(db_url) == first
    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
    finally:
        await conn.close()
    assert [(r["version"], r["name"], r["checksum"]) for r in rows] == [
        (m.version, m.name, m.checksum) for m in load_migrations()
    ]


async def test_concurrent_migrations_in_one_process(db_url):
    results = await asyncio.gather(*(migrate(db_url) for _ in range(5)))
    applied = [v for r in results for v in r]
    assert sorted(applied) == [m.version for m in load_migrations()]  # each applied exactly once


_CHILD = """
import asyncio, sys, time
from tradingfloor.persistence.migrate import migrate
url, start_at = sys.argv[1], float(sys.argv[2])
time.sleep(max(0.0, start_at - time.time()))
applied = asyncio.run(migrate(url))
print(",".join(map(str, applied)))
"""


async def test_migrations_from_several_os_processes_at_once(db_url, pg_base_url):
    # a baseline: the same migrations applied alone on another fresh database
    admin = await asyncpg.connect(pg_base_url)
    baseline_db = db_url.rpartition("/")[2] + "_base"
    await admin.execute(f'CREATE DATABASE "{baseline_db}"')
    try:
        baseline_url = f"{db_url.rpartition('/')[0]}/{baseline_db}"
        await migrate(baseline_url)
        expected = await inventory(baseline_url)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{baseline_db}" WITH (FORCE)')
        await admin.close()

    n = 4
    start_at = time.time() + 2.0  # all children start migrating at the same instant
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, db_url, str(start_at)],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    outputs = [await asyncio.to_thread(p.communicate, timeout=120) for p in procs]
    for p, (_out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, f"migration process failed:\n{err}"
    applied = [
        v for out, _ in outputs for v in (out.strip().splitlines()[-1].split(",") if out.strip() else []) if v
    ]
    assert sorted(int(v) for v in applied) == [m.version for m in load_migrations()], outputs
    assert await inventory(db_url) == expected
    conn = await asyncpg.connect(db_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(load_migrations())
    finally:
        await conn.close()


async def test_changed_migration_is_refused(db_url):
    await migrate(db_url)
    original = load_migrations()
    edited = [Migration(m.version, m.name, m.sql + "\n-- edited") if m.version == 1 else m for m in original]
    conn = await connect(db_url)
    try:
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await apply_migrations(conn, edited)
        with pytest.raises(MigrationError, match="does not know"):
            await apply_migrations(conn, original[:-1])
        # the lock was released: a correct run still works
        assert await apply_migrations(conn, original) == []
    finally:
        await conn.close()


async def test_failed_migration_rolls_back_and_releases_the_lock(db_url):
    broken = [
        *load_migrations(),
        Migration(99, "broken", "CREATE TABLE half_done (x int); SELECT no_such_function();"),
    ]
    conn = await connect(db_url)
    try:
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await apply_migrations(conn, broken)
        assert await conn.fetchval("SELECT to_regclass('half_done')") is None
        assert (
            await conn.fetchval("SELECT max(version) FROM schema_migrations") == load_migrations()[-1].version
        )
    finally:
        await conn.close()
    assert await migrate(db_url) == []


async def test_unreachable_database_error_names_url_without_password():
    from tradingfloor.services.embedded import free_port

    url = f"postgresql://floor:hunter2-secret@127.0.0.1:{free_port()}/tradingfloor"
    with pytest.raises(DatabaseUnavailable) as info:
        await migrate(url, retry=Retry(attempts=2, base_delay=0.01))
    message = str(info.value)
    assert "hunter2" not in message
    assert "postgresql://floor:***@127.0.0.1:" in message and "after 2 attempt(s)" in message


def test_redact_url():
    assert (
        redact_url("postgresql://u:p%40ss@h:5432/db?sslmode=require")
        == "postgresql://u:***@h:5432/db?sslmode=require"
    )
    assert redact_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert redact_url("redis://:pw@h:6379/0") == "redis://:***@h:6379/0"
    assert redact_url("postgresql://h/db?user=u&password=pw") == "postgresql://h/db?user=u&password=***"
    assert redact_url("host=h user=u password=pw dbname=d") == "host=h user=u password=*** dbname=d"
