"""Replay any stream of market events through one or more TradingEngines in a single pass.

The engines are the very objects the live trader agent runs (strategy → sizing → risk → paper
broker). A pause request is honoured until the next UTC day, when the backtest resumes the agent
(standing in for the Floor Boss's review) — set ``resume_next_day=False`` to stay paused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tradingfloor.analytics.stats import PerformanceSummary, summarize
from tradingfloor.market.events import MarketEvent, parse_asset
from tradingfloor.trading.ledger import ClosedTrade
from tradingfloor.trading.paper_broker import BrokerConfig
from tradingfloor.trading.pipeline import EngineConfig, TradingEngine
from tradingfloor.trading.risk import RiskLimits

DAY_MS = 86_400_000


@dataclass
class AgentRun:
    """One engine's backtest: its trades, daily equity and summary."""

    name: str
    config: EngineConfig
    engine: TradingEngine
    daily_equity: list[tuple[int, float]] = field(default_factory=list)  # (day start ms, equity)
    trade_equity: list[tuple[int, float]] = field(default_factory=list)  # equity after each closed trade
    orders: int = 0
    pauses: list[tuple[int, str]] = field(default_factory=list)
    summary: PerformanceSummary | None = None

    @property
    def trades(self) -> list[ClosedTrade]:
        return self.engine.broker.ledger.closed

    def trade_returns(self) -> list[float]:
        capital = float(self.engine.limits.capital)
        return [float(t.net_pnl) / capital for t in self.trades]

    def to_json(self) -> dict[str, Any]:
        led = self.engine.broker.ledger
        return {
            "name": self.name,
            "strategy": self.config.strategy,
            "asset": self.config.asset,
            "params": self.config.params,
            "summary": self.summary.to_dict() if self.summary else None,
            "orders": self.orders,
            "fees": str(led.fees),
            "redemption_costs": str(led.redemption_costs),
            "gross_pnl": str(led.realized),
            "net_pnl": str(led.realized - led.costs),
            "final_equity": str(self.engine.equity()),
            "pauses": self.pauses,
            "daily_equity": self.daily_equity,
        }


@dataclass
class BacktestResult:
    runs: list[AgentRun]
    events: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def run_backtest(
    events: Iterable[MarketEvent],
    configs: list[EngineConfig],
    limits: RiskLimits,
    broker_config: BrokerConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    resume_next_day: bool = True,
) -> BacktestResult:
    """Drive every config's engine over ``events`` (one pass); ``progress(events, ts_ms)`` is called
    every 20 000 events."""
    if not configs:
        raise ValueError("run_backtest needs at least one engine config")
    runs = [AgentRun(_name(c), c, TradingEngine(c, limits, broker_config)) for c in configs]
    started = time.perf_counter()
    count = 0
    day = None
    ts = 0
    for ev in events:
        ts = ev.ts_ms
        if ts // DAY_MS != day:
            day = ts // DAY_MS
            _new_day(runs, day * DAY_MS, resume_next_day)
        for run in runs:
            out = run.engine.on_event(ev)
            if out is not None:
                _record(run, out, ts)
        count += 1
        if progress is not None and count % 20_000 == 0:
            progress(count, ts)
    for run in runs:
        _record(run, run.engine.finish(), ts)
        if not run.daily_equity or run.daily_equity[-1][0] != ts:
            run.daily_equity.append((ts, float(run.engine.equity())))
        run.summary = summarize(
            [float(t.net_pnl) for t in run.trades], [e for _, e in run.daily_equity], periods_per_year=365
        )
    if progress is not None:
        progress(count, ts)
    return BacktestResult(runs, count, time.perf_counter() - started)


def _name(c: EngineConfig) -> str:
    return c.agent


def _new_day(runs: list[AgentRun], day_ms: int, resume: bool) -> None:
    for run in runs:
        run.daily_equity.append((day_ms, float(run.engine.equity())))
        if resume and run.engine.pause_reason:
            run.engine.risk.resume()


def _record(run: AgentRun, out, ts: int) -> None:
    run.orders += len(out.orders)
    if out.closed:
        equity = float(run.engine.realized_equity())
        run.trade_equity.extend((t.closed_ms, equity) for t in out.closed)
    if out.pause_requested and (
        not run.pauses
        or run.pauses[-1][1] != out.pause_requested
        or run.pauses[-1][0] // DAY_MS != ts // DAY_MS
    ):
        run.pauses.append((ts, out.pause_requested))


def simulated_events(
    days: float,
    seed: int = 1,
    pattern: str = "none",
    assets: tuple[str, ...] = ("BTC", "ETH"),
    start_ms: int | None = None,
) -> Iterator[MarketEvent]:
    """Events of the deterministic market simulator for ``days`` days."""
    from tradingfloor.sim.model import SimConfig, simulate

    kwargs: dict[str, Any] = {"seed": seed, "assets": tuple(assets), "pattern": pattern}
    if start_ms is not None:
        kwargs["start_ms"] = start_ms
    return simulate(SimConfig(**kwargs), int(days * DAY_MS))


def agent_configs(
    strategies: list[str],
    assets: list[str],
    params: dict[str, dict[str, Any]] | None = None,
    prefix: str = "",
) -> list[EngineConfig]:
    """One engine per (strategy, asset), named ``<prefix><strategy>/<asset>``."""
    params = params or {}
    return [
        EngineConfig(f"{prefix}{s}/{a}", s, parse_asset(a), dict(params.get(s, {})))
        for s in strategies
        for a in assets
    ]


def capital_limits(capital: Decimal = Decimal(1000), **overrides: Any) -> RiskLimits:
    return RiskLimits(capital=capital, **overrides)
