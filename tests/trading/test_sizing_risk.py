from __future__ import annotations

from decimal import Decimal as D

from tests.trading.helpers import market
from tradingfloor.models.trader_agent import Risk
from tradingfloor.trading.ledger import ClosedTrade
from tradingfloor.trading.risk import InMemoryFloorCapital, RiskLimits, RiskManager
from tradingfloor.trading.sizing import kelly_fraction, size_buy

INFO = market(rate="0.072")


def test_kelly_against_fee_inclusive_price():
    # p = 0.55 at 0.50 with rate 0.072: all-in 0.518, f* = 0.032 / 0.482.
    d = size_buy(D("0.55"), D("0.50"), INFO, D(1000), D(1), D(1000), D("0.01"))
    assert d.all_in_price == D("0.518")
    assert d.kelly == (D("0.55") - D("0.518")) / D("0.482")
    assert d.stake <= d.kelly * 1000 and d.shares == (d.kelly * 1000 / D("0.518")).quantize(
        D("0.01"), "ROUND_DOWN"
    )


def test_no_edge_after_fees_means_no_bet():
    d = size_buy(D("0.515"), D("0.50"), INFO, D(1000), D("0.25"), D(20), D("0.01"))
    assert d.shares == 0 and "no edge" in d.reason
    assert kelly_fraction(D("0.4"), D("0.5")) == 0


def test_caps_and_minimum_size():
    d = size_buy(D("0.80"), D("0.50"), INFO, D(1000), D("0.25"), D(20), D("0.01"))
    assert d.stake <= 20 and d.shares == (D(20) / D("0.518")).quantize(D("0.01"), "ROUND_DOWN")
    assert "minimum" in size_buy(D("0.80"), D("0.50"), INFO, D(1000), D("0.25"), D(2), D("0.01")).reason


def test_the_cap_holds_at_the_limit_price():
    """Kelly at the ask, the per-trade cap at the order's limit: a fill that walks the book up to the
    limit still costs no more than the cap (what the auditor's risk.per_trade rule checks)."""
    from tradingfloor.trading.fees import break_even_probability

    at_ask = size_buy(D("0.9"), D("0.50"), INFO, D(1000), D("1"), D(20), D("0.01"))
    walked = size_buy(D("0.9"), D("0.50"), INFO, D(1000), D("1"), D(20), D("0.01"), worst_price=D("0.52"))
    worst_cost = walked.shares * break_even_probability(D("0.52"), INFO.fee_rate, INFO.fee_exponent)
    assert walked.shares < at_ask.shares and worst_cost <= D(20) and walked.stake >= worst_cost


def test_limits_from_the_custom_resource():
    lim = RiskLimits.from_spec(Risk())
    assert (lim.risk_per_trade, lim.max_exposure, lim.max_consecutive_losses) == (D("0.02"), D("0.1"), 5)
    assert RiskLimits.from_json(lim.to_json()) == lim


def test_risk_checks_and_max_stake():
    r = RiskManager(RiskLimits())
    assert r.max_stake(D(0)) == D(20) and r.max_stake(D(90)) == D(10) and r.max_stake(D(200)) == 0
    assert r.check(100_000, 800_000, 95_000, 0, D(1000)) is None
    assert "stale" in r.check(100_000, 800_000, 60_000, 0, D(1000))
    assert "closes" in r.check(790_000, 800_000, 789_000, 0, D(1000))
    assert "trades open" in r.check(100_000, 800_000, 99_000, 3, D(1000))
    assert "daily loss" in r.check(100_000, 800_000, 99_000, 0, D(899))


def _trade(pnl: str, t: int) -> ClosedTrade:
    return ClosedTrade("m", "tok", "Up", D(pnl), D(0), t - 1, t)


def test_five_consecutive_losses_pause():
    r = RiskManager(RiskLimits())
    equity = D(1000)
    for k in range(4):
        equity -= 1
        assert r.record(_trade("-1", k), equity) is None
    assert r.record(_trade("2", 5), equity + 2) is None  # a win resets the streak
    for k in range(5):
        reason = r.record(_trade("-1", 10 + k), equity - k)
    assert reason == "5 consecutive losses"
    assert "paused" in r.check(100, 800_000, 100, 0, equity)
    r.resume()
    assert r.pause_reason is None and r.consecutive_losses == 0


def test_drawdown_pause():
    r = RiskManager(RiskLimits(max_drawdown=D("0.05"), daily_loss_limit=D("0.5")))
    r.record(_trade("100", 1), D(1100))
    assert "drawdown" in r.record(_trade("-60", 2), D(1040))


def test_floor_capital_port():
    floor = InMemoryFloorCapital(D(400))
    assert floor.reserve(D(300)) and not floor.reserve(D(150))
    floor.release(D(100))
    assert floor.reserve(D(150)) and floor.deployed == D(350)


def test_max_stake_against_a_reduced_capital():
    r = RiskManager(RiskLimits())  # 2 % per trade, 10 % exposure, capital 1000
    assert r.max_stake(D(0), D(250)) == D(5)
    assert r.max_stake(D(20), D(250)) == D(5) and r.max_stake(D(22), D(250)) == D(3)
    assert r.max_stake(D(30), D(250)) == 0
