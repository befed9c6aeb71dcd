from __future__ import annotations

import json
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.trading.helpers import StaticBook, market
from tradingfloor.market.events import LastTrade, MarketResolved
from tradingfloor.trading.fees import taker_fee
from tradingfloor.trading.ledger import Ledger
from tradingfloor.trading.orders import Order, client_order_id
from tradingfloor.trading.paper_broker import BrokerConfig, PaperBroker

INFO = market()
UP, DOWN = INFO.up_token_id, INFO.down_token_id


def broker(cash="1000", latency=0, redemption="0.005") -> PaperBroker:
    b = PaperBroker(Ledger(D(cash)), BrokerConfig(latency_ms=latency, redemption_cost=D(redemption)))
    b.register_market(INFO)
    return b


_seq = iter(range(10**9))


def order(side="BUY", price="0.55", size="100", kind="FAK", token=UP, cid=None) -> Order:
    cid = cid or client_order_id("agent", INFO.market_id, next(_seq))
    return Order(cid, "agent", INFO.market_id, token, side, D(price), D(size), kind, 0)


BOOK = StaticBook(
    bids=[("0.48", "50"), ("0.47", "100")], asks=[("0.50", "40"), ("0.52", "30"), ("0.56", "500")]
)


def test_fak_walks_levels_and_pays_fee_per_level():
    b = broker()
    res = b.submit(order(price="0.52", size="100"), {UP: BOOK}, 0)
    assert res.status == "partial"
    assert [(f.price, f.size) for f in res.fills] == [(D("0.50"), D(40)), (D("0.52"), D(30))]
    fees = taker_fee(D(40), D("0.50"), D("0.07"), 1) + taker_fee(D(30), D("0.52"), D("0.07"), 1)
    assert sum(f.fee for f in res.fills) == fees
    assert b.ledger.cash == D(1000) - D(40) * D("0.50") - D(30) * D("0.52") - fees
    assert b.ledger.positions[UP].shares == 70


def test_fok_all_or_nothing():
    b = broker()
    res = b.submit(order(price="0.52", size="100", kind="FOK"), {UP: BOOK}, 0)
    assert res.status == "rejected" and not res.fills and b.ledger.cash == 1000
    res = b.submit(order(price="0.52", size="70", kind="FOK"), {UP: BOOK}, 0)
    assert res.status == "filled" and res.filled_size == 70


def test_consumed_liquidity_is_not_taken_twice_until_the_level_updates():
    b = broker()
    b.submit(order(price="0.50", size="40"), {UP: BOOK}, 0)
    assert b.submit(order(price="0.50", size="10"), {UP: BOOK}, 0).status == "cancelled"
    b.on_level_update(UP, "SELL", D("0.50"))
    assert b.submit(order(price="0.50", size="10"), {UP: BOOK}, 0).filled_size == 10


def test_duplicate_client_id_never_fills_twice():
    b = broker()
    first = order(price="0.50", size="10", cid="tf-same")
    assert b.submit(first, {UP: BOOK}, 0).status == "filled"
    again = b.submit(first, {UP: BOOK}, 0)
    assert again.status == "duplicate" and not again.fills
    assert b.ledger.positions[UP].shares == 10
    assert client_order_id("a", "m", 3) == client_order_id("a", "m", 3) != client_order_id("a", "m", 4)


def test_tick_min_size_and_cash_are_checked():
    b = broker(cash="10")
    assert "tick" in b.submit(order(price="0.555"), {UP: BOOK}, 0).reason
    assert "minimum size" in b.submit(order(size="4"), {UP: BOOK}, 0).reason
    assert "cash" in b.submit(order(size="100"), {UP: BOOK}, 0).reason
    assert "not part of market" in b.submit(order(token="other"), {UP: BOOK}, 0).reason
    assert "cannot sell" in b.submit(order(side="SELL", size="10"), {UP: BOOK}, 0).reason
    b.set_tick_size(INFO.market_id, D("0.001"))
    assert b.submit(order(price="0.555", size="5"), {UP: BOOK}, 0).status == "filled"  # now on the grid


def test_latency_matches_against_the_later_book():
    b = broker(latency=250)
    res = b.submit(order(price="0.52", size="10"), {UP: BOOK}, 1000)
    assert res.status == "pending" and b.free_cash() < 1000
    assert b.advance(1250, {UP: BOOK}) == []  # an event stamped at the due time is applied first
    later = StaticBook(asks=[("0.51", "5")])
    (done,) = b.advance(1251, {UP: later})
    assert [(f.price, f.size, f.ts_ms) for f in done.fills] == [(D("0.51"), D(5), 1250)]
    assert b.reserved == {}


def test_resting_order_queue_model():
    b = broker()
    book = StaticBook(bids=[("0.45", "30")], asks=[("0.60", "10")])
    res = b.submit(order(price="0.45", size="20", kind="GTC"), {UP: book}, 0)
    assert res.status == "resting"
    # 30 shares ahead of us: a 40-share sell at our price fills 10 of ours.
    fills = b.on_trade(LastTrade(INFO.market_id, UP, D("0.45"), D(40), "SELL", 5))
    assert [(f.size, f.fee, f.liquidity) for f in fills] == [(D(10), D(0), "maker")]
    assert b.on_trade(LastTrade(INFO.market_id, UP, D("0.45"), D(5), "BUY", 6)) == []  # same-side taker
    fills = b.on_trade(LastTrade(INFO.market_id, UP, D("0.44"), D(50), "SELL", 7))  # trades through us
    assert sum(f.size for f in fills) == 10 and not b.resting and not b.reserved


def test_settlement_and_redemption_cost():
    b = broker()
    b.submit(order(price="0.50", size="40", kind="FOK"), {UP: BOOK}, 0)
    b.submit(order(price="0.56", size="10", token=DOWN), {DOWN: BOOK}, 0)
    closed = b.resolve(MarketResolved(INFO.market_id, UP, "Up", 900_000))
    by_token = {c.token_id: c for c in closed}
    assert by_token[UP].gross_pnl == D(40) * (1 - D("0.50"))
    assert by_token[UP].costs == taker_fee(D(40), D("0.50"), D("0.07"), 1) + D("0.005")
    assert by_token[DOWN].gross_pnl == -D(10) * D("0.50")
    assert not b.ledger.positions and b.ledger.invariant_gap({}) == 0


def test_state_round_trips_through_json():
    b = broker(latency=100)
    b.submit(order(price="0.50", size="10", cid="tf-a"), {UP: BOOK}, 0)
    b.advance(101, {UP: BOOK})
    b.submit(order(price="0.45", size="20", kind="GTC", cid="tf-b"), {UP: BOOK}, 200)
    state = json.loads(json.dumps(b.to_json()))
    restored = PaperBroker.from_json(state)
    assert restored.to_json() == b.to_json()
    assert restored.submit(order(price="0.50", size="10", cid="tf-a"), {UP: BOOK}, 300).status == "duplicate"


# --- properties ------------------------------------------------------------------------

prices = st.integers(1, 99).map(lambda c: D(c) / 100)
sizes = st.integers(1, 30000).map(lambda c: D(c) / 100)
levels = st.lists(st.tuples(prices, sizes), max_size=6)


@st.composite
def books(draw):
    bids = sorted({p: s for p, s in draw(levels)}.items(), reverse=True)
    asks = sorted({p: s for p, s in draw(levels)}.items())
    return StaticBook(bids=bids, asks=asks)


actions = st.one_of(
    st.tuples(
        st.just("order"),
        st.sampled_from(["BUY", "SELL"]),
        prices,
        st.integers(500, 20000),
        st.sampled_from(["FOK", "FAK", "GTC"]),
        st.sampled_from([UP, DOWN]),
    ),
    st.tuples(
        st.just("trade"),
        st.sampled_from(["BUY", "SELL"]),
        prices,
        st.integers(1, 20000),
        st.sampled_from([UP, DOWN]),
    ),
    st.tuples(st.just("book"), books(), books()),
)


@settings(max_examples=120, deadline=None)
@given(
    steps=st.lists(actions, max_size=25),
    marks=st.tuples(prices, prices),
    winner=st.sampled_from([UP, DOWN, None]),
    latency=st.sampled_from([0, 50]),
)
def test_ledger_invariant_and_fok_for_any_sequence(steps, marks, winner, latency):
    b = broker(cash="500", latency=latency)
    books_now = {UP: StaticBook(), DOWN: StaticBook()}
    mark = {UP: marks[0], DOWN: marks[1]}
    now = 0
    for step in steps:
        now += 10
        for res in b.advance(now, books_now):
            _check_result(b, res)
        if step[0] == "order":
            _, side, price, cents, kind, token = step
            o = Order(f"c{now}", "agent", INFO.market_id, token, side, price, D(cents) / 100, kind, now)
            _check_result(b, b.submit(o, books_now, now), o)
        elif step[0] == "trade":
            _, side, price, cents, token = step
            b.on_trade(LastTrade(INFO.market_id, token, price, D(cents) / 100, side, now))
        else:
            books_now = {UP: step[1], DOWN: step[2]}
            b.on_book_snapshot(UP)
            b.on_book_snapshot(DOWN)
        assert b.ledger.invariant_gap(mark) == 0
        assert b.ledger.cash >= 0 and b.free_cash() >= 0
        assert all(p.shares > 0 for p in b.ledger.positions.values())
    if winner is not None:
        b.resolve(MarketResolved(INFO.market_id, winner, INFO.outcome_of(winner), now + 1))
        assert not b.ledger.positions and not b.open_orders()
        assert b.ledger.invariant_gap({}) == 0
        net = sum((c.net_pnl for c in b.ledger.closed), D(0))
        assert b.ledger.cash == D(500) + net


def _check_result(b: PaperBroker, res, o: Order | None = None) -> None:
    if res.status == "pending":
        return
    filled = res.filled_size
    if o is not None and o.order_type == "FOK":
        assert filled in (0, o.size), "FOK partially filled"
    for f in res.fills:
        assert f.fee == taker_fee(f.size, f.price, INFO.fee_rate, INFO.fee_exponent)
        if o is not None:
            assert (f.price <= o.price) if o.side == "BUY" else (f.price >= o.price)
