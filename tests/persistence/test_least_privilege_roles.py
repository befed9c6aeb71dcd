"""Database roles per kind (migration 0090), exercised by logging in as them: a trader writes only
its own ledger rows, the auditor only appends to the audit log, and nobody but the migration owner
can alter tables or switch off the audit log's triggers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from tradingfloor.persistence.migrate import migrate


@pytest.fixture
async def roles_db(db_url):
    await migrate(db_url)
    return db_url


async def login(db_url: str, role: str, member_of: str) -> asyncpg.Connection:
    """A login role ``role`` in group ``member_of`` (as an agent's database user would be)."""
    password = uuid.uuid4().hex
    admin = await asyncpg.connect(db_url)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
        verb = "ALTER" if exists else "CREATE"
        await admin.execute(f"{verb} ROLE \"{role}\" LOGIN PASSWORD '{password}'")
        await admin.execute(f'GRANT {member_of} TO "{role}"')
    finally:
        await admin.close()
    base, _, database = db_url.rpartition("/")
    scheme, _, rest = base.partition("://")
    host = rest.rpartition("@")[2]
    return await asyncpg.connect(f"{scheme}://{role}:{password}@{host}/{database}")


async def _order(conn: asyncpg.Connection, agent: str) -> None:
    await conn.execute(
        """INSERT INTO orders (client_order_id, agent, market_id, token_id, side, order_type, limit_price,
                               size, filled_size, status, mode, created_at, updated_at)
           VALUES ($1, $2, 'm', 't', 'BUY', 'GTC', 0.5, 10, 0, 'resting', 'paper', now(), now())""",
        uuid.uuid4().hex,
        agent,
    )


async def test_a_trader_writes_only_its_own_rows(roles_db):
    name = f"rt-{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(roles_db)
    try:
        await _order(admin, "someone-else")
    finally:
        await admin.close()
    trader = await login(roles_db, name, "tf_trader")
    try:
        await _order(trader, name)
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            await _order(trader, "someone-else")
        assert (
            await trader.fetchval("SELECT count(*) FROM orders") == 1
        )  # the other agent's rows are invisible
        assert (
            await trader.execute("UPDATE orders SET status = 'cancelled' WHERE agent = 'someone-else'")
            == "UPDATE 0"
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await trader.execute(
                "INSERT INTO audit_log (seq, ts, agent, subject, kind, prev_hash, hash) VALUES (1, now(), 'x', 's', 'k', 'p', 'h')"
            )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await trader.execute("UPDATE agents SET spec = '{}'::jsonb")
    finally:
        await trader.close()


async def test_the_auditor_only_appends_to_the_audit_log(roles_db):
    auditor = await login(roles_db, f"ra-{uuid.uuid4().hex[:8]}", "tf_auditor")
    try:
        await auditor.execute(
            "INSERT INTO audit_log (seq, ts, agent, subject, kind, prev_hash, hash) VALUES (1, $1, 'a', 's', 'k', 'p', 'h')",
            datetime.now(UTC),
        )
        for sql in (
            "UPDATE audit_log SET hash = 'x'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
            "INSERT INTO orders (client_order_id) VALUES ('x')",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await auditor.execute(sql)
        assert await auditor.fetchval("SELECT count(*) FROM audit_log") == 1
    finally:
        await auditor.close()


@pytest.mark.parametrize("group", ["tf_trader", "tf_auditor", "tf_monitor", "tf_floor"])
async def test_nobody_but_the_owner_alters_tables_or_triggers(roles_db, group):
    conn = await login(roles_db, f"r{group[3]}-{uuid.uuid4().hex[:8]}", group)
    try:
        for sql in (
            "ALTER TABLE audit_log DISABLE TRIGGER USER",
            "DROP TRIGGER audit_log_no_update_delete ON audit_log",
            "ALTER TABLE orders ADD COLUMN x int",
            "CREATE TABLE sneaky (x int)",
            "ALTER TABLE orders DISABLE ROW LEVEL SECURITY",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)
    finally:
        await conn.close()
