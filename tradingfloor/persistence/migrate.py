"""Versioned schema migrations, applied at start-up by every process that uses the database.

Migrations are the numbered ``migrations/NNNN_name.sql`` files, applied in order, each in its own
transaction together with its row in ``schema_migrations`` (version, name, checksum). The whole
run holds a session-level PostgreSQL advisory lock, so any number of processes may call
:func:`migrate` at once: one applies what is missing, the others wait and then find nothing to do.
A file changed after it was applied (checksum mismatch) is an error, never silently re-run.

``python -m tradingfloor.persistence.migrate [URL]`` applies them (URL defaults to DATABASE_URL).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from tradingfloor.observability.logging import get_logger
from tradingfloor.observability.redact import redact_url
from tradingfloor.persistence.db import Retry, connect

if TYPE_CHECKING:
    import asyncpg  # loaded by connect(): a file-backed trader that imports this module never does

log = get_logger("tradingfloor.persistence.migrate")

# pg_advisory_lock key: the first 8 bytes of sha256("tradingfloor.schema_migrations"), signed
ADVISORY_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"tradingfloor.schema_migrations").digest()[:8], "big", signed=True
)

_FILE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def load_migrations() -> list[Migration]:
    """The packaged migration files, in version order (duplicate versions are an error)."""
    found: dict[int, Migration] = {}
    for entry in resources.files("tradingfloor.persistence").joinpath("migrations").iterdir():
        m = _FILE.match(entry.name)
        if not m:
            continue
        version = int(m.group("version"))
        if version in found:
            raise MigrationError(
                f"two migrations with version {version}: {found[version].name} and {m.group('name')}"
            )
        found[version] = Migration(version, m.group("name"), entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def _acquire_lock(conn: asyncpg.Connection, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.05
    while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", ADVISORY_LOCK_KEY):
        if time.monotonic() >= deadline:
            holder = await conn.fetchval(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1 LIMIT 1",
                (ADVISORY_LOCK_KEY >> 32) & 0xFFFFFFFF,
                ADVISORY_LOCK_KEY & 0xFFFFFFFF,
            )
            raise MigrationError(
                f"timed out after {timeout:.0f}s waiting for the migration lock (held by backend pid {holder})"
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.5)


async def apply_migrations(
    conn: asyncpg.Connection, migrations: Sequence[Migration] | None = None, *, lock_timeout: float = 120.0
) -> list[int]:
    """Apply the missing migrations on ``conn``; returns the versions applied by this call."""
    from asyncpg import InterfaceError, PostgresError

    migrations = list(migrations if migrations is not None else load_migrations())
    await _acquire_lock(conn, lock_timeout)
    try:
        # agents connect with logins that may not CREATE (migration 0090): they only check that the
        # schema is current, so nothing is created here unless it is missing
        if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
            await conn.execute(_CREATE_TABLE)
        applied = {
            r["version"]: r for r in await conn.fetch("SELECT version, name, checksum FROM schema_migrations")
        }
        known = {m.version for m in migrations}
        newer = sorted(v for v in applied if v not in known)
        if newer:
            raise MigrationError(
                f"the database has migrations this code does not know ({newer}); it was migrated by a newer version"
            )
        pending = [m for m in migrations if m.version not in applied]
        if pending and not await conn.fetchval("SELECT has_schema_privilege('public', 'CREATE')"):
            raise MigrationError(
                f"the database schema is behind (missing {', '.join(f'{m.version:04d}_{m.name}' for m in pending)})"
                " and this login may not migrate it: run the migrations as the migration owner "
                "(`python -m tradingfloor.persistence.migrate` with its DATABASE_URL)"
            )
        done: list[int] = []
        for m in migrations:
            row = applied.get(m.version)
            if row is not None:
                if row["checksum"] != m.checksum:
                    raise MigrationError(
                        f"migration {m.version:04d}_{m.name} changed after it was applied "
                        f"(checksum {row['checksum'][:12]}… in the database, {m.checksum[:12]}… in the file); "
                        "add a new migration instead of editing an applied one"
                    )
                continue
            started = time.perf_counter()
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    m.version,
                    m.name,
                    m.checksum,
                )
            log.info(
                "db.migration_applied",
                version=m.version,
                name=m.name,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
            done.append(m.version)
        return done
    finally:
        if not conn.is_closed():
            try:
                await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)
            except (PostgresError, InterfaceError, OSError):
                pass  # the lock is a session lock: it goes with the connection anyway


async def migrate(url: str, *, retry: Retry = Retry(), lock_timeout: float = 120.0) -> list[int]:
    """Connect (retrying while the server is unreachable) and apply the missing migrations."""
    conn = await connect(url, retry=retry)
    try:
        return await apply_migrations(conn, lock_timeout=lock_timeout)
    finally:
        await conn.close()


async def current_version(conn: asyncpg.Connection) -> int:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return 0
    return await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    url = args[0] if args else os.environ.get("DATABASE_URL")
    if not url:
        print("usage: python -m tradingfloor.persistence.migrate URL (or set DATABASE_URL)", file=sys.stderr)
        return 2
    try:
        applied = asyncio.run(migrate(url))
    except Exception as exc:
        print(f"migration failed on {redact_url(url)}: {exc}", file=sys.stderr)
        return 1
    print(f"{redact_url(url)}: applied {applied or 'nothing (up to date)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
