"""The trader's ledger as the rest of the floor sees it, end to end: the simulator → a real
Collector → the trader agent as a subprocess → the shared tables and the ``trading_floor`` bus →
one auditor pass, one monitor pass, and ``floor audit verify``."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import redis.asyncio as aioredis
import yaml

from floor_agents.auditor import verify
from floor_agents.auditor.audit_pass import Auditor, BookCache
from floor_agents.auditor.heads import advance_head
from floor_agents.monitor.floor_pass import run_pass as monitor_pass
from floor_agents.monitor.performance import AlertThresholds
from tests.agent.conftest import MANIFEST, AgentProcess, wait_for
from tradingfloor.audit.checks import Thresholds
from tradingfloor.audit.heads import FileHeadStore, local_head_path
from tradingfloor.market.collector import Collector, CollectorUrls
from tradingfloor.persistence import repositories as repo
from tradingfloor.persistence.db import create_pool
from tradingfloor.persistence.market_archive import PostgresSink
from tradingfloor.persistence.migrate import migrate
from tradingfloor.sim.model import SimConfig
from tradingfloor.sim.server import start_simulator
from tradingfloor.status.database import DatabaseStatusSink

AGENT = "chain-trader"
SPEED = 300.0  # a 15-minute round every 3 s


async def _listen(redis_url: str, books: BookCache, messages: list[dict], ready: asyncio.Event) -> None:
    client = aioredis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe("trading_floor")
    ready.set()
    try:
        while True:
            msg = await pubsub.get_message(timeout=1.0)
            if msg is None:
                continue
            body = json.loads(msg["data"])
            if body.get("type") == "trade_executed":
                messages.append(body)
                books.consume_message(body)
    finally:
        await pubsub.aclose()
        await client.aclose()


async def _closed_trades(pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM trades WHERE agent = $1", AGENT)


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_trader_fills_and_trades_reach_auditor_monitor_and_verify(
    db_url, redis_url, agent_env, tmp_path, monkeypatch
):
    await migrate(db_url)
    pool = await create_pool(db_url, max_size=3)
    manifest = tmp_path / "trader.yaml"
    manifest.write_text(MANIFEST % {"name": AGENT})
    spec = yaml.safe_load(manifest.read_text())["spec"]
    await repo.upsert_agent(pool, AGENT, "TraderAgent", spec)
    await repo.upsert_agent(pool, "chain-monitor", "Monitor", {})

    sim = await start_simulator(
        "127.0.0.1", 0, SimConfig(seed=4, assets=("BTC",), pattern="momentum"), speed=SPEED
    )
    collector = Collector(
        "BTC",
        "15m",
        CollectorUrls(sim.url, sim.url, sim.market_ws_url, sim.spot_ws_url),
        redis_url,
        PostgresSink(db_url),
        batch_size=500,
        flush_interval=0.2,
        stale_after=5.0,
    )
    stop = asyncio.Event()
    books, messages, ready = BookCache(), [], asyncio.Event()
    listener = asyncio.create_task(_listen(redis_url, books, messages, ready))
    collecting = asyncio.create_task(collector.run(stop))
    trader = AgentProcess(manifest, agent_env, tmp_path)
    try:
        await asyncio.wait_for(ready.wait(), 10)
        # the collector is already publishing when the trader starts: it takes the round up from the cache
        await wait_for(lambda: _cached_markets(redis_url), timeout=30)
        trader.start()
        await wait_for(lambda: _closed_trades(pool), timeout=90, interval=0.5)
        assert trader.terminate() == 0, trader.log_text()[-3000:]
    finally:
        trader.terminate()
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(collecting, 15)
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await sim.stop()
    log = trader.log_text()
    assert "trader.caught_up" in log

    try:
        fills = {
            r["fill_id"]: r
            for r in await pool.fetch(
                "SELECT f.fill_id, f.liquidity FROM fills f JOIN orders o USING (client_order_id) WHERE o.agent = $1",
                AGENT,
            )
        }
        trades = await repo.list_trades(pool, agent=AGENT)
        assert fills and trades
        # every fill was announced on the bus with its id and the book it met
        announced = {m["payload"]["fill_id"] for m in messages}
        assert announced == set(fills)
        assert all(m["payload"]["book"]["asks"] for m in messages)

        # one auditor pass: exactly the trader's fills and trades, each once; the book of every
        # taker fill is known, and the trader's own records pass every check
        audit_key = b"chain-test-audit-key-0123456789abcdef"  # the Auditor's Secret
        auditor = Auditor("chain-auditor", Thresholds(), books=books, key=audit_key)
        stats = await auditor.run_pass(pool)
        assert stats.checked == len(fills) + len(trades)
        subjects = {
            r["subject"]: r["payload"]
            for r in await pool.fetch("SELECT subject, payload FROM audit_log WHERE agent = 'chain-auditor'")
        }
        assert set(subjects) == {f"fill:{f}" for f in fills} | {f"trade:{t.id}" for t in trades}
        assert all(p["skipped"] == [] for s, p in subjects.items() if s.startswith("fill:")), subjects
        assert [v.to_json() for v in stats.violations] == []
        assert (await auditor.run_pass(pool)).checked == 0

        # one monitor pass: the trader's performance from the shared trades table
        now = datetime.now(UTC)
        result = await monitor_pass(pool, DatabaseStatusSink(pool), "chain-monitor", AlertThresholds(), now)
        mine = next(m for m in result.agents if m.agent == AGENT)
        assert mine.trades == len(trades)
        assert mine.pnl == sum((t.net_pnl for t in trades), Decimal(0))
        status = (await repo.get_agent(pool, AGENT)).status
        assert status["performance"]["trades"] == len(trades)

        monkeypatch.setenv("FLOOR_STATE_DIR", str(tmp_path / "state"))
        monkeypatch.setenv("AUDIT_HMAC_KEY", audit_key.decode())
        # what the Auditor does after a pass: export the chain head outside the database
        await advance_head(pool, FileHeadStore(local_head_path(tmp_path / "state")), audit_key)
        assert await asyncio.to_thread(verify.main, db_url) == 0  # `floor audit verify`
    finally:
        await pool.close()


async def _cached_markets(redis_url: str) -> bool:
    client = aioredis.from_url(redis_url)
    try:
        return bool(await client.hlen("tf:md:BTC:15m:markets")) and bool(
            await client.exists("tf:md:BTC:15m:spot")
        )
    finally:
        await client.aclose()
