"""Least privilege in a cluster: the real Floor Boss (under kopf, against the API emulator, with a real
PostgreSQL) migrates the database as its owner, gives each agent its own login in its kind's role in
a Secret ``<agent>-db-login`` owned by the agent, and the agent's Pod reads DATABASE_URL from it;
collector Pods read theirs from ``collector.db-login``.
The emulator does not check RBAC; the chart's Role granting the operator ``create`` on Secrets is
checked in tests/chart/test_hardening.py."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from floor_boss.pods import build_pod
from floor_boss.settings import BossSettings
from tests.conftest import can_log_in
from tests.operator.conftest import (
    NS,
    agent,
    apply,
    events,
    live_pods,
    patch,
    running_operator,
    trader,
    wait_for,
)
from tradingfloor.models.common import GROUP, VERSION
from tradingfloor.persistence.logins import DatabaseLogins, PasswordFile
from tradingfloor.persistence.migrate import migrate


def _secret(emu, name: str) -> dict | None:
    for (res, ns, found), obj in list(emu.objects.items()):
        if res.plural == "secrets" and ns == NS and found == name and not obj.deleted:
            return obj.raw
    return None


async def test_each_agent_pod_connects_with_its_own_login(emulator, db_url):
    async with running_operator(emulator, agent_db_logins=True, database_url=db_url):
        await apply(emulator, trader("login-a"))
        pods = await wait_for(lambda: live_pods(emulator, "login-a-"), timeout=30, what="pod login-a-0")
        env = {e["name"]: e for e in pods["login-a-0"]["spec"]["containers"][0]["env"]}
        ref = env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "login-a-db-login", "key": "DATABASE_URL"}
        secret = _secret(emulator, "login-a-db-login")
        assert secret is not None
        owner = secret["metadata"]["ownerReferences"][0]
        assert owner["uid"] == agent(emulator, "login-a")["metadata"]["uid"]  # goes with the agent
        collector = await wait_for(lambda: live_pods(emulator, "collector-"), timeout=30, what="a collector")
        (pod,) = collector.values()
        env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
        assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "collector.db-login"
        collector_url = _secret(emulator, "collector.db-login")["stringData"]["DATABASE_URL"]
    url = secret["stringData"]["DATABASE_URL"]
    assert url != db_url and "postgres@" not in url
    conn = await asyncpg.connect(url)
    try:
        me = await conn.fetchval("SELECT current_user")
        assert me.startswith("tf_trader_")
        assert await conn.fetchval("SELECT agent FROM agent_logins WHERE login = current_user") == "login-a"
        for sql in (
            "UPDATE audit_log SET hash = 'x'",
            "DELETE FROM audit_log",
            "ALTER TABLE audit_log DISABLE TRIGGER ALL",
            "DROP TABLE orders",
            "UPDATE agents SET spec = '{}'::jsonb",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)
    finally:
        await conn.close()
    conn = await asyncpg.connect(collector_url)
    try:
        assert (await conn.fetchval("SELECT current_user")).startswith("tf_collector_")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM orders")
    finally:
        await conn.close()


async def test_a_retired_or_deleted_agent_can_no_longer_log_in(emulator, db_url):
    base = f"/apis/{GROUP}/{VERSION}/namespaces/{NS}/traderagents"
    async with running_operator(emulator, agent_db_logins=True, database_url=db_url):
        for name in ("login-r", "login-d"):
            await apply(emulator, trader(name))
            await wait_for(lambda n=name: live_pods(emulator, f"{n}-"), timeout=30, what=f"pod {name}-0")
        urls = {
            n: _secret(emulator, f"{n}-db-login")["stringData"]["DATABASE_URL"]
            for n in ("login-r", "login-d")
        }
        assert all([await can_log_in(u) for u in urls.values()])

        await patch(emulator, f"{base}/login-r", {"spec": {"lifecycle": "Retired"}})
        async with emulator.delete(f"{base}/login-d") as resp:
            assert resp.status in (200, 202), await resp.text()

        async def both_refused() -> bool:
            return not any([await can_log_in(u) for u in urls.values()])

        deadline = time.monotonic() + 30
        while not await both_refused():
            assert time.monotonic() < deadline, "a retired or deleted agent's login still works"
            await asyncio.sleep(0.3)


def test_without_agent_logins_pods_use_the_connection_secret():
    body = trader("plain")
    body["metadata"]["uid"] = "0b5e7a1e-0000-4000-8000-000000000001"
    pod = build_pod(body, "plain-0", BossSettings(connection_secret="conn"))
    env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "conn", "key": "DATABASE_URL"}


async def test_without_createrole_the_agent_gets_an_event_and_no_pod(emulator, db_url, tmp_path):
    await migrate(db_url)  # as the owner; the operator below connects as a login that may not create roles
    weak = await DatabaseLogins(db_url, PasswordFile(tmp_path / "p.json")).url_for("floor")
    async with running_operator(emulator, agent_db_logins=True, database_url=weak):
        await apply(emulator, trader("login-b"))
        (refused, *_) = await wait_for(
            lambda: events(emulator, "DatabaseLoginRefused"), timeout=30, what="a DatabaseLoginRefused event"
        )
        assert "may not create roles" in refused["message"]
        assert not live_pods(emulator, "login-b-")  # never a Pod on the owner's URL instead
