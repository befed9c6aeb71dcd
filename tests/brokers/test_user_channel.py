"""The venue's user-channel messages and order answers, in their real shapes (tests/fixtures/venue),
read by the live broker: each trade booked once, asynchronous answers left unknown."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from tests.trading.helpers import market
from tradingfloor.brokers import make_broker
from tradingfloor.brokers.live import LiveBroker
from tradingfloor.brokers.user_channel import UserFrameError, fill_of, order_ids_in, parse_user_frame
from tradingfloor.models.trader_agent import TraderAgentSpec
from tradingfloor.structs import parse
from tradingfloor.trading.ledger import Ledger
from tradingfloor.trading.orders import Order, client_order_id

FIXTURES = Path(__file__).parents[1] / "fixtures" / "venue"
INFO = market(market_id="0x5e1f", rate="0.07")
INFO = type(INFO)(**{**{f: getattr(INFO, f) for f in INFO.__dataclass_fields__}, "up_token_id": "5551"})


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_user_frames_parse_single_and_batched():
    placement, trade = fixture("user_order_placement.json"), fixture("user_trade.json")
    assert parse_user_frame(json.dumps(placement)) == [placement]
    assert parse_user_frame(json.dumps([trade, fixture("user_order_cancellation.json")]))[0] == trade


@pytest.mark.parametrize(
    ("frame", "named"),
    [
        ("not json", "not JSON"),
        (json.dumps({"event_type": "price_change"}), "unknown user-channel event_type"),
        (json.dumps({**fixture("user_trade.json"), "taker_order_id": None}), "lacks taker_order_id"),
        (json.dumps({**fixture("user_trade.json"), "maker_orders": "x"}), "maker_orders must be a list"),
        (json.dumps([1]), "must be an object"),
    ],
)
def test_malformed_user_frames_are_named(frame, named):
    with pytest.raises(UserFrameError, match=named):
        parse_user_frame(frame)


def test_a_trade_fills_the_taker_at_the_trade_price_and_a_maker_at_its_own():
    trade = fixture("user_trade.json")
    taker = fill_of(trade, trade["taker_order_id"])
    assert taker is not None and (taker.size, taker.price, taker.liquidity) == (D(20), D("0.51"), "taker")
    maker = fill_of(trade, "0x77aa")
    assert maker is not None and (maker.size, maker.price, maker.liquidity) == (D(20), D("0.51"), "maker")
    assert fill_of(trade, "0xother") is None and order_ids_in(trade) == [trade["taker_order_id"], "0x77aa"]


@pytest.fixture
def broker(live_settings) -> LiveBroker:
    """The live broker over the local CLOB stub (tests/brokers/clob_stub.py), which keeps no trade
    records: a trade lookup finds nothing, as when the venue has not recorded the trade yet."""
    spec = parse(
        TraderAgentSpec,
        dict(strategy="momentum", market={"asset": "BTC"}, mode="live", credentialsSecretRef={"name": "k"}),
    )
    b = make_broker(spec, live_settings, Ledger(D(1000)), request_timeout_s=0.5)
    assert isinstance(b, LiveBroker)
    b.register_market(INFO)
    return b


def _submission(broker: LiveBroker, size: str = "50"):
    order = Order(
        client_order_id("a1", INFO.market_id, 1), "a1", INFO.market_id, INFO.up_token_id,
        "BUY", D("0.51"), D(size), "GTC", 1_000,
    )  # fmt: skip
    sub = broker.prepare(order)
    broker.submissions[order.client_id] = sub
    broker.by_hash[sub.order_hash] = sub
    return sub


def test_an_asynchronous_answer_is_unknown_not_final(broker):
    sub = _submission(broker)
    result = broker._apply_post_response(sub, fixture("post_order_answer_async.json"), 1_000)
    assert result.status == "pending" and not result.fills and sub.state == "unknown"
    assert broker.ledger.cash == D(1000) and broker.open_submissions() == [sub]


def test_a_matched_answer_books_once_and_the_channel_does_not_book_it_again(broker):
    sub = _submission(broker)
    answer = fixture("post_order_answer_matched.json")  # 20 of 50 matched at 0.51; the rest rests
    result = broker._apply_post_response(sub, answer, 1_000)
    assert result.status == "resting" and [(f.size, f.price) for f in result.fills] == [(D(20), D("0.51"))]
    trade = {**fixture("user_trade.json"), "taker_order_id": sub.order_hash}  # the same trade, reported
    assert broker._on_user_message(trade, 1_001) == []
    cancelled = {**fixture("user_order_cancellation.json"), "id": sub.order_hash}
    (final,) = broker._on_user_message(cancelled, 1_002)
    assert final.status == "cancelled" and broker.ledger.positions[INFO.up_token_id].shares == D(20)
