from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.trading.helpers import StaticBook, market
from tradingfloor.market.events import SpotTick
from tradingfloor.strategies.registry import create_strategy

INFO = market(start_ms=0, end_ms=900_000)


class View:
    def __init__(self, books=None):
        self.now_ms = 0
        self.books = books or {
            INFO.up_token_id: StaticBook([("0.49", "100")], [("0.51", "100")]),
            INFO.down_token_id: StaticBook([("0.49", "100")], [("0.51", "100")]),
        }

    def current_market(self, asset):
        return INFO if INFO.start_ms <= self.now_ms < INFO.end_ms else None

    def book(self, token):
        return self.books.get(token)


def feed(strategy, view, prices, step_ms=1000, volumes=None):
    intents = []
    for i, p in enumerate(prices):
        view.now_ms = i * step_ms
        vol = D(volumes[i]) if volumes else D(1)
        intent = strategy.on_spot(SpotTick("BTC", D(str(p)), view.now_ms, vol), view)
        if intent:
            intents.append(intent)
    return intents


def ramp(n, start=100_000.0, per_step=0.0):
    return [start * (1 + per_step * i) for i in range(n)]


def test_momentum_buys_up_after_half_percent_rise_in_five_minutes():
    s = create_strategy("momentum", {}, "BTC")
    intents = feed(s, View(), ramp(400, per_step=0.6 / 100 / 300))
    assert len(intents) == 1  # one entry per round
    (i,) = intents
    assert i.outcome == "Up" and i.side == "BUY" and i.max_price == D("0.70")
    assert i.ts_ms >= 300_000 and D("0.5") < i.p_win <= D("0.6")


def test_momentum_quiet_market_no_signal_and_falling_buys_down():
    assert feed(create_strategy("momentum", {}, "BTC"), View(), ramp(400, per_step=0.1 / 100 / 300)) == []
    (i,) = feed(create_strategy("momentum", {}, "BTC"), View(), ramp(400, per_step=-0.6 / 100 / 300))
    assert i.outcome == "Down"


def test_mean_reversion_trades_against_the_move():
    (i,) = feed(create_strategy("meanReversion", {}, "BTC"), View(), ramp(700, per_step=1.2 / 100 / 600))
    assert i.outcome == "Down"


def test_entry_timing_windows():
    s = create_strategy("momentum", {"minSecondsToClose": 890, "minSecondsFromOpen": 0}, "BTC")
    assert feed(s, View(), ramp(400, per_step=0.6 / 100 / 300)) == []  # too close to the end throughout


def test_volume_spike_follows_the_move_on_heavy_volume():
    params = {"baselineSeconds": 300}
    n = 500
    volumes = ["1"] * 450 + ["10"] * 50
    prices = [100_000.0] * 450 + [100_000.0 * (1 - 0.0002 * k) for k in range(1, 51)]
    (i,) = feed(create_strategy("volumeSpike", params, "BTC"), View(), prices, volumes=volumes)
    assert i.outcome == "Down" and i.ts_ms >= 450_000
    assert (
        feed(create_strategy("volumeSpike", params, "BTC"), View(), [100_000.0] * n, volumes=["1"] * n) == []
    )


def test_technical_pattern_crossover():
    s = create_strategy("technicalPattern", {"barSeconds": 1, "fastPeriod": 2, "slowPeriod": 4}, "BTC")
    prices = [100.0] * 10 + [99.0 - k for k in range(10)] + [100.0 + 3 * k for k in range(10)]
    intents = feed(s, View(), prices)
    assert [i.outcome for i in intents] == ["Down"]  # the later Up cross falls in the same round
    with pytest.raises(ValueError, match="fastPeriod"):
        create_strategy("technicalPattern", {"fastPeriod": 20, "slowPeriod": 10}, "BTC")


def test_order_flow_reads_up_book_imbalance():
    s = create_strategy("orderFlow", {}, "BTC")
    view = View()
    view.now_ms = 100_000
    assert s.on_book(INFO.up_token_id, view) is None  # balanced book
    view.books[INFO.up_token_id] = StaticBook([("0.49", "300")], [("0.51", "100")])
    i = s.on_book(INFO.up_token_id, view)
    assert i.outcome == "Up" and i.p_win > D("0.5")


OTHER = market("m0", start_ms=-900_000, end_ms=0)  # the round before INFO


@given(
    st.integers(-1000, 901_000),
    st.sampled_from(["up", "down", "other-up", "other-down", "unknown"]),
    st.sampled_from(["nothing", "this round", "the round before", "this round, restored"]),
    st.integers(0, 899),
    st.integers(0, 899),
)
def test_order_flow_reads_the_book_exactly_when_entry_market_offers_the_up_token(
    now_ms, token, entered, from_open, to_close
):
    """on_book refuses an entered round's books before asking ``entry_market``; it must act
    exactly when ``entry_market`` returns the round and the book is its Up token's."""
    s = create_strategy("orderFlow", {"minSecondsFromOpen": from_open, "minSecondsToClose": to_close}, "BTC")
    view = View()
    imbalanced = StaticBook([("0.49", "300")], [("0.51", "100")])  # bid-heavy: it enters when it reads
    for info in (INFO, OTHER):
        view.books[info.up_token_id] = view.books[info.down_token_id] = imbalanced
    if entered != "nothing":  # an entry made the way on_book makes it, then perhaps a restart
        assert s.enter(INFO if entered.startswith("this") else OTHER, "Up", 2.0, view, "earlier") is not None
        if entered.endswith("restored"):
            s.load_state(s.state())
    before = s.last_entered
    view.now_ms = now_ms
    token_id = {
        "up": INFO.up_token_id,
        "down": INFO.down_token_id,
        "other-up": OTHER.up_token_id,
        "other-down": OTHER.down_token_id,
        "unknown": "another-token",
    }[token]
    expected = s.entry_market(view) is INFO and token_id == INFO.up_token_id
    intent = s.on_book(token_id, view)
    assert (intent is not None) == expected
    assert s.last_entered == (INFO.market_id if expected else before)


def test_unknown_strategy_and_params_are_named():
    with pytest.raises(ValueError, match="unknown strategy"):
        create_strategy("astrology", {}, "BTC")
    with pytest.raises(ValueError, match="bogus"):
        create_strategy("momentum", {"bogus": 1}, "BTC")


def test_strategy_state_round_trips():
    s = create_strategy("momentum", {}, "BTC")
    feed(s, View(), ramp(100, per_step=0.0001))
    t = create_strategy("momentum", {}, "BTC")
    t.load_state(s.state())
    assert t.state() == s.state()


def test_no_entry_below_the_minimum_price_unless_the_manifest_lowers_it():
    cheap = View(
        books={
            INFO.up_token_id: StaticBook([("0.002", "900")], [("0.004", "900")]),
            INFO.down_token_id: StaticBook([("0.996", "900")], [("0.998", "900")]),
        }
    )
    rising = ramp(400, per_step=0.6 / 100 / 300)
    assert feed(create_strategy("momentum", {}, "BTC"), cheap, rising) == []  # default minEntryPrice 0.05
    (i,) = feed(create_strategy("momentum", {"minEntryPrice": "0.001"}, "BTC"), cheap, rising)
    assert i.outcome == "Up"
