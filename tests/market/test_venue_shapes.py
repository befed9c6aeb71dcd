"""The codec against messages in the venue's real shapes (tests/fixtures/venue/, each naming its
source), and the stream's book checks on real-shaped sequences."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from tradingfloor.market.codec import decode_frame, decode_spot_frame, parse_frame
from tradingfloor.market.events import (
    BookSnapshot,
    LastTrade,
    PriceChange,
    RoundListed,
    TickSizeChange,
)
from tradingfloor.market.ws import MarketStream
from tradingfloor.sim import wire

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "venue"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_real_new_market_is_accepted_and_left_for_gamma_to_complete():
    (listed,) = parse_frame(json.dumps(fixture("new_market_updown.json")))
    assert isinstance(listed, RoundListed)
    assert listed.asset == "BTC" and listed.interval == "5m" and listed.start_ms == 1779868500_000
    assert listed.up_token_id.startswith("8356") and listed.down_token_id.startswith("7996")
    assert listed.tick_size == D("0.01") and listed.fee_rate == D("0.07") and listed.fee_exponent == 1
    assert listed.ts_ms == 1779782572324


def test_the_simulators_new_market_has_exactly_the_venues_fields():
    from tradingfloor.market.events import NewMarket
    from tradingfloor.sim.model import SimConfig, simulate

    ev = next(e for e in simulate(SimConfig(seed=1), 60_000) if isinstance(e, NewMarket))
    msg = wire.new_market_message(ev, D("0.2"))
    real = {k for k in fixture("new_market_updown.json") if not k.startswith("_")}
    assert set(msg) == real, set(msg) ^ real
    assert msg["fee_schedule"] == {"exponent": "1", "rate": "0.07", "taker_only": True, "rebate_rate": "0.2"}
    (listed,) = parse_frame(json.dumps(msg))
    assert isinstance(listed, RoundListed) and listed.market_id == ev.info.market_id


def test_resolution_of_another_family_is_not_malformed():
    events, errors = decode_frame(json.dumps(fixture("market_resolved_yes_no.json")))
    assert events == [] and errors == []


@pytest.mark.parametrize(
    "name,kind",
    [
        ("book.json", BookSnapshot),
        ("price_change_v2.json", PriceChange),
        ("last_trade_price.json", LastTrade),
        ("tick_size_change.json", TickSizeChange),
    ],
)
def test_captured_shapes_decode(name, kind):
    events = parse_frame(json.dumps(fixture(name)))
    assert events and all(type(e) is kind for e in events)


def test_book_levels_arrive_best_last_and_are_read_as_sent():
    (snap,) = parse_frame(json.dumps(fixture("book.json")))
    assert snap.bids[-1] == (D("0.511"), D("1304.72")) and snap.asks[-1] == (D("0.514"), D("20230.87"))
    assert snap.hash == "655a38d4977427b086c25b985993691b753ed166"


def test_twap_feed_values_are_scaled_from_18_decimals():
    (tick,), errors = decode_spot_frame(json.dumps(fixture("twap_sixty.json")))
    assert errors == [] and tick.asset == "BTC" and tick.price == D("65012.34")


def test_plain_spot_feed_values_are_not_scaled():
    frame = fixture("twap_sixty.json") | {"topic": "crypto_prices_chainlink"}
    frame["payload"] = {"symbol": "btc/usd", "value": 65012.34, "timestamp": 1767225600000}
    (tick,), _ = decode_spot_frame(json.dumps(frame))
    assert tick.price == D("65012.34")


def _stream(tokens: list[str]) -> MarketStream:
    """A stream whose socket is never opened: only its book keeping is exercised."""
    return MarketStream("ws://127.0.0.1:9/unused", tokens)


def _book(token: str, bids, asks, ts=1) -> BookSnapshot:
    return BookSnapshot(
        "m", token, tuple((D(p), D(s)) for p, s in bids), tuple((D(p), D(s)) for p, s in asks), ts
    )


def test_a_sweeping_trade_in_one_frame_is_not_a_desync():
    """The venue's entries all carry the best prices after the whole frame; applied one by one
    our book passes through other states, which must not count as a desync."""
    stream = _stream(["t"])
    assert stream._apply(_book("t", [("0.48", "10"), ("0.49", "10")], [("0.51", "10"), ("0.52", "10")]))
    # a buy sweeps both asks; a new bid joins at 0.50; best after the frame: 0.50 / none
    frame = {
        "event_type": "price_change",
        "market": "m",
        "timestamp": "2",
        "price_changes": [
            {"asset_id": "t", "price": p, "size": s, "side": side, "best_bid": "0.5", "best_ask": "1"}
            for p, s, side in [("0.51", "0", "SELL"), ("0.52", "0", "SELL"), ("0.5", "4", "BUY")]
        ],
    }
    for ev in parse_frame(json.dumps(frame)):
        stream._apply(ev)
    stream._check_against_venue()
    assert stream.desyncs == 0 and "t" not in stream.awaiting
    assert stream.books["t"].best_bid() == D("0.5") and stream.books["t"].best_ask() is None


def test_a_real_disagreement_after_the_frame_is_a_desync():
    stream = _stream(["t"])
    stream._apply(_book("t", [("0.48", "10")], [("0.52", "10")]))
    frame = {
        "event_type": "price_change",
        "market": "m",
        "timestamp": "2",
        "price_changes": [
            {
                "asset_id": "t",
                "price": "0.49",
                "size": "5",
                "side": "BUY",
                "best_bid": "0.47",
                "best_ask": "0.52",
            }
        ],
    }
    for ev in parse_frame(json.dumps(frame)):
        stream._apply(ev)
    stream._check_against_venue()
    assert stream.desyncs == 1 and stream.awaiting["t"] == 0.0


def test_a_crossed_snapshot_is_flagged_withheld_and_resynced():
    stream = _stream(["t"])
    assert not stream._apply(_book("t", [("0.55", "10")], [("0.52", "10")]))
    assert stream.crossed_snapshots == 1 and stream.awaiting["t"] == 0.0 and stream.book("t") is None
    # the REST answer is used even when crossed too: counted, no resync loop
    assert stream._apply(_book("t", [("0.55", "10")], [("0.52", "10")]), from_rest=True)
    assert stream.crossed_snapshots == 2
