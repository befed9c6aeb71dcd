from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.trading.helpers import market
from tradingfloor.trading.fees import break_even_probability, fee_per_share, market_taker_fee, taker_fee


def test_fee_for_100_shares_at_half_with_rate_007():
    assert taker_fee(D(100), D("0.50"), D("0.07"), 1) == D("1.75")


@pytest.mark.parametrize(
    "price,cents",
    [
        ("0.05", "0.33"),
        ("0.10", "0.63"),
        ("0.30", "1.47"),
        ("0.50", "1.75"),
        ("0.90", "0.63"),
        ("0.95", "0.33"),
    ],
)
def test_fee_table_from_research(price, cents):
    # polymarket.md §3.1, crypto rate 0.07: fee in cents per share, rounded to 2 decimals there.
    per_share_cents = fee_per_share(D(price), D("0.07"), 1) * 100
    assert per_share_cents.quantize(D("0.01")) == D(cents)


def test_break_even_matches_research():
    # trading-anchors.md §4.1: buy at 0.50, rate 0.072 ⇒ break-even 0.518; rate 0.07 ⇒ 0.5175.
    assert break_even_probability(D("0.50"), D("0.072"), 1) == D("0.518")
    assert break_even_probability(D("0.50"), D("0.07"), 1) == D("0.5175")


def test_fee_is_floored_to_five_decimals_like_the_venue():
    # 0.01 share at 0.01: 0.00000693 → below the smallest fee the venue charges (0.00001): no fee
    assert taker_fee(D("0.01"), D("0.01"), D("0.07"), 1) == 0
    # 1 share at 0.03: 0.002037 → 0.00203 (half-up would give 0.00204)
    assert taker_fee(D(1), D("0.03"), D("0.07"), 1) == D("0.00203")
    assert taker_fee(D(0), D("0.5"), D("0.07"), 1) == 0
    assert taker_fee(D(10), D("0.5"), D(0), 1) == 0


def test_market_fee_reads_the_market_schedule():
    assert market_taker_fee(market(rate="0.25"), D(100), D("0.5")) == D("6.25")


def test_bad_fee_input_is_named():
    with pytest.raises(ValueError, match="price"):
        taker_fee(D(1), D("1.2"), D("0.07"), 1)
    with pytest.raises(ValueError, match="shares"):
        taker_fee(D(-1), D("0.5"), D("0.07"), 1)


@settings(max_examples=200, deadline=None)
@given(
    shares=st.decimals("0.01", "100000", places=2),
    price_cents=st.integers(1, 99),
    rate=st.decimals("0", "0.5", places=4),
    exponent=st.integers(0, 3),
)
def test_fee_matches_formula(shares, price_cents, rate, exponent):
    p = D(price_cents) / 100
    exact = shares * rate * (p * (1 - p)) ** exponent
    fee = taker_fee(shares, p, rate, exponent)
    if exact == 0:
        assert fee == 0
    else:
        assert D(0) <= exact - fee < D("0.00001")
