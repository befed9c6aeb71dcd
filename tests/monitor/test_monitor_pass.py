"""One monitor pass over a real PostgreSQL and Redis: performance rows, the Monitor's status
through DatabaseStatusSink, alerts, and ``floor report`` files."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import redis.asyncio as aioredis

from floor_agents.monitor import report
from floor_agents.monitor.floor_pass import run_pass
from floor_agents.monitor.performance import AlertThresholds
from tradingfloor.analytics.stats import max_drawdown, profit_factor
from tradingfloor.persistence.db import create_pool
from tradingfloor.persistence.repositories import (
    TradeRow,
    latest_performance,
    recent_events,
    record_trade,
    upsert_agent,
)
from tradingfloor.status.database import DatabaseStatusSink

SEED = {"alpha": (D("1000"), ["12.5", "-4", "7.25", "3"]), "beta": (D("500"), ["-20", "5", "-40", "-30"])}


async def _seed(pool, now: datetime) -> None:
    # trades closed within the hour before ``now``: the test's own clock, not the module's import
    # time (a report run minutes after collection would see the first trades leave its window)
    for name, (capital, pnls) in SEED.items():
        await upsert_agent(
            pool,
            name,
            "TraderAgent",
            {"strategy": "momentum", "market": {"asset": "BTC"}, "risk": {"capital": str(capital)}},
        )
        for i, p in enumerate(pnls):
            closed = now - timedelta(minutes=50) + timedelta(minutes=10 * i)
            await record_trade(
                pool,
                TradeRow(
                    f"{name}-{i}",
                    name,
                    "m1",
                    f"tok-{name}-{i}",
                    D(10),
                    D("0.5"),
                    D(1),
                    "settled",
                    closed - timedelta(minutes=5),
                    closed,
                    D(p) + D("0.1"),
                    D("0.1"),
                    D(p),
                ),
            )
    await upsert_agent(pool, "monitor", "Monitor", {})


async def test_monitor_pass_writes_status_and_alerts(floor_db, redis_url):
    pool = await create_pool(floor_db)
    client = aioredis.from_url(redis_url)
    pubsub = client.pubsub()
    await pubsub.subscribe("trading_floor")
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        await _seed(pool, now)
        sink = DatabaseStatusSink(pool)
        await pool.execute(
            'UPDATE agents SET status = \'{"phase": "Running", "conditions": [{"type": "Ready"}]}\' '
            "WHERE name = 'alpha'"
        )
        thresholds = AlertThresholds(
            drawdown_bps=1000, daily_loss_bps=5000, consecutive_losses=5, heartbeat_stale_seconds=60
        )
        result = await run_pass(pool, sink, "monitor", thresholds, now, redis=client)

        for name, (capital, pnls) in SEED.items():
            row = await latest_performance(pool, name, "all")
            values = [D(p) for p in pnls]
            curve = [float(capital)]
            for v in values:
                curve.append(curve[-1] + float(v))
            wins = sum(v > 0 for v in values)
            assert row.trades == len(values) and row.wins == wins
            assert row.pnl == sum(values) and row.equity == capital + sum(values)
            assert row.fees == D("0.1") * len(values)
            assert float(row.win_rate) == wins / len(values)
            assert float(row.max_drawdown) == max_drawdown(curve)
            assert float(row.profit_factor) == profit_factor([float(v) for v in values])
            # one writer of status.performance: the trader, never the monitor
            assert "performance" not in ((await sink.read_status("TraderAgent", name)) or {})
        alpha = await sink.read_status("TraderAgent", "alpha")
        assert alpha["phase"] == "Running" and alpha["conditions"] == [
            {"type": "Ready"}
        ]  # operator's keys kept

        # beta: 500 → 480 → 485 → 445 → 415, drawdown (485 − 415) / 485 = 14.4 % ≥ 10 %
        assert [(a.agent, a.alert) for a in result.alerts] == [("beta", "drawdown")]
        floor = (await sink.read_status("Monitor", "monitor"))["floor"]
        assert floor["agents"] == 2 and floor["trades"] == 8 and floor["alerts"] == 1
        assert D(floor["pnl"]) == sum(D(p) for _, ps in SEED.values() for p in ps)
        events = await recent_events(pool, type="performance_alert")
        assert [(e.agent, e.reason) for e in events] == [("beta", "drawdown")]
        message = None
        async with asyncio.timeout(5):
            while message is None or message["type"] != "message":
                message = await pubsub.get_message(timeout=1)
        body = json.loads(message["data"])
        assert body["type"] == "performance_alert" and body["payload"]["agent"] == "beta"
    finally:
        await pubsub.aclose()
        await client.aclose()
        await pool.close()


async def test_report_command_writes_pages_and_pictures(floor_db, tmp_path):
    pool = await create_pool(floor_db)
    try:
        await _seed(pool, datetime.now(UTC).replace(microsecond=0))
    finally:
        await pool.close()
    for fmt in ("markdown", "html"):
        out = tmp_path / fmt
        code = await asyncio.to_thread(report.main, "hourly", out, fmt, floor_db)
        assert code == 0
        [page] = [p for p in out.iterdir() if p.suffix in (".md", ".html")]
        text = page.read_text()
        pngs = sorted(out.glob("*.png"))
        assert len(pngs) == 2 and all(p.name in text for p in pngs)
        assert "alpha" in text and "beta" in text
        assert "18.75" in text and "-85" in text  # each agent's P&L over the hour
        assert "-66.25" in text  # the floor's
