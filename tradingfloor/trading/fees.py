"""Polymarket taker fees, read from each market's own schedule (never hard-coded).

fee (USD) = shares × rate × (p·(1−p))^exponent, floored to 5 decimals as the venue does (the
smallest fee charged is 0.00001; anything smaller is no fee). Makers pay nothing.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from tradingfloor.market.events import MarketInfo

FEE_QUANTUM = Decimal("0.00001")
_ONE = Decimal(1)


def fee_per_share(price: Decimal, rate: Decimal, exponent: int) -> Decimal:
    """Unrounded taker fee for one share at ``price``."""
    if not 0 < price < 1:
        raise ValueError(f"price must be strictly between 0 and 1, got {price}")
    if rate < 0 or exponent < 0:
        raise ValueError(f"fee rate and exponent must be non-negative, got rate={rate}, exponent={exponent}")
    return rate * (price * (_ONE - price)) ** exponent


def taker_fee(shares: Decimal, price: Decimal, rate: Decimal, exponent: int) -> Decimal:
    """Fee charged to a taker for ``shares`` filled at ``price``."""
    if shares < 0:
        raise ValueError(f"shares must be non-negative, got {shares}")
    return (shares * fee_per_share(price, rate, exponent)).quantize(FEE_QUANTUM, rounding=ROUND_DOWN)


def market_taker_fee(info: MarketInfo, shares: Decimal, price: Decimal) -> Decimal:
    return taker_fee(shares, price, info.fee_rate, info.fee_exponent)


def break_even_probability(price: Decimal, rate: Decimal, exponent: int) -> Decimal:
    """Win probability at which buying one share at ``price`` (a taker, holding to resolution)
    has zero expected value: the all-in cost per share, price + fee."""
    return price + fee_per_share(price, rate, exponent)
