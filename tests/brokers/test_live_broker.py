"""The live broker against the local CLOB stub (tests/brokers/clob_stub.py): real client code, real
signing and HTTP on loopback; no real keys, no network."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from tests.trading.helpers import market
from tradingfloor.brokers import LiveBroker, Submission, make_broker
from tradingfloor.brokers.live import metadata_for
from tradingfloor.models.trader_agent import TraderAgentSpec
from tradingfloor.structs import parse
from tradingfloor.trading.fees import taker_fee
from tradingfloor.trading.ledger import Ledger
from tradingfloor.trading.orders import Order, client_order_id

INFO = market(market_id="0xabc", rate="0.07")
# The CLOB signs token ids as uint256: use numeric ids like the venue's.
INFO = type(INFO)(
    **{
        **{f: getattr(INFO, f) for f in INFO.__dataclass_fields__},
        "up_token_id": "1111",
        "down_token_id": "2222",
    }
)
SPEC = parse(
    TraderAgentSpec,
    dict(strategy="momentum", market={"asset": "BTC"}, mode="live", credentialsSecretRef={"name": "k"}),
)


@pytest.fixture
def journal():
    return []


@pytest.fixture
def broker(live_settings, journal) -> LiveBroker:
    b = make_broker(SPEC, live_settings, Ledger(D(1000)), journal=journal.append, request_timeout_s=0.4)
    b.register_market(INFO)
    return b


def order(seq: int, side="BUY", price="0.40", size="10", kind="FOK") -> Order:
    return Order(
        client_order_id("a1", INFO.market_id, seq),
        "a1",
        INFO.market_id,
        INFO.up_token_id,
        side,
        D(price),
        D(size),
        kind,
        1_000,
    )


def test_matched_order_books_one_taker_fill_with_the_market_fee(broker, clob_stub, journal):
    result = broker.submit(order(1), {}, 1_000)
    assert result.status == "filled"
    (fill,) = result.fills
    assert (fill.price, fill.size, fill.liquidity) == (D("0.40"), D("10"), "taker")
    assert fill.fee == taker_fee(D(10), D("0.40"), INFO.fee_rate, INFO.fee_exponent) > 0
    assert broker.ledger.cash == D(1000) - D(4) - fill.fee
    assert broker.ledger.positions[INFO.up_token_id].shares == D(10)
    # journaled before sending, with the hash the venue used
    assert [s.order_hash for s in journal] == clob_stub.posts
    assert journal[0].signed["metadata"] == metadata_for(order(1).client_id)
    assert broker.free_cash() == broker.ledger.cash


def test_rejection_is_final_and_releases_reserved_cash(broker, clob_stub):
    clob_stub.behaviours = ["reject"]
    result = broker.submit(order(1), {}, 1_000)
    assert result.status == "rejected" and "not enough balance" in result.reason
    assert broker.ledger.cash == D(1000) and broker.free_cash() == D(1000)
    assert broker.reconcile(2_000) == []


def test_invalid_order_is_rejected_locally_and_nothing_is_sent(broker, clob_stub):
    result = broker.submit(order(1, price="0.405"), {}, 1_000)
    assert result.status == "rejected" and "tick" in result.reason
    assert clob_stub.posts == []


def test_duplicate_client_id_is_not_sent_twice(broker, clob_stub):
    assert broker.submit(order(1), {}, 1_000).status == "filled"
    assert broker.submit(order(1), {}, 1_001).status == "duplicate"
    assert len(clob_stub.posts) == 1


def test_timeout_is_unknown_not_rejected_and_reconciles_to_the_venues_fill(broker, clob_stub):
    clob_stub.behaviours = ["late"]  # accepted and filled at the venue, answer arrives after our timeout
    result = broker.submit(order(1), {}, 1_000)
    assert result.status == "pending" and "unknown" in result.reason
    assert broker.ledger.cash == D(1000)
    assert broker.free_cash() < D(1000)  # still reserved: it may have filled
    (reconciled,) = broker.reconcile(2_000)
    assert reconciled.status == "filled" and reconciled.filled_size == D(10)
    assert broker.reconcile(3_000) == []  # booked once
    assert broker.ledger.positions[INFO.up_token_id].shares == D(10)
    assert len(clob_stub.posts) == 1


def test_order_that_never_arrived_is_resent_byte_for_byte(broker, clob_stub):
    clob_stub.behaviours = ["drop"]
    assert broker.submit(order(1), {}, 1_000).status == "pending"
    (reconciled,) = broker.reconcile(2_000)
    assert reconciled.status == "filled"
    assert len(clob_stub.posts) == 2 and clob_stub.posts[0] == clob_stub.posts[1]  # same signed order
    assert broker.ledger.positions[INFO.up_token_id].shares == D(10)


def test_server_error_after_acceptance_is_reconciled(broker, clob_stub):
    clob_stub.behaviours = ["error500"]
    assert broker.submit(order(1), {}, 1_000).status == "pending"
    assert [r.status for r in broker.advance(5_000, {})] == ["filled"]


def test_resting_order_gets_maker_fills_and_can_be_cancelled(broker, clob_stub):
    clob_stub.behaviours = ["rest"]
    assert broker.submit(order(1, kind="GTC"), {}, 1_000).status == "resting"
    h = clob_stub.posts[0]
    clob_stub.fill_resting(h, D(4))
    (partial,) = broker.reconcile(2_000)
    assert partial.status == "resting" and partial.fills[0].liquidity == "maker" and partial.fills[0].fee == 0
    assert broker.cancel(order(1).client_id)
    (final,) = broker.reconcile(3_000)
    assert final.status == "cancelled" and final.fills == ()  # its earlier fills were already reported
    assert broker.ledger.positions[INFO.up_token_id].shares == D(4)
    assert broker.free_cash() == broker.ledger.cash
    assert broker.open_orders() == []


def test_restart_from_checkpoint_reconciles_unknown_order_exactly_once(broker, clob_stub, live_settings):
    clob_stub.behaviours = ["late"]
    broker.submit(order(1), {}, 1_000)
    checkpoint = broker.to_json()
    restarted = make_broker(SPEC, live_settings, Ledger(D(1000)), request_timeout_s=0.4)
    restarted.restore(checkpoint)
    assert restarted.submit(order(1), {}, 1_500).status == "duplicate"
    assert [r.status for r in restarted.reconcile(2_000)] == ["filled"]
    assert restarted.ledger.positions[INFO.up_token_id].shares == D(10)
    assert len(clob_stub.posts) == 1


def test_journaled_submission_missing_from_checkpoint_is_adopted(broker, clob_stub, journal, live_settings):
    checkpoint = broker.to_json()  # taken before the order
    clob_stub.behaviours = ["late"]
    broker.submit(order(1), {}, 1_000)  # then the process dies: only the journal knows
    restarted = make_broker(SPEC, live_settings, Ledger(D(1000)), request_timeout_s=0.4)
    restarted.restore(checkpoint)
    restarted.adopt(Submission.from_json(journal[0].to_json()))
    assert [r.status for r in restarted.reconcile(2_000)] == ["filled"]
    assert restarted.ledger.cash < D(1000)
    assert len(clob_stub.posts) == 1


def test_sell_reduces_the_position(broker, clob_stub):
    broker.submit(order(1), {}, 1_000)
    result = broker.submit(order(2, side="SELL", price="0.50", size="6"), {}, 1_100)
    assert result.status == "filled"
    assert broker.ledger.positions[INFO.up_token_id].shares == D(4)


def test_venue_calls_are_counted_for_the_floors_api_health(broker, clob_stub):
    from tradingfloor.bus.api_health import ApiHealth

    clob_stub.behaviours = ["reject", "error500"]
    assert broker.submit(order(1), {}, 1_000).status == "rejected"  # an answer from the venue: not an error
    assert broker.api.pending == ApiHealth(1, 0)
    assert broker.submit(order(2), {}, 1_000).status == "pending"  # a 5xx: an error
    assert broker.api.pending == ApiHealth(2, 1)
    # one GET /data/order, one GET /data/trades (the stub has none: a 404 is an answer, not an error)
    assert [r.status for r in broker.advance(5_000, {})] == ["filled"]
    assert broker.api.pending == ApiHealth(4, 1)
