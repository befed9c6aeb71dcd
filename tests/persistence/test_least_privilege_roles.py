"""Database roles per kind (migration 0090), exercised by logging in as them: a trader writes only
its own ledger rows, the auditor only appends to the audit log, and nobody but the migration owner
can alter tables or switch off the audit log's triggers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from tradingfloor.persistence.logins import DatabaseLogins, LoginsUnavailable, PasswordFile, login_name
from tradingfloor.persistence.migrate import MigrationError, migrate


@pytest.fixture
async def roles_db(db_url):
    await migrate(db_url)
    return db_url


async def login(db_url: str, tmp_path: Path, kind: str, agent: str | None = None) -> asyncpg.Connection:
    """A connection as the floor's agents make them: through their own login (DatabaseLogins)."""
    logins = DatabaseLogins(db_url, PasswordFile(tmp_path / "db-logins.json"))
    return await asyncpg.connect(await logins.url_for(kind, agent))


async def _order(conn: asyncpg.Connection, agent: str) -> None:
    await conn.execute(
        """INSERT INTO orders (client_order_id, agent, market_id, token_id, side, order_type, limit_price,
                               size, filled_size, status, mode, created_at, updated_at)
           VALUES ($1, $2, 'm', 't', 'BUY', 'GTC', 0.5, 10, 0, 'resting', 'paper', now(), now())""",
        uuid.uuid4().hex,
        agent,
    )


async def test_a_trader_writes_only_its_own_rows(roles_db, tmp_path):
    name = f"rt-{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(roles_db)
    try:
        await _order(admin, "someone-else")
    finally:
        await admin.close()
    trader = await login(roles_db, tmp_path, "TraderAgent", name)
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


async def test_the_auditor_only_appends_to_the_audit_log(roles_db, tmp_path):
    auditor = await login(roles_db, tmp_path, "Auditor", "the-auditor")
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


@pytest.mark.parametrize("kind", ["TraderAgent", "Auditor", "Monitor", "collector", "floor"])
async def test_nobody_but_the_owner_alters_tables_or_triggers(roles_db, tmp_path, kind):
    agent = None if kind in ("collector", "floor") else f"a-{uuid.uuid4().hex[:8]}"
    conn = await login(roles_db, tmp_path, kind, agent)
    try:
        for sql in (
            "ALTER TABLE audit_log DISABLE TRIGGER USER",
            "DROP TRIGGER audit_log_no_update_delete ON audit_log",
            "ALTER TABLE orders ADD COLUMN x int",
            "CREATE TABLE sneaky (x int)",
            "ALTER TABLE orders DISABLE ROW LEVEL SECURITY",
            "DROP TABLE audit_log",
            "ALTER TABLE audit_log OWNER TO CURRENT_USER",
            "DROP POLICY own_rows ON orders",
            "INSERT INTO agent_logins (login, agent, kind) VALUES (session_user, 'someone-else', 'trader')",
            "UPDATE agent_logins SET agent = 'someone-else'",
            "CREATE ROLE sneaky LOGIN SUPERUSER",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)
    finally:
        await conn.close()


async def _audit_entry(db_url: str) -> None:
    admin = await asyncpg.connect(db_url)
    try:
        await admin.execute(
            "INSERT INTO audit_log (seq, ts, agent, subject, kind, prev_hash, hash) VALUES (1, now(), 'a', 's', 'k', 'p', 'h')"
        )
    finally:
        await admin.close()


async def test_a_trader_cannot_rewrite_the_audit_log_or_write_other_kinds_tables(roles_db, tmp_path):
    await _audit_entry(roles_db)
    trader = await login(roles_db, tmp_path, "TraderAgent", "t-one")
    try:
        for sql in (
            "UPDATE audit_log SET hash = 'forged'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
            "INSERT INTO audit_log (seq, ts, agent, subject, kind, prev_hash, hash) VALUES (2, now(), 'x', 's', 'k', 'h', 'h2')",
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete",
            "ALTER TABLE audit_log DISABLE TRIGGER ALL",
            "DROP TABLE orders",
            "INSERT INTO strategy_library (name, strategy, params, status) VALUES ('x', 'momentum', '{}', 'active')",
            "INSERT INTO agents (name, kind) VALUES ('rogue', 'TraderAgent')",
            "DELETE FROM agents",
            "UPDATE agents SET spec = '{}'::jsonb",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await trader.execute(sql)
        assert await trader.fetchval("SELECT hash FROM audit_log WHERE seq = 1") == "h"
    finally:
        await trader.close()


async def test_each_agent_updates_only_its_own_status(roles_db, tmp_path):
    admin = await asyncpg.connect(roles_db)
    try:
        for name, kind in (("t-one", "TraderAgent"), ("t-two", "TraderAgent"), ("the-monitor", "Monitor")):
            await admin.execute("INSERT INTO agents (name, kind) VALUES ($1, $2)", name, kind)
    finally:
        await admin.close()
    for kind, me in (("TraderAgent", "t-one"), ("Monitor", "the-monitor")):
        conn = await login(roles_db, tmp_path, kind, me)
        try:
            status = 'UPDATE agents SET status = \'{"phase": "Running"}\'::jsonb WHERE name = $1'
            assert await conn.execute(status, me) == "UPDATE 1"
            assert await conn.execute(status, "t-two") == "UPDATE 0"  # another agent's row: untouched
        finally:
            await conn.close()


async def test_logins_are_named_apart_from_agents_and_keep_their_passwords_private(roles_db, tmp_path):
    logins = DatabaseLogins(roles_db, PasswordFile(tmp_path / "secrets" / "db-logins.json"))
    url = await logins.url_for("TraderAgent", "postgres")  # an agent named like the superuser
    user = url.partition("://")[2].partition(":")[0]
    assert user == login_name(logins.database, "trader", "postgres") and user.startswith("tf_trader_")
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user") is False
        assert await conn.fetchval("SELECT pg_has_role('tf_trader', 'MEMBER')") is True
    finally:
        await conn.close()
    assert (tmp_path / "secrets" / "db-logins.json").stat().st_mode & 0o777 == 0o600
    # a second floor (a restart) reuses the stored password: the URL the agents got still works
    again = DatabaseLogins(roles_db, PasswordFile(tmp_path / "secrets" / "db-logins.json"))
    assert await again.url_for("TraderAgent", "postgres") == url


async def test_a_privileged_role_under_a_login_name_is_not_taken_over(roles_db, tmp_path):
    logins = DatabaseLogins(roles_db, PasswordFile(tmp_path / "db-logins.json"))
    taken = login_name(logins.database, "monitor", "m-one")
    admin = await asyncpg.connect(roles_db)
    try:
        await admin.execute(f'CREATE ROLE "{taken}" CREATEROLE')
        with pytest.raises(LoginsUnavailable, match="more privileges than a login may hold"):
            await logins.url_for("Monitor", "m-one")
    finally:
        await admin.execute(f'DROP ROLE "{taken}"')
        await admin.close()


async def test_without_createrole_the_floor_is_told_why(roles_db, tmp_path):
    floor_url = await DatabaseLogins(roles_db, PasswordFile(tmp_path / "a.json")).url_for("floor")
    weak = DatabaseLogins(floor_url, PasswordFile(tmp_path / "b.json"))
    with pytest.raises(LoginsUnavailable, match="may not create roles"):
        await weak.url_for("TraderAgent", "t-one")


async def test_an_agent_login_checks_the_schema_but_never_migrates_it(roles_db, tmp_path):
    url = await DatabaseLogins(roles_db, PasswordFile(tmp_path / "p.json")).url_for("TraderAgent", "t-one")
    assert await migrate(url) == []  # an agent's start-up: the schema is current, nothing to create
    admin = await asyncpg.connect(roles_db)
    try:  # as if the code were newer than the database
        await admin.execute("DELETE FROM schema_migrations WHERE version = 96")
    finally:
        await admin.close()
    with pytest.raises(
        MigrationError, match=r"schema is behind \(missing 0096_agent_logins\).*migration owner"
    ):
        await migrate(url)


async def test_a_disabled_login_cannot_connect_until_it_is_needed_again(roles_db, tmp_path):
    logins = DatabaseLogins(roles_db, PasswordFile(tmp_path / "db-logins.json"))
    url = await logins.url_for("TraderAgent", "t-gone")
    assert await logins.disable("TraderAgent", "t-gone") is True
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="not permitted to log in"):
        await asyncpg.connect(url)
    assert await logins.disable("TraderAgent", "never-started") is False  # no login, nothing to do
    assert await logins.url_for("TraderAgent", "t-gone") == url  # the same name back (a new manifest)
    conn = await asyncpg.connect(url)
    await conn.close()


async def test_a_second_floor_owner_on_the_server_is_told_how_to_get_the_group_roles(pg_base_url, tmp_path):
    """Group roles are cluster-wide: on PostgreSQL 16+ only their creator may grant them, so a second
    floor's owner (a CREATEROLE user, as on a managed server) gets a clear error, not a crash loop."""
    owner, database = f"owner_{uuid.uuid4().hex[:8]}", f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_base_url)
    try:
        await migrate(pg_base_url)  # the first floor: the group roles exist, made by the superuser
        await admin.execute(f'CREATE ROLE "{owner}" LOGIN CREATEROLE')
        await admin.execute(f'CREATE DATABASE "{database}" OWNER "{owner}"')
        base = pg_base_url.rpartition("/")[0].replace("postgres@", f"{owner}@", 1)
        url = f"{base}/{database}"
        await migrate(url)
        logins = DatabaseLogins(url, PasswordFile(tmp_path / "db-logins.json"))
        if int(await admin.fetchval("SHOW server_version_num")) >= 160000:
            with pytest.raises(LoginsUnavailable, match=rf'GRANT tf_trader TO "{owner}" WITH ADMIN OPTION'):
                await logins.url_for("TraderAgent", "t-two")
            for group in ("tf_trader", "tf_auditor", "tf_monitor", "tf_floor", "tf_collector"):
                await admin.execute(f'GRANT {group} TO "{owner}" WITH ADMIN OPTION')
        conn = await asyncpg.connect(await logins.url_for("TraderAgent", "t-two"))  # after the admin's grant
        await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        login = login_name(database, "trader", "t-two")
        await admin.execute(f'DROP ROLE IF EXISTS "{login}"')
        await admin.execute(f'DROP ROLE IF EXISTS "{owner}"')
        await admin.close()
