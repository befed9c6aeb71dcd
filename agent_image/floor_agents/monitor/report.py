"""``floor report --hourly|--daily``: each agent's and the floor's performance over the window,
with an equity-and-drawdown picture per agent."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from floor_agents.monitor.floor_pass import Ledger, load_ledger
from floor_agents.monitor.performance import (
    AgentMetrics,
    AlertThresholds,
    agent_metrics,
    alerts_for,
    floor_metrics,
)
from floor_agents.monitor.render import write_report
from tradingfloor.persistence.db import connect
from tradingfloor.services.local import floor_database
from tradingfloor.settings import Settings

WINDOWS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}


def window_metrics(ledger: Ledger, start: datetime, end: datetime) -> tuple[list[AgentMetrics], AgentMetrics]:
    """Metrics of the trades closed in [start, end), each agent starting from its equity at ``start``."""
    opening: dict[str, Decimal] = {}
    inside = {}
    for agent, capital in ledger.capital.items():
        trades = ledger.trades.get(agent, [])
        opening[agent] = capital + sum((t.pnl for t in trades if t.closed_at < start), Decimal(0))
        inside[agent] = [t for t in trades if start <= t.closed_at < end]
    agents = [
        agent_metrics(a, opening[a], inside[a], end, ledger.exposure.get(a, Decimal(0)))
        for a in sorted(opening)
    ]
    return agents, floor_metrics(opening, [t for ts in inside.values() for t in ts], end)


async def build(
    database_url: str, window: str, out: Path, fmt: str, now: datetime, simulated: bool = False
) -> Path:
    conn = await connect(database_url)
    try:
        ledger = await load_ledger(conn)
    finally:
        await conn.close()
    # The ledger's clock is the market's: on a simulated floor running faster than real time it is
    # ahead of the wall clock, so the window ends at the newest trade when that is later than now.
    newest = max((t.closed_at for trades in ledger.trades.values() for t in trades), default=now)
    simulated = simulated or newest > now
    now = max(now, newest + timedelta(microseconds=1))  # the window is [start, end)
    start = now - WINDOWS[window]
    agents, floor = window_metrics(ledger, start, now)
    alerts = [a for m in agents for a in alerts_for(m, AlertThresholds(), None)]
    return write_report(window, start, now, agents, floor, alerts, out, fmt, simulated=simulated)


def main(
    window: str, out: Path | None, fmt: str, database_url: str | None, state_dir: Path | None = None
) -> int:
    """Write the report under ``out`` (default ``<state dir>/reports``) and print where it went."""
    if window not in WINDOWS:
        print(f"report window must be one of {sorted(WINDOWS)}, got {window!r}", file=sys.stderr)
        return 2
    if fmt not in ("markdown", "html"):
        print(f"report format must be markdown or html, got {fmt!r}", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    state = state_dir or settings.state_dir
    with floor_database(state, database_url or settings.database_url) as url:
        # a floor that ran the simulator kept its market clock: its ledger is on that clock
        simulated = (Path(state) / "market-clock.json").exists()
        page = asyncio.run(
            build(url, window, Path(out or state / "reports"), fmt, datetime.now(UTC), simulated)
        )
    print(f"report written to {page}")
    return 0
