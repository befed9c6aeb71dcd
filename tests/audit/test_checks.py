"""Per-trade re-checks on constructed trades: each kind of wrong trade is flagged with its rule."""

from __future__ import annotations

from decimal import Decimal as D

from tradingfloor.audit.checks import (
    AccountState,
    BookLevels,
    ClosedTrade,
    Execution,
    FeeSchedule,
    RiskLimits,
    Thresholds,
    account_state,
    audit_execution,
    book_vwap,
    check_pnl,
    expected_fee,
    recompute_gross,
)
from tradingfloor.trading.fees import taker_fee

LIMITS = RiskLimits(
    capital=D("1000"),
    risk_per_trade_bps=200,
    max_position_bps=1000,
    max_concurrent=2,
    daily_loss_limit_bps=1000,
)
SCHEDULE = FeeSchedule(rate=D("0.25"), exponent=2)
BOOK = BookLevels(
    bids=((D("0.49"), D("50")), (D("0.48"), D("100"))), asks=((D("0.51"), D("10")), (D("0.52"), D("20")))
)
TH = Thresholds(max_price_deviation_bps=50, pnl_tolerance=D("0.01"), fee_tolerance=D("0.00001"))


def fill(side="BUY", price="0.51", size="10", fee=None, liquidity="taker", token="up-1", ts=1_000, tid="t1"):
    price, size = D(price), D(size)
    if fee is None:
        fee = taker_fee(size, price, SCHEDULE.rate, SCHEDULE.exponent) if liquidity == "taker" else D(0)
    return Execution(tid, "alpha", "m1", token, side, price, size, D(fee), liquidity, ts)


def rules(ex, before=AccountState(), book=BOOK):
    return sorted(
        v.rule
        for v in audit_execution(
            ex, limits=LIMITS, before=before, book=book, schedule=SCHEDULE, thresholds=TH
        )
    )


def test_clean_trade_passes_every_rule():
    assert rules(fill()) == []
    # a taker buy of 25 walks two ask levels: 10 @ 0.51 + 15 @ 0.52
    assert book_vwap(BOOK.asks, D("25"))[0] == (D("5.1") + D("7.8")) / 25
    assert rules(fill(price=str((D("5.1") + D("7.8")) / 25), size="25")) == []
    assert rules(fill(side="SELL", price="0.49", size="20")) == []


def test_fee_mismatch_is_flagged():
    ex = fill(fee="0.01")
    assert rules(ex) == ["fee.schedule"]
    assert expected_fee(ex, SCHEDULE) == D("0.15612")  # 10 × 0.25 × (0.51·0.49)² = 0.1561250, floored
    assert rules(fill(liquidity="maker", fee="0.001")) == ["fee.schedule"]  # makers pay nothing


def test_price_off_the_book_is_flagged():
    violations = audit_execution(
        fill(price="0.56"), limits=LIMITS, before=AccountState(), book=BOOK, schedule=SCHEDULE, thresholds=TH
    )
    assert [v.rule for v in violations] == ["book.price"]
    assert violations[0].details["expected"] == "0.510000" and violations[0].trade_id == "t1"


def test_a_one_tick_walk_at_sub_cent_prices_is_not_a_violation():
    """At $0.003 one tick of $0.001 is 3 333 bps: the bps tolerance alone would flag every walk."""
    cheap = BookLevels((), ((D("0.003"), D("100")), (D("0.004"), D("900"))))
    walked = audit_execution(
        fill(price="0.004", size="100"),
        limits=LIMITS,
        before=AccountState(),
        book=cheap,
        schedule=SCHEDULE,
        thresholds=TH,
    )
    assert [v.rule for v in walked if v.rule.startswith("book")] == []
    two_ticks = audit_execution(
        fill(price="0.005", size="100"),
        limits=LIMITS,
        before=AccountState(),
        book=cheap,
        schedule=SCHEDULE,
        thresholds=TH,
    )
    assert [v.rule for v in two_ticks if v.rule.startswith("book")] == ["book.price"]
    assert two_ticks[0].details["deviation_ticks"] == "2.0"


def test_size_beyond_the_book_is_flagged():
    assert "book.size" in rules(fill(side="SELL", price="0.4833", size="200"))


def test_risk_limits_at_trade_time():
    # 40 shares at 0.51 cost 20.4 + fee: above 2 % of 1000
    deep = BookLevels((), ((D("0.51"), D("100")),))
    assert rules(fill(size="40", tid="big"), book=deep) == ["risk.per_trade"]
    assert rules(fill(), before=AccountState(exposure=D("95"), open_tokens=frozenset({"up-1"}))) == [
        "risk.max_position"
    ]
    assert rules(fill(), before=AccountState(open_tokens=frozenset({"a", "b"}))) == ["risk.max_concurrent"]
    assert (
        rules(fill(), before=AccountState(open_tokens=frozenset({"a", "up-1"}))) == []
    )  # adding to an open position
    assert rules(fill(), before=AccountState(daily_pnl=D("-100"))) == ["risk.daily_loss"]
    assert (
        rules(fill(side="SELL", price="0.49"), before=AccountState(daily_pnl=D("-500"))) == []
    )  # selling reduces risk


def test_pnl_recomputed_from_fills():
    buy = fill(price="0.51", size="10")
    sell = fill(side="SELL", price="0.60", size="10", tid="t2")
    gross, fees = D("6.0") - D("5.1"), buy.fee + sell.fee
    assert recompute_gross([buy, sell]) == gross
    good = ClosedTrade("c1", "alpha", "up-1", gross, fees, gross - fees, 2_000)
    assert check_pnl(good, [buy, sell], TH) == []
    bad = ClosedTrade("c1", "alpha", "up-1", gross + D("0.5"), fees, gross + D("0.5") - fees, 2_000)
    [v] = check_pnl(bad, [buy, sell], TH)
    assert v.rule == "pnl.recompute" and D(v.details["expected"]) == gross
    inconsistent = ClosedTrade("c1", "alpha", "up-1", gross, fees, gross, 2_000)
    assert [v.rule for v in check_pnl(inconsistent, [buy, sell], TH)] == ["pnl.recompute"]
    # settlement: a winner pays 1 per share and may cost a redemption fee; a loser costs nothing more
    won = ClosedTrade(
        "c2",
        "alpha",
        "up-1",
        D(10) - D("5.1"),
        buy.fee + D("0.02"),
        D(10) - D("5.1") - buy.fee - D("0.02"),
        3_000,
        payout_per_share=D(1),
    )
    assert check_pnl(won, [buy], TH) == []
    lost = ClosedTrade(
        "c3",
        "alpha",
        "up-1",
        -D("5.1"),
        buy.fee + D("0.02"),
        -D("5.1") - buy.fee - D("0.02"),
        3_000,
        payout_per_share=D(0),
    )
    assert [v.rule for v in check_pnl(lost, [buy], TH)] == ["pnl.recompute"]


def test_account_state_rebuilt_from_history():
    history = [
        fill(token="a", price="0.5", size="10"),
        fill(token="b", price="0.4", size="10"),
        fill(token="b", side="SELL", price="0.45", size="5"),
        fill(token="c", price="0.3", size="10"),
    ]
    closed = [
        ClosedTrade("x", "alpha", "c", D("-3"), D(0), D("-3"), 5_000),
        ClosedTrade("y", "alpha", "z", D("-1"), D(0), D("-1"), 100),
    ]
    state = account_state(history, closed, day_start_ms=1_000)
    assert state.open_tokens == frozenset({"a", "b"})
    assert state.exposure == D("5.0") + D("2.0")
    assert state.daily_pnl == D("-3")
