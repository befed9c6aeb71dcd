"""The local floor runs every agent on its own database login (least privilege, docs/security.md):
a trader, the Auditor and the Monitor each hold a session as their login, write what their kind
writes (a checkpoint, an audit pass, a status) and the owner's password is in none of their
environments."""

from __future__ import annotations

import json

import asyncpg

from tests.conftest import can_log_in
from tradingfloor.persistence import repositories as repo
from tradingfloor.persistence.logins import login_name, with_user


async def test_each_agent_process_connects_as_its_own_login(start_floor, db_url):
    floor = await start_floor(["momentum-btc.yaml", "auditor.yaml", "monitor.yaml"], pattern="momentum")
    database = db_url.rpartition("/")[2]
    expected = {
        "momentum-btc": login_name(database, "trader", "momentum-btc"),
        "auditor": login_name(database, "auditor", "auditor"),
        "monitor": login_name(database, "monitor", "monitor"),
    }

    async def sessions() -> set[str] | None:
        conn = await asyncpg.connect(db_url)
        try:
            rows = await conn.fetch(
                "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = current_database()"
            )
        finally:
            await conn.close()
        users = {r["usename"] for r in rows}
        return users if set(expected.values()) <= users else None

    users = await floor.wait_for(sessions, 120, "a session of every agent's login")
    assert all(u == "postgres" or u.startswith("tf_") for u in users), users

    async def checkpointed():
        return await repo.load_checkpoint(floor.supervisor.store.pool, "momentum-btc")

    assert await floor.wait_for(checkpointed, 90, "the trader's first checkpoint (written as its login)")

    secrets = floor.state_dir / "secrets" / "db-logins.json"
    assert secrets.stat().st_mode & 0o777 == 0o600
    assert set(expected.values()) <= set(json.loads(secrets.read_text()))
    for pid in floor.floor._agent_pids().values():
        environ = open(f"/proc/{pid['pid']}/environ", "rb").read().decode(errors="replace").split("\0")
        url = next(v for v in environ if v.startswith("DATABASE_URL="))
        assert "postgresql://tf_" in url and "postgres@" not in url  # its own login, not the owner
        cmdline = open(f"/proc/{pid['pid']}/cmdline", "rb").read().decode(errors="replace")
        assert "postgresql://" not in cmdline  # no URL (nor password) on a command line

    # retired, the trader's login gives back its right to connect (its process is stopped too)
    trader_url = with_user(
        db_url, expected["momentum-btc"], json.loads(secrets.read_text())[expected["momentum-btc"]]
    )
    await floor.supervisor.store.set_lifecycle("momentum-btc", "Retired")

    async def login_refused() -> bool:
        return not await can_log_in(trader_url)

    assert await floor.wait_for(login_refused, 60, "the retired trader's login to be refused")
