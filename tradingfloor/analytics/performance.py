"""Every performance figure of a trader, defined once: the trader's status, the Monitor's rows,
alerts and reports, the risk manager's pause rule and the Floor Boss's evidence bar all use this.

Definitions:

* **win / loss**: a closed trade with net P&L (after fees and redemption costs) > 0 / < 0; a trade
  at exactly 0 is neither (it counts in ``trades`` only).
* **loss streak**: losses in a row among the trades closed since the last resume; a win ends it, a
  zero-P&L trade neither extends nor ends it, a resume (the Floor Boss lifting a pause) restarts it.
* **equity curve**: capital, then capital + cumulative net P&L after each closed trade; **drawdown**
  is the current fall from the curve's peak and **max drawdown** the largest, both as fractions of
  the peak (the curve starts at the agent's own capital from its spec).
* **Sharpe track** (the evidence): per-trade returns r_i = net P&L_i / equity before trade i; the
  non-annualized Sharpe of those returns with their count, skewness and raw kurtosis — what the
  Probabilistic and Deflated Sharpe ratios need. **psr** is PSR(0) of that track.
* **sharpe / sortino** (the display figures and the "reduce size" rule): daily returns of the equity
  at each UTC day's end, annualized with √365 (the floor trades every day).
* **break-even win rate**: each trade's own all-in entry cost per share (entry price + the market's
  taker fee at that price, :func:`tradingfloor.trading.fees.break_even_probability`), averaged over
  the trades. See :mod:`tradingfloor.decisions.evidence` for why comparing the win rate's bound with
  that average is a conservative test of "no edge after fees".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tradingfloor.analytics import stats

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class TradeResult:
    """One closed trade as the figures see it."""

    net_pnl: Decimal  # after fees and redemption costs
    closed_at: datetime
    fees: Decimal = ZERO
    break_even: Decimal | None = None  # all-in entry cost per share (price + fee); None if unknown


@dataclass(frozen=True, slots=True)
class SharpeTrack:
    """A Sharpe estimate with what is needed to judge it: non-annualized, over ``periods`` returns."""

    sharpe: float
    periods: int
    skew: float = 0.0
    kurtosis: float = 3.0  # raw (Pearson) kurtosis, 3 for a normal distribution

    def to_status(self) -> dict[str, Any]:
        return {
            "sharpe": ratio(self.sharpe),
            "periods": self.periods,
            "skew": ratio(self.skew),
            "kurtosis": ratio(self.kurtosis),
        }


# --- the loss streak --------------------------------------------------------------------------
def next_loss_streak(streak: int, net_pnl: Decimal | float) -> int:
    """The streak after one more closed trade (see the module's definition)."""
    if net_pnl < 0:
        return streak + 1
    if net_pnl > 0:
        return 0
    return streak


def loss_streak(pnls: Iterable[Decimal | float]) -> int:
    """Losses in a row at the end of ``pnls`` (the trades closed since the last resume, in order)."""
    streak = 0
    for p in pnls:
        streak = next_loss_streak(streak, p)
    return streak


# --- equity, drawdown, returns -----------------------------------------------------------------
def equity_curve(capital: Decimal, pnls: Iterable[Decimal]) -> list[Decimal]:
    curve = [capital]
    for p in pnls:
        curve.append(curve[-1] + p)
    return curve


def current_drawdown(curve: Sequence[Decimal | float]) -> float:
    peak = max(float(v) for v in curve)
    return max(0.0, (peak - float(curve[-1])) / peak) if peak > 0 else 0.0


def trade_returns(capital: Decimal, pnls: Sequence[Decimal]) -> list[float]:
    """Per-trade returns: each trade's net P&L over the equity before it (non-positive equity skipped)."""
    out, equity = [], capital
    for p in pnls:
        if equity > 0:
            out.append(float(p / equity))
        equity += p
    return out


def sharpe_track(returns: Sequence[float]) -> SharpeTrack:
    return SharpeTrack(
        stats.sharpe_ratio(returns), len(returns), stats.skewness(returns), stats.kurtosis(returns)
    )


def _day_start(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def daily_equity(capital: Decimal, trades: Sequence[TradeResult], now: datetime) -> list[float]:
    """Equity at the start of the first trade's day, then at each UTC day's end up to today."""
    if not trades:
        return [float(capital)]
    day = _day_start(trades[0].closed_at)
    values, equity, i = [float(capital)], capital, 0
    while day <= now:
        day += timedelta(days=1)
        while i < len(trades) and trades[i].closed_at < day:
            equity += trades[i].net_pnl
            i += 1
        values.append(float(equity))
    return values


def mean_break_even(trades: Sequence[TradeResult]) -> float | None:
    known = [float(t.break_even) for t in trades if t.break_even is not None]
    return sum(known) / len(known) if known else None


# --- all figures together ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Figures:
    """One trader's figures, numeric; :meth:`status` renders ``status.performance``."""

    capital: Decimal
    trades: int
    wins: int
    losses: int
    win_rate: float
    win_rate_low: float  # Wilson 95 % two-sided lower bound (display; the evidence bar deflates)
    break_even: float | None
    pnl: Decimal
    daily_pnl: Decimal
    equity: Decimal
    exposure: Decimal
    fees: Decimal
    sharpe: float  # annualized, daily returns
    sortino: float
    track: SharpeTrack  # per-trade, non-annualized: the evidence
    psr: float
    profit_factor: float
    max_drawdown: float
    drawdown: float
    loss_streak: int
    curve: tuple[tuple[datetime, Decimal], ...]  # (time, equity after each trade), start first

    def status(self, now: datetime) -> dict[str, Any]:
        """The ``status.performance`` shape of a TraderAgent (numbers as strings)."""
        return {
            "reportedAt": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "capital": money(self.capital),
            "trades": self.trades,
            "wins": self.wins,
            "losses": self.losses,
            "winRate": ratio(self.win_rate),
            "winRateLow": ratio(self.win_rate_low),
            "breakEvenWinRate": None if self.break_even is None else ratio(self.break_even),
            "pnl": money(self.pnl),
            "dailyPnl": money(self.daily_pnl),
            "equity": money(self.equity),
            "exposure": money(self.exposure),
            "sharpe": ratio(self.sharpe),
            "sortino": ratio(self.sortino),
            "sharpeTrack": self.track.to_status(),
            "psr": ratio(self.psr),
            "maxDrawdown": ratio(self.max_drawdown),
            "drawdown": ratio(self.drawdown),
            "profitFactor": ratio(self.profit_factor),
            "consecutiveLosses": self.loss_streak,
            "fees": money(self.fees),
        }


def ratio(x: float) -> str:
    """Status rendering of a ratio: 4 decimals, ``inf``/``-inf`` when unbounded."""
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.4f}"


def money(x: Decimal) -> str:
    return format(x, "f")


def figures(
    capital: Decimal,
    trades: Sequence[TradeResult],
    now: datetime,
    *,
    equity: Decimal | None = None,
    exposure: Decimal = ZERO,
    day_start_equity: Decimal | None = None,
    streak: int | None = None,
) -> Figures:
    """All figures from the agent's own ``capital`` (its spec) and its closed trades.

    ``equity`` is the account's equity with open positions marked (default: realized equity);
    ``day_start_equity`` the equity at today's UTC start (default: from the trades closed before
    it); ``streak`` the live loss streak when the caller knows resumes (the trader's risk manager),
    otherwise the streak over all trades.
    """
    if capital < 0:
        raise ValueError(f"capital must not be negative, got {capital}")
    ordered = sorted(trades, key=lambda t: t.closed_at)
    pnls = [t.net_pnl for t in ordered]
    realized = equity_curve(capital, pnls)
    values = [float(v) for v in realized]
    wins = sum(1 for p in pnls if p > 0)
    losses = sum(1 for p in pnls if p < 0)
    low, _ = stats.wilson_interval(wins, len(pnls))
    daily = stats.returns_from_equity(daily_equity(capital, ordered, now))
    track = sharpe_track(trade_returns(capital, pnls))
    today = _day_start(now)
    if day_start_equity is None:
        day_start_equity = capital + sum((t.net_pnl for t in ordered if t.closed_at < today), ZERO)
    final = realized[-1] if equity is None else equity
    return Figures(
        capital=capital,
        trades=len(pnls),
        wins=wins,
        losses=losses,
        win_rate=wins / len(pnls) if pnls else 0.0,
        win_rate_low=low,
        break_even=mean_break_even(ordered),
        pnl=final - capital,
        daily_pnl=final - day_start_equity,
        equity=final,
        exposure=exposure,
        fees=sum((t.fees for t in ordered), ZERO),
        sharpe=stats.sharpe_ratio(daily, periods_per_year=365),
        sortino=stats.sortino_ratio(daily, periods_per_year=365),
        track=track,
        psr=psr(track),
        profit_factor=stats.profit_factor([float(p) for p in pnls]),
        max_drawdown=stats.max_drawdown(values),
        drawdown=current_drawdown([*values[:-1], float(final)]),
        loss_streak=loss_streak(pnls) if streak is None else streak,
        curve=tuple(
            zip(
                [ordered[0].closed_at if ordered else now, *(t.closed_at for t in ordered)],
                realized,
                strict=True,
            )
        ),
    )


def psr(track: SharpeTrack, benchmark: float = 0.0) -> float:
    """PSR of a track; 0 when it is too short or its moments make the variance term non-positive."""
    if track.periods < 2:
        return 0.0
    try:
        return stats.probabilistic_sharpe_ratio(
            track.sharpe, track.periods, track.skew, track.kurtosis, benchmark
        )
    except ValueError:
        return 0.0
