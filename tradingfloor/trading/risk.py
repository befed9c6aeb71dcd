"""Risk limits checked before every order, and the agent's pause triggers.

Limits come from the TraderAgent's ``spec.risk`` (basis points of capital). Pause triggers:
``maxConsecutiveLosses`` losing trades in a row (the loss streak of
:mod:`tradingfloor.analytics.performance`: a zero-P&L trade neither extends nor ends it, a resume
restarts it), a drawdown beyond ``maxDrawdownBps`` from the peak,
or the daily loss limit. Drawdown and daily loss use realized equity (cash + cost of open
positions), which changes only when trades close, so no marks are needed on the hot path.
The floor-wide deployed-capital cap lives in shared state; the engine reaches it through the
:class:`FloorCapital` port (Redis in production, :class:`InMemoryFloorCapital` here); its cap is
:data:`FLOOR_DEPLOYED_SHARE` of the floor's total capital.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from tradingfloor.analytics.performance import next_loss_streak
from tradingfloor.trading.ledger import ClosedTrade

_BPS = Decimal(10_000)
FLOOR_DEPLOYED_SHARE = Decimal("0.40")  # the whole floor deploys at most this share of its total capital
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class RiskLimits:
    capital: Decimal = Decimal(1000)
    risk_per_trade: Decimal = Decimal("0.02")
    max_exposure: Decimal = Decimal("0.10")
    max_concurrent_trades: int = 3
    daily_loss_limit: Decimal = Decimal("0.10")
    max_drawdown: Decimal = Decimal("0.20")
    max_consecutive_losses: int = 5
    kelly_fraction: Decimal = Decimal("0.25")
    max_data_age_ms: int = 30_000  # no order when the round's book or spot is older than this
    close_guard_ms: int = 30_000  # no order this close to the round's end

    @classmethod
    def from_spec(cls, risk: Any, **overrides: Any) -> RiskLimits:
        """From a TraderAgent ``spec.risk`` model (``tradingfloor.models.trader_agent.Risk``)."""
        return cls(
            capital=Decimal(risk.capital),
            risk_per_trade=Decimal(risk.riskPerTradeBps) / _BPS,
            max_exposure=Decimal(risk.maxPositionBps) / _BPS,
            max_concurrent_trades=risk.maxConcurrentTrades,
            daily_loss_limit=Decimal(risk.dailyLossLimitBps) / _BPS,
            max_drawdown=Decimal(risk.maxDrawdownBps) / _BPS,
            max_consecutive_losses=risk.maxConsecutiveLosses,
            kelly_fraction=Decimal(risk.kellyFraction),
            **overrides,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            k: (str(v) if isinstance(v, Decimal) else v)
            for k, v in ((f, getattr(self, f)) for f in self.__dataclass_fields__)
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RiskLimits:
        kwargs: dict[str, Any] = {k: (Decimal(v) if isinstance(v, str) else v) for k, v in d.items()}
        return cls(**kwargs)


class FloorCapital(Protocol):
    def reserve(self, amount: Decimal) -> bool: ...

    def release(self, amount: Decimal) -> None: ...


class InMemoryFloorCapital:
    """Floor-wide deployed-capital cap for one process (tests, backtests)."""

    def __init__(self, limit: Decimal) -> None:
        self.limit = limit
        self.deployed = Decimal(0)

    def reserve(self, amount: Decimal) -> bool:
        if self.deployed + amount > self.limit:
            return False
        self.deployed += amount
        return True

    def release(self, amount: Decimal) -> None:
        self.deployed = max(Decimal(0), self.deployed - amount)


class RiskManager:
    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits
        self.consecutive_losses = 0
        self.peak_equity = limits.capital
        self.day = -1
        self.day_start_equity = limits.capital
        self.pause_reason: str | None = None

    def max_stake(self, exposure: Decimal, capital: Decimal | None = None) -> Decimal:
        """The largest new bet allowed: per-trade risk, capped by the agent's exposure headroom.
        ``capital`` is the capital the agent sizes against (default: all of it; the engine passes
        less while the Floor Boss's size multiplier is below 1)."""
        cap = self.limits.capital if capital is None else capital
        return max(
            Decimal(0), min(self.limits.risk_per_trade * cap, self.limits.max_exposure * cap - exposure)
        )

    def check(self, now_ms: int, end_ms: int, data_ms: int, open_trades: int, equity: Decimal) -> str | None:
        """Why no order may be placed now, or None."""
        lim = self.limits
        self._roll_day(now_ms, equity)
        if self.pause_reason:
            return f"paused: {self.pause_reason}"
        if now_ms - data_ms > lim.max_data_age_ms:
            return f"market data stale ({now_ms - data_ms} ms old)"
        if end_ms - now_ms < lim.close_guard_ms:
            return f"round closes in {end_ms - now_ms} ms"
        if open_trades >= lim.max_concurrent_trades:
            return f"{open_trades} trades open (max {lim.max_concurrent_trades})"
        if self.day_start_equity - equity >= lim.daily_loss_limit * lim.capital:
            return "daily loss limit reached"
        return None

    def record(self, trade: ClosedTrade, equity: Decimal) -> str | None:
        """Update streak and drawdown after a closed trade; returns a pause reason when one trips."""
        self._roll_day(trade.closed_ms, equity)
        self.consecutive_losses = next_loss_streak(self.consecutive_losses, trade.net_pnl)
        self.peak_equity = max(self.peak_equity, equity)
        lim = self.limits
        if self.pause_reason is None:
            if self.consecutive_losses >= lim.max_consecutive_losses:
                self.pause_reason = f"{self.consecutive_losses} consecutive losses"
            elif self.peak_equity > 0 and (self.peak_equity - equity) / self.peak_equity > lim.max_drawdown:
                self.pause_reason = f"drawdown beyond {lim.max_drawdown:%}"
            elif self.day_start_equity - equity >= lim.daily_loss_limit * lim.capital:
                self.pause_reason = "daily loss limit reached"
        return self.pause_reason

    def resume(self) -> None:
        """Clear a pause (the Floor Boss decides); the streak restarts."""
        self.pause_reason = None
        self.consecutive_losses = 0

    def _roll_day(self, now_ms: int, equity: Decimal) -> None:
        day = now_ms // DAY_MS
        if day != self.day:
            self.day = day
            self.day_start_equity = equity

    def to_json(self) -> dict[str, Any]:
        return {
            "consecutive_losses": self.consecutive_losses,
            "peak_equity": str(self.peak_equity),
            "day": self.day,
            "day_start_equity": str(self.day_start_equity),
            "pause_reason": self.pause_reason,
        }

    def load_json(self, d: dict[str, Any]) -> None:
        self.consecutive_losses = int(d["consecutive_losses"])
        self.peak_equity = Decimal(d["peak_equity"])
        self.day = int(d["day"])
        self.day_start_equity = Decimal(d["day_start_equity"])
        self.pause_reason = d["pause_reason"]
