"""Position sizing: fractional Kelly on a binary contract, against the price after fees.

Buying one share at all-in cost c (price + taker fee per share) that pays 1 with probability p has
Kelly fraction f* = (p − c)/(1 − c) (trading-anchors.md §5.9). We stake
min(kelly_multiplier × f* × capital, max_stake) and convert it to whole size steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from tradingfloor.market.events import MarketInfo
from tradingfloor.trading.fees import break_even_probability

ZERO = Decimal(0)
MICRO_USD = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class SizeDecision:
    shares: Decimal
    stake: Decimal  # shares × all-in limit price: the most this bet can cost
    all_in_price: Decimal
    kelly: Decimal  # full-Kelly fraction before the multiplier and caps
    reason: str = ""


def kelly_fraction(p_win: Decimal, all_in_price: Decimal) -> Decimal:
    if not 0 < all_in_price < 1:
        return ZERO
    return max(ZERO, (p_win - all_in_price) / (1 - all_in_price))


def size_buy(
    p_win: Decimal,
    price: Decimal,
    info: MarketInfo,
    capital: Decimal,
    kelly_multiplier: Decimal,
    max_stake: Decimal,
    size_step: Decimal,
    worst_price: Decimal | None = None,
) -> SizeDecision:
    """Shares to buy at ``price`` (0 with a reason when the bet is not worth it or too small).

    Kelly is taken at ``price`` (the ask); the ``max_stake`` cap at ``worst_price`` (the order's
    limit), so a fill that walks the book up to the limit still never costs more than the cap."""
    c = break_even_probability(price, info.fee_rate, info.fee_exponent)
    f = kelly_fraction(p_win, c)
    if f == 0:
        return SizeDecision(ZERO, ZERO, c, f, f"no edge: p={p_win} ≤ all-in price {c:.4f}")
    worst = break_even_probability(worst_price, info.fee_rate, info.fee_exponent) if worst_price else c
    stake = kelly_multiplier * f * capital
    shares = min(stake / c, max_stake / worst) if stake > 0 else ZERO
    shares = shares.quantize(size_step, rounding=ROUND_DOWN) if shares > 0 else ZERO
    if shares < info.min_size:
        return SizeDecision(ZERO, ZERO, c, f, f"size {shares} below market minimum {info.min_size}")
    # the cost bound in whole micro-dollars, rounded up: what capital reservations book exactly
    return SizeDecision(shares, (shares * worst).quantize(MICRO_USD, rounding=ROUND_UP), c, f)
