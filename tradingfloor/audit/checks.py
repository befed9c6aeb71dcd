"""Pure re-checks of one executed trade (a fill) against what was true when it happened.

Rules (the names appear in violations, metrics and the audit log):

* ``risk.per_trade``     — a BUY's cost (notional + fee) above capital × riskPerTradeBps
* ``risk.max_position``  — open exposure after a BUY above capital × maxPositionBps
* ``risk.max_concurrent``— a BUY opening a new position while maxConcurrentTrades are open
* ``risk.daily_loss``    — a BUY after the day's loss already reached capital × dailyLossLimitBps
* ``book.price``         — a taker fill's price off the book's volume-weighted price for its size
                           by more than maxPriceDeviationBps *and* more than max_price_deviation_ticks
                           price ticks (at $0.003 one tick is 3 333 bps: a one-tick walk is not a fault)
* ``book.size``          — a taker fill larger than the depth the book showed on its side
* ``fee.schedule``       — fee differs from the market's schedule by more than feeTolerance
* ``pnl.recompute``      — a closed trade's reported gross P&L differs from the one recomputed from
                           its fills by more than pnlTolerance, its costs are below its fills' fees
                           (or above them with nothing to redeem), or net ≠ gross − costs

Risk state before the trade (exposure, open positions, day's P&L) is not taken from the trader:
``account_state`` rebuilds it from the agent's own earlier fills and closed trades.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, get_args

from tradingfloor.trading.fees import taker_fee

ZERO = Decimal(0)
BPS = Decimal(10000)

Rule = Literal[
    "risk.per_trade",
    "risk.max_position",
    "risk.max_concurrent",
    "risk.daily_loss",
    "book.price",
    "book.size",
    "fee.schedule",
    "pnl.recompute",
]
RULES: tuple[str, ...] = get_args(Rule)


@dataclass(frozen=True, slots=True)
class Execution:
    """One fill as the trader recorded it."""

    trade_id: str
    agent: str
    market_id: str
    token_id: str
    side: Literal["BUY", "SELL"]
    price: Decimal
    size: Decimal
    fee: Decimal
    liquidity: Literal["taker", "maker"]
    ts_ms: int


@dataclass(frozen=True, slots=True)
class BookLevels:
    """The book the order met: levels (price, size), best first."""

    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    rate: Decimal
    exponent: int


@dataclass(frozen=True, slots=True)
class RiskLimits:
    capital: Decimal
    risk_per_trade_bps: int
    max_position_bps: int
    max_concurrent: int
    daily_loss_limit_bps: int

    @classmethod
    def from_spec(cls, risk) -> RiskLimits:
        """From a TraderAgent ``spec.risk`` (``tradingfloor.models.trader_agent.Risk``)."""
        return cls(
            Decimal(risk.capital),
            risk.riskPerTradeBps,
            risk.maxPositionBps,
            risk.maxConcurrentTrades,
            risk.dailyLossLimitBps,
        )


def venue_tick(price: Decimal) -> Decimal:
    """Polymarket's price tick: a tenth of a cent near the extremes (below 0.04, above 0.96), else a cent."""
    return Decimal("0.001") if price < Decimal("0.04") or price > Decimal("0.96") else Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Thresholds:
    max_price_deviation_bps: int = 100
    max_price_deviation_ticks: int = 1  # a walk this many ticks deep is never a violation
    pnl_tolerance: Decimal = Decimal("0.01")
    fee_tolerance: Decimal = Decimal("0.00001")

    @classmethod
    def from_spec(cls, thresholds) -> Thresholds:
        """From an Auditor ``spec.thresholds``."""
        return cls(
            max_price_deviation_bps=thresholds.maxPriceDeviationBps,
            pnl_tolerance=Decimal(thresholds.pnlTolerance),
            fee_tolerance=Decimal(thresholds.feeTolerance),
        )


@dataclass(frozen=True, slots=True)
class AccountState:
    """An agent's risk state just before a trade."""

    exposure: Decimal = ZERO  # cost basis of open positions
    open_tokens: frozenset[str] = frozenset()
    daily_pnl: Decimal = ZERO  # realized P&L of trades closed earlier the same UTC day


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """A position fully closed (sold or settled), with the P&L the trader reported for it."""

    trade_id: str
    agent: str
    token_id: str
    gross_pnl: Decimal
    fees: Decimal  # taker fees plus the redemption cost
    net_pnl: Decimal
    closed_ms: int
    payout_per_share: Decimal | None = None  # set when closed by settlement (1 won, 0 lost)


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    trade_id: str
    agent: str
    message: str
    details: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "trade_id": self.trade_id,
            "agent": self.agent,
            "message": self.message,
            "details": dict(self.details),
        }


def _violation(
    rule: str, ex: Execution | ClosedTrade, message: str, **details: Decimal | int | str
) -> Violation:
    return Violation(rule, ex.trade_id, ex.agent, message, {k: str(v) for k, v in details.items()})


def check_risk(ex: Execution, limits: RiskLimits, before: AccountState) -> list[Violation]:
    """Limits bind only on BUYs: selling reduces risk."""
    if ex.side != "BUY":
        return []
    out = []
    cost = ex.price * ex.size + ex.fee
    per_trade = limits.capital * limits.risk_per_trade_bps / BPS
    if cost > per_trade:
        out.append(
            _violation(
                "risk.per_trade",
                ex,
                f"trade cost {cost} exceeds per-trade risk {per_trade}",
                cost=cost,
                limit=per_trade,
            )
        )
    max_position = limits.capital * limits.max_position_bps / BPS
    exposure_after = before.exposure + ex.price * ex.size
    if exposure_after > max_position:
        out.append(
            _violation(
                "risk.max_position",
                ex,
                f"exposure {exposure_after} exceeds position cap {max_position}",
                exposure=exposure_after,
                limit=max_position,
            )
        )
    if ex.token_id not in before.open_tokens and len(before.open_tokens) >= limits.max_concurrent:
        out.append(
            _violation(
                "risk.max_concurrent",
                ex,
                f"opened a new position with {len(before.open_tokens)} already open (max {limits.max_concurrent})",
                open=len(before.open_tokens),
                limit=limits.max_concurrent,
            )
        )
    daily_limit = limits.capital * limits.daily_loss_limit_bps / BPS
    if before.daily_pnl <= -daily_limit:
        out.append(
            _violation(
                "risk.daily_loss",
                ex,
                f"bought after the day's loss {before.daily_pnl} reached the limit {daily_limit}",
                daily_pnl=before.daily_pnl,
                limit=daily_limit,
            )
        )
    return out


def book_vwap(levels: Sequence[tuple[Decimal, Decimal]], size: Decimal) -> tuple[Decimal | None, Decimal]:
    """Volume-weighted price of taking ``size`` from ``levels`` (best first), and the depth shown.

    The price is None when the book is empty; when it is too thin the whole depth is priced.
    """
    depth = sum((s for _, s in levels), ZERO)
    remaining, notional, taken = size, ZERO, ZERO
    for price, level_size in levels:
        if remaining <= 0:
            break
        take = min(remaining, level_size)
        notional += take * price
        taken += take
        remaining -= take
    return (notional / taken if taken > 0 else None), depth


def check_book(ex: Execution, book: BookLevels, thresholds: Thresholds) -> list[Violation]:
    """A taker fill must match what walking the opposite side of the book gives. A maker fill sat
    in the book and was taken at its own limit price, so there is nothing to walk."""
    if ex.liquidity != "taker":
        return []
    levels = book.asks if ex.side == "BUY" else book.bids
    expected, depth = book_vwap(levels, ex.size)
    out = []
    if ex.size > depth:
        out.append(
            _violation(
                "book.size",
                ex,
                f"filled {ex.size} shares but the book showed {depth}",
                size=ex.size,
                depth=depth,
            )
        )
    if expected is None:
        out.append(
            _violation(
                "book.price",
                ex,
                f"filled at {ex.price} against an empty {('ask' if ex.side == 'BUY' else 'bid')} side",
                price=ex.price,
            )
        )
        return out
    deviation_bps = abs(ex.price - expected) / expected * BPS
    ticks = abs(ex.price - expected) / venue_tick(expected)
    if deviation_bps > thresholds.max_price_deviation_bps and ticks > thresholds.max_price_deviation_ticks:
        out.append(
            _violation(
                "book.price",
                ex,
                f"fill price {ex.price} is {deviation_bps:.1f} bps ({ticks:.1f} ticks) from the book's "
                f"{expected:.6f} (max {thresholds.max_price_deviation_bps} bps or "
                f"{thresholds.max_price_deviation_ticks} tick)",
                price=ex.price,
                expected=expected.quantize(Decimal("0.000001")),
                deviation_bps=deviation_bps.quantize(Decimal("0.1")),
                deviation_ticks=ticks.quantize(Decimal("0.1")),
            )
        )
    return out


def expected_fee(ex: Execution, schedule: FeeSchedule) -> Decimal:
    """Makers pay nothing; takers pay the market's schedule, rounded as the fee module does."""
    if ex.liquidity == "maker":
        return ZERO
    return taker_fee(ex.size, ex.price, schedule.rate, schedule.exponent)


def check_fee(ex: Execution, schedule: FeeSchedule, thresholds: Thresholds) -> list[Violation]:
    expected = expected_fee(ex, schedule)
    if abs(ex.fee - expected) > thresholds.fee_tolerance:
        return [
            _violation(
                "fee.schedule",
                ex,
                f"fee {ex.fee} but the market's schedule gives {expected}",
                fee=ex.fee,
                expected=expected,
                rate=schedule.rate,
                exponent=schedule.exponent,
            )
        ]
    return []


def recompute_gross(fills: Iterable[Execution], payout_per_share: Decimal | None = None) -> Decimal:
    """Gross P&L of one position from its fills: sales and settlement payout minus purchases."""
    cash, shares = ZERO, ZERO
    for f in fills:
        signed = f.size if f.side == "BUY" else -f.size
        cash -= signed * f.price
        shares += signed
    if payout_per_share is not None and shares > 0:
        cash += shares * payout_per_share
    return cash


def check_pnl(trade: ClosedTrade, fills: Sequence[Execution], thresholds: Thresholds) -> list[Violation]:
    """Gross P&L from the fills; fees at least the fills' fees (the rest is the redemption cost,
    owed only on a non-zero payout); net = gross − fees."""
    tol = thresholds.pnl_tolerance
    gross = recompute_gross(fills, trade.payout_per_share)
    fill_fees = sum((f.fee for f in fills), ZERO)
    out = []
    if abs(trade.gross_pnl - gross) > tol:
        out.append(
            _violation(
                "pnl.recompute",
                trade,
                f"reported gross P&L {trade.gross_pnl} but the fills give {gross}",
                reported=trade.gross_pnl,
                expected=gross,
                fills=len(fills),
            )
        )
    redemption = trade.fees - fill_fees
    if redemption < -thresholds.fee_tolerance or (
        trade.payout_per_share in (None, ZERO) and redemption > thresholds.fee_tolerance
    ):
        out.append(
            _violation(
                "pnl.recompute",
                trade,
                f"reported costs {trade.fees} but the fills' fees are {fill_fees}",
                reported=trade.fees,
                expected=fill_fees,
            )
        )
    if abs(trade.net_pnl - (trade.gross_pnl - trade.fees)) > tol:
        out.append(
            _violation(
                "pnl.recompute",
                trade,
                f"net P&L {trade.net_pnl} is not gross {trade.gross_pnl} minus costs {trade.fees}",
                reported=trade.net_pnl,
                expected=trade.gross_pnl - trade.fees,
            )
        )
    return out


def account_state(
    prior_fills: Iterable[Execution], prior_closed: Iterable[ClosedTrade], day_start_ms: int
) -> AccountState:
    """Risk state rebuilt from the agent's earlier fills and closed trades: open positions are
    tokens with shares left that have not been settled; the day's P&L sums trades closed since
    ``day_start_ms``."""
    shares: dict[str, Decimal] = {}
    basis: dict[str, Decimal] = {}
    for f in prior_fills:
        held = shares.get(f.token_id, ZERO)
        if f.side == "BUY":
            shares[f.token_id] = held + f.size
            basis[f.token_id] = basis.get(f.token_id, ZERO) + f.size * f.price
        elif held > 0:
            basis[f.token_id] = basis.get(f.token_id, ZERO) * (held - f.size) / held
            shares[f.token_id] = held - f.size
    daily = ZERO
    settled = set()
    for t in prior_closed:
        settled.add(t.token_id)
        if t.closed_ms >= day_start_ms:
            daily += t.net_pnl
    open_tokens = frozenset(tok for tok, s in shares.items() if s > 0 and tok not in settled)
    exposure = sum((basis[tok] for tok in open_tokens), ZERO)
    return AccountState(exposure, open_tokens, daily)


def audit_execution(
    ex: Execution,
    *,
    limits: RiskLimits | None,
    before: AccountState,
    book: BookLevels | None,
    schedule: FeeSchedule | None,
    thresholds: Thresholds,
) -> list[Violation]:
    """Every check whose inputs are known; a missing input is itself reported by the caller."""
    out: list[Violation] = []
    if limits is not None:
        out += check_risk(ex, limits, before)
    if book is not None:
        out += check_book(ex, book, thresholds)
    if schedule is not None:
        out += check_fee(ex, schedule, thresholds)
    return out
