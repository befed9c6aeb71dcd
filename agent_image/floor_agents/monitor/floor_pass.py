"""One monitor pass: read the ledger, compute every agent's and the floor's metrics, write status,
store the measurement, raise alerts. Also the data loading that ``floor report`` shares."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from floor_agents.monitor.performance import (
    AgentMetrics,
    Alert,
    AlertThresholds,
    TradePnl,
    agent_metrics,
    alerts_for,
    floor_metrics,
    floor_status,
)
from tradingfloor.bus.heartbeats import read_heartbeats
from tradingfloor.models.trader_agent import Risk
from tradingfloor.observability.logging import get_logger
from tradingfloor.observability.metrics import PERFORMANCE_ALERTS
from tradingfloor.persistence.repositories import (
    PerformanceRow,
    insert_performance,
    list_agents,
    list_positions,
    list_trades,
    record_event,
)
from tradingfloor.status.sink import StatusSink
from tradingfloor.structs import parse

log = get_logger("floor_agents.monitor")
CHANNEL = "trading_floor"


@dataclass(frozen=True)
class Ledger:
    """What the monitor reads: each trader's capital, closed trades and open exposure."""

    capital: dict[str, Decimal]
    trades: dict[str, list[TradePnl]]
    exposure: dict[str, Decimal]
    registered: frozenset[str] = field(default_factory=frozenset)  # agents with a row in the agents table


def _decimal(text: Any) -> Decimal | None:
    try:
        return Decimal(str(text)) if text is not None else None
    except ArithmeticError:
        return None


async def load_ledger(ex: Any, match_labels: dict[str, str] | None = None) -> Ledger:
    """Traders from the agents table (capital from spec.risk) plus any agent that has trades. An
    agent without a row (the Kubernetes floor keeps its specs in the API, not the table) takes the
    capital its trader recorded with its trades (from its own spec.risk.capital); only an agent
    with neither gets the Risk model's default. ``match_labels`` narrows to the registered agents
    carrying those labels."""
    rows = await list_agents(ex, kind="TraderAgent")
    if match_labels:
        rows = [r for r in rows if all(r.labels.get(k) == v for k, v in match_labels.items())]
    capital: dict[str, Decimal] = {r.name: parse(Risk, r.spec.get("risk", {})).capital for r in rows}
    trades: dict[str, list[TradePnl]] = {}
    recorded: dict[str, Decimal] = {}
    for t in await list_trades(ex):
        if match_labels and t.agent not in capital:
            continue
        details = t.details or {}
        trades.setdefault(t.agent, []).append(
            TradePnl(t.agent, t.net_pnl, t.fees, t.closed_at, _decimal(details.get("break_even")))
        )
        own = _decimal(details.get("capital"))
        if own is not None and own > 0:
            recorded[t.agent] = own
    default = Risk().capital
    for agent in trades:
        capital.setdefault(agent, recorded.get(agent, default))
    exposure = {a: Decimal(0) for a in capital}
    for p in await list_positions(ex, open_only=True):
        if p.agent in exposure:
            exposure[p.agent] += p.cost
    return Ledger(capital, trades, exposure, frozenset(r.name for r in rows))


@dataclass(frozen=True)
class PassResult:
    agents: list[AgentMetrics]
    floor: AgentMetrics
    alerts: list[Alert]


async def run_pass(
    ex: Any,
    sink: StatusSink,
    monitor: str,
    thresholds: AlertThresholds,
    now: datetime,
    redis: Any = None,
    match_labels: dict[str, str] | None = None,
) -> PassResult:
    ledger = await load_ledger(ex, match_labels)
    metrics = [
        agent_metrics(a, ledger.capital[a], ledger.trades.get(a, []), now, ledger.exposure.get(a, Decimal(0)))
        for a in sorted(ledger.capital)
    ]
    floor = floor_metrics(ledger.capital, [t for ts in ledger.trades.values() for t in ts], now)
    alerts: list[Alert] = []
    beats = await read_heartbeats(redis, [m.agent for m in metrics]) if redis is not None else {}
    for m in metrics:
        beat = beats.get(m.agent)
        alerts += alerts_for(m, thresholds, max(0.0, beat.age()) if beat is not None else None)
        await _store(ex, m, now)  # status.performance is the trader's own (one writer)
    await _store(ex, floor, now)
    await sink.patch_status(
        "Monitor", monitor, {"floor": floor_status(floor, len(metrics), len(alerts), now)}
    )
    for a in alerts:
        await _raise(ex, redis, monitor, a, now)
    return PassResult(metrics, floor, alerts)


async def _store(ex: Any, m: AgentMetrics, now: datetime) -> None:
    finite = lambda x: Decimal(repr(x)) if x == x and abs(x) != float("inf") else None  # noqa: E731
    await insert_performance(
        ex,
        PerformanceRow(
            agent=m.agent,
            ts=now,
            period="all",
            trades=m.trades,
            wins=m.wins,
            losses=m.losses,
            win_rate=finite(m.win_rate),
            pnl=m.pnl,
            fees=m.fees,
            equity=m.equity,
            sharpe=finite(m.sharpe),
            sortino=finite(m.sortino),
            max_drawdown=finite(m.max_drawdown),
            profit_factor=finite(m.profit_factor),
            extra={
                "psr": m.psr if m.psr == m.psr else None,
                "drawdown": m.drawdown,
                "dailyPnl": str(m.daily_pnl),
                "consecutiveLosses": m.consecutive_losses,
            },
        ),
    )


async def _raise(ex: Any, redis: Any, monitor: str, a: Alert, now: datetime) -> None:
    """Metric, system event, pub/sub message and log line for one alert."""
    PERFORMANCE_ALERTS.labels(agent=a.agent, alert=a.alert).inc()
    await record_event(
        ex,
        "performance_alert",
        a.message,
        agent=a.agent,
        reason=a.alert,
        payload={"monitor": monitor, "alert": a.alert},
        ts=now,
    )
    log.warning("monitor.alert", agent=a.agent, alert=a.alert, message=a.message)
    if redis is not None:
        await redis.publish(
            CHANNEL,
            json.dumps(
                {
                    "type": "performance_alert",
                    "sender": monitor,
                    "ts": now.timestamp(),
                    "payload": {"agent": a.agent, "alert": a.alert, "message": a.message},
                }
            ),
        )
