"""The trader runtime in-process: performance summary, metrics endpoint, and restart from the
database checkpoint with the ledger intact."""

from __future__ import annotations

from decimal import Decimal as D

import aiohttp
import pytest

from floor_agents.trader.agent import TraderRuntime
from floor_agents.trader.metrics_server import start_metrics_server
from floor_agents.trader.performance import performance
from floor_agents.trader.store import TraderStore
from tests.agent.ledger_check import check_ledger
from tradingfloor.analytics.performance import loss_streak
from tradingfloor.models.trader_agent import Performance, TraderAgentSpec
from tradingfloor.persistence.db import DatabaseUnavailable
from tradingfloor.settings import Settings
from tradingfloor.sim.model import MarketSimulator, SimConfig
from tradingfloor.structs import parse
from tradingfloor.trading.ledger import ClosedTrade

SPEC = parse(
    TraderAgentSpec,
    dict(
        strategy="momentum",
        market={"asset": "BTC", "interval": "15m"},
        params={"lookbackSeconds": 5, "thresholdBps": 1, "maxEntryPrice": "0.95"},
        risk={
            "capital": "1000",
            "maxPositionBps": 5000,
            "maxDrawdownBps": 10000,
            "dailyLossLimitBps": 10000,
            "maxConsecutiveLosses": 1000,
        },
    ),
)


def trade(pnl: str, closed_ms: int) -> ClosedTrade:
    return ClosedTrade("m", "t", "Up", D(pnl), D("0.1"), 0, closed_ms)


def test_performance_is_the_status_shape_with_strings_for_numbers():
    closed = [trade("5", 1), trade("-2", 2), trade("-3", 3)]
    perf = performance(closed, D(1000), D("999.7"), D(10), D(1000), loss_streak(t.net_pnl for t in closed))
    parse(Performance, perf)
    assert perf["trades"] == 3 and perf["wins"] == 1 and perf["losses"] == 2
    assert perf["consecutiveLosses"] == 2 and perf["capital"] == "1000"
    assert perf["pnl"] == "-0.3" and perf["exposure"] == "10" and isinstance(perf["winRate"], str)


async def test_metrics_and_healthz_are_served(unused_tcp_port):
    runner = await start_metrics_server(unused_tcp_port, lambda: True, host="127.0.0.1")
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{unused_tcp_port}/healthz") as r:
                assert r.status == 200 and (await r.json())["ok"] is True
            async with http.get(f"http://127.0.0.1:{unused_tcp_port}/metrics") as r:
                assert "tradingfloor_decision_latency_seconds" in await r.text()
    finally:
        await runner.cleanup()


async def test_restart_resumes_from_the_database_checkpoint(db_url, tmp_path):
    config = SimConfig(seed=2, assets=("BTC",), pattern="momentum")
    sim = MarketSimulator(config)
    events = sim.advance_to(config.start_ms + 2 * 900_000 + 30_000)  # two full rounds and a resolution
    runtime = await TraderRuntime.start(
        "rt", SPEC, Settings(state_dir=tmp_path), TraderStore(db_url, tmp_path, "rt")
    )
    for e in events:
        await runtime.on_event(e, 0)
    await runtime.stop()
    counts = await check_ledger(db_url, "rt")
    assert counts["fills"] >= 1 and counts["trades"] >= 1
    ledger = runtime.engine.broker.ledger

    again = await TraderRuntime.start(
        "rt", SPEC, Settings(state_dir=tmp_path), TraderStore(db_url, tmp_path, "rt")
    )
    assert again.engine.broker.ledger.to_json() == ledger.to_json()
    assert again.seq == runtime.seq
    await again.stop()


async def test_database_outage_goes_to_the_journal_and_is_replayed_exactly_once(own_pg, tmp_path):
    """PostgreSQL stops mid-run: steps go to the local journal; a restart during the outage resumes
    from the journal (not from the older database checkpoint); once PostgreSQL is back the journal
    lands exactly once and the shared tables equal the checkpointed ledger."""
    url = own_pg.url
    config = SimConfig(seed=2, assets=("BTC",), pattern="momentum")
    events = MarketSimulator(config).advance_to(config.start_ms + 3 * 900_000 + 30_000)
    half = len(events) // 3
    runtime = await TraderRuntime.start(
        "j", SPEC, Settings(state_dir=tmp_path), TraderStore(url, tmp_path, "j")
    )
    for e in events[:half]:
        await runtime.on_event(e, 0)
    db_seq = runtime.seq
    own_pg.stop()
    for e in events[half : 2 * half]:
        await runtime.on_event(e, 0)
    assert runtime.store.pending > 0 and runtime.seq > db_seq
    await runtime.store.close(drain_timeout=0)

    again = await TraderRuntime.start(
        "j", SPEC, Settings(state_dir=tmp_path), TraderStore(url, tmp_path, "j")
    )  # the database is still down: the journal holds the newest checkpoint
    assert again.seq == runtime.seq
    assert again.engine.broker.ledger.to_json() == runtime.engine.broker.ledger.to_json()
    for e in events[2 * half :]:
        await again.on_event(e, 0)
    own_pg.start()
    assert await again.store.writer.drain(30), "journal not replayed after PostgreSQL came back"
    await again.stop()
    assert not again.store.journal_path.read_bytes()
    counts = await check_ledger(url, "j")
    assert counts["seq"] == again.seq and counts["trades"] == len(again.engine.broker.ledger.closed) >= 1


async def test_unreachable_database_and_no_journal_refuses_to_start_from_scratch(tmp_path):
    store = TraderStore("postgresql://nobody@127.0.0.1:1/none", tmp_path, "x", startup_wait_s=0.5)
    with pytest.raises(DatabaseUnavailable, match="cannot connect to PostgreSQL"):
        await TraderRuntime.start("x", SPEC, Settings(state_dir=tmp_path), store)
    await store.close()
