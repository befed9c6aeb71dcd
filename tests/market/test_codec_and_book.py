"""Parsing real-shaped payloads (research §5.1, both sort orders), the book, and fuzzed frames."""

from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradingfloor.market.book import OrderBook
from tradingfloor.market.codec import (
    FrameError,
    decode_frame,
    decode_spot_frame,
    event_from_json,
    event_to_json,
    parse_frame,
)
from tradingfloor.market.events import (
    BestBidAsk,
    BookSnapshot,
    LastTrade,
    MarketResolved,
    NewMarket,
    PriceChange,
    TickSizeChange,
)
from tradingfloor.market.gamma import MarketNotReady, parse_gamma_market

MARKET = "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917"
ASSET = "71321045679252212594626385532706912750332728571942532289631379312455583992563"

# the documented shape: bids ascending, asks descending (best last)
BOOK_BEST_LAST = {
    "event_type": "book",
    "market": MARKET,
    "asset_id": ASSET,
    "bids": [
        {"price": "0.48", "size": "500.0"},
        {"price": "0.49", "size": "350.0"},
        {"price": "0.50", "size": "200.0"},
    ],
    "asks": [
        {"price": "0.53", "size": "400.0"},
        {"price": "0.52", "size": "250.0"},
        {"price": "0.51", "size": "150.0"},
    ],
    "timestamp": "1703875200000",
    "hash": "0xabc",
}
# the older docs' shape: best first
BOOK_BEST_FIRST = {
    **BOOK_BEST_LAST,
    "bids": list(reversed(BOOK_BEST_LAST["bids"])),
    "asks": list(reversed(BOOK_BEST_LAST["asks"])),
}
PRICE_CHANGE = {
    "event_type": "price_change",
    "market": MARKET,
    "timestamp": "1703875201000",
    "price_changes": [
        {
            "asset_id": ASSET,
            "price": "0.51",
            "side": "BUY",
            "size": "150.0",
            "hash": "0xhash001",
            "best_bid": "0.51",
            "best_ask": "0.52",
        }
    ],
}
LAST_TRADE = {
    "event_type": "last_trade_price",
    "market": MARKET,
    "asset_id": ASSET,
    "fee_rate_bps": "0",
    "price": "0.51",
    "side": "BUY",
    "size": "25.0",
    "timestamp": "1703875202000",
}
TICK = {
    "event_type": "tick_size_change",
    "market": MARKET,
    "asset_id": ASSET,
    "old_tick_size": "0.1",
    "new_tick_size": "0.01",
    "timestamp": "1703875210000",
}
BBA = {
    "event_type": "best_bid_ask",
    "market": MARKET,
    "asset_id": ASSET,
    "best_bid": "0.73",
    "best_ask": "0.77",
    "spread": "0.04",
    "timestamp": "1766789469958",
}
RESOLVED = {
    "event_type": "market_resolved",
    "id": "1031769",
    "market": MARKET,
    "assets_ids": [ASSET, "3169"],
    "winning_asset_id": ASSET,
    "winning_outcome": "Up",
    "timestamp": "1766790415550",
    "tags": ["crypto"],
}


@pytest.mark.parametrize("payload", [BOOK_BEST_LAST, BOOK_BEST_FIRST], ids=["best-last", "best-first"])
def test_book_is_right_whatever_the_level_order(payload):
    (snap,) = parse_frame(json.dumps(payload))
    book = OrderBook()
    book.apply_snapshot(snap)
    assert book.best_bid() == D("0.50") and book.best_ask() == D("0.51")
    assert book.bids()[0] == (D("0.50"), D("200.0")) and book.asks()[0] == (D("0.51"), D("150.0"))
    assert [p for p, _ in book.bids()] == [D("0.50"), D("0.49"), D("0.48")]
    assert [p for p, _ in book.asks()] == [D("0.51"), D("0.52"), D("0.53")]
    assert book.mid() == D("0.505")


def test_price_change_updates_and_removes_levels():
    book = OrderBook()
    book.apply_snapshot(parse_frame(json.dumps(BOOK_BEST_LAST))[0])
    (ch,) = parse_frame(json.dumps(PRICE_CHANGE))
    assert isinstance(ch, PriceChange) and ch.best_bid == D("0.51") and not hasattr(ch, "hash")
    book.apply_change(PriceChange(MARKET, ASSET, "SELL", D("0.51"), D("0"), 1))  # the 0.51 ask is taken first
    assert book.best_ask() == D("0.52")
    book.apply_change(ch)  # then a bid joins at 0.51: the venue's post-update bests agree with ours
    assert (book.best_bid(), book.best_ask()) == (ch.best_bid, ch.best_ask) and not book.is_crossed()
    book.apply_change(PriceChange(MARKET, ASSET, "BUY", D("0.51"), D("0"), 2))
    assert book.best_bid() == D("0.50") and book.size_at("BUY", D("0.51")) == 0
    book.apply_change(PriceChange(MARKET, ASSET, "BUY", D("0.49"), D("75"), 3))
    assert book.bids()[1] == (D("0.49"), D("75")) and book.ts_ms == 3


def test_every_event_type_and_array_frames():
    frame = json.dumps([BOOK_BEST_LAST, LAST_TRADE, TICK, BBA, RESOLVED])
    kinds = [type(e) for e in parse_frame(frame)]
    assert kinds == [BookSnapshot, LastTrade, TickSizeChange, BestBidAsk, MarketResolved]
    assert parse_frame("PONG") == [] and parse_frame("NO NEW ASSETS") == []
    legacy = {
        "event_type": "price_change",
        "market": MARKET,
        "asset_id": ASSET,
        "timestamp": "1",
        "changes": [{"price": "0.4", "side": "SELL", "size": "10"}],
    }
    (old,) = parse_frame(json.dumps(legacy))
    assert old.token_id == ASSET and old.side == "SELL"


def test_a_bad_element_does_not_lose_the_good_ones():
    events, errors = decode_frame(json.dumps([LAST_TRADE, {**TICK, "new_tick_size": "lots"}, BBA]))
    assert [type(e) for e in events] == [LastTrade, BestBidAsk]
    assert len(errors) == 1 and "new_tick_size" in errors[0].reason


@pytest.mark.parametrize(
    "frame,reason",
    [
        ('{"event_type": "book", "market": "m"', "not JSON"),
        (json.dumps({**LAST_TRADE, "price": "7.5"}), "outside [0, 1]"),
        (json.dumps({**LAST_TRADE, "price": "NaN"}), "not finite"),
        (json.dumps({**LAST_TRADE, "side": "UP"}), "side"),
        (json.dumps({**LAST_TRADE, "size": "-3"}), "negative"),
        (json.dumps({"event_type": "surprise"}), "unknown event_type"),
        (json.dumps({k: v for k, v in LAST_TRADE.items() if k != "asset_id"}), "asset_id"),
        (json.dumps({**BOOK_BEST_LAST, "bids": "0.5"}), "bids"),
        (json.dumps({**LAST_TRADE, "timestamp": "yesterday"}), "timestamp"),
        ("42", "must be an object"),
    ],
)
def test_malformed_frames_get_a_reason(frame, reason):
    with pytest.raises(FrameError) as err:
        parse_frame(frame)
    assert reason in err.value.reason


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)
_fields = {
    "event_type": st.sampled_from(
        [
            "book",
            "price_change",
            "last_trade_price",
            "tick_size_change",
            "best_bid_ask",
            "new_market",
            "market_resolved",
            "other",
        ]
    )
}


def _mutated(base: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda drop, extra, key, val: {**{k: v for k, v in base.items() if k not in drop}, **extra, key: val},
        st.sets(st.sampled_from(sorted(base)), max_size=3),
        st.dictionaries(st.sampled_from(sorted(base)), _json, max_size=2),
        st.sampled_from(sorted(base)),
        _json | st.sampled_from(["1e999", "-0.5", "2", "", "0x", "[]", "inf"]),
    )


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=200),
        st.binary(max_size=100),
        _json.map(json.dumps),
        st.sampled_from([BOOK_BEST_LAST, PRICE_CHANGE, LAST_TRADE, TICK, BBA, RESOLVED])
        .flatmap(_mutated)
        .map(json.dumps),
        st.sampled_from([json.dumps(BOOK_BEST_LAST), json.dumps(PRICE_CHANGE)]).flatmap(
            lambda s: st.integers(0, len(s) - 1).map(lambda n: s[:n])
        ),  # truncated JSON
    )
)
def test_fuzzed_frames_never_raise_anything_but_counted_errors(frame):
    events, errors = decode_frame(frame)
    for ev in events:  # whatever got through is well-formed
        if isinstance(ev, (PriceChange, LastTrade)):
            assert D(0) <= ev.price <= D(1) and ev.size >= 0
    assert all(isinstance(e, FrameError) and e.reason for e in errors)
    decode_spot_frame(frame)  # the spot decoder shares the contract


def test_event_json_round_trip_for_fan_out():
    events = parse_frame(json.dumps([BOOK_BEST_FIRST, PRICE_CHANGE, LAST_TRADE, TICK, BBA, RESOLVED]))
    for ev in events:
        assert event_from_json(event_to_json(ev)) == ev
    with pytest.raises(FrameError):
        event_from_json('{"type": "nope"}')


def test_a_market_and_its_events_share_their_id_strings():
    """The engine looks up and compares a round's ids on every book event: a MarketInfo from any
    source (Gamma, fan-out JSON) holds the same interned strings as the codec's events."""
    (change,) = [ev for ev in parse_frame(json.dumps(PRICE_CHANGE)) if ev.token_id == ASSET]
    built = parse_gamma_market(GAMMA | {"conditionId": MARKET, "clobTokenIds": f'["{ASSET}", "222"]'})
    decoded = event_from_json(event_to_json(NewMarket(built, 0)))
    assert isinstance(decoded, NewMarket)
    for info in (built, decoded.info):
        assert info.market_id is change.market_id and info.down_token_id is change.token_id


# Gamma market, as captured 2026-08-15 (research §1.3 b), with JSON-in-JSON lists
GAMMA = {
    "id": "3598766",
    "question": "Bitcoin Up or Down - August 16, 1:00AM-1:05AM ET",
    "conditionId": "0xabc",
    "slug": "btc-updown-5m-1786856400",
    "startDate": "2026-08-15T05:08:42.831334Z",
    "endDate": "2026-08-16T05:05:00Z",
    "eventStartTime": "2026-08-16T05:00:00Z",
    "outcomes": '["Down", "Up"]',
    "outcomePrices": '["0.495", "0.505"]',
    "clobTokenIds": '["111", "222"]',
    "orderPriceMinTickSize": 0.01,
    "orderMinSize": 5,
    "makerBaseFee": 1000,
    "takerBaseFee": 1000,
    "feesEnabled": True,
    "feeType": "crypto_fees_v2",
    "feeSchedule": {"exponent": 1, "rate": 0.07, "takerOnly": True, "rebateRate": 0.2},
    "negRisk": False,
    "events": [
        {
            "id": "852046",
            "startTime": "2026-08-16T05:00:00Z",
            "seriesSlug": "btc-up-or-down-5m",
            "eventMetadata": {"priceToBeat": 118234.51},
        }
    ],
}


def test_gamma_market_parsing_maps_by_label_and_reads_per_market_fields():
    info = parse_gamma_market(GAMMA)
    assert (info.up_token_id, info.down_token_id) == ("222", "111")  # by label, not index
    assert info.start_ms == 1786856400000 and info.end_ms == 1786856700000 and info.interval == "5m"
    assert (
        info.fee_rate == D("0.07")
        and info.fee_exponent == 1
        and info.tick_size == D("0.01")
        and info.min_size == D("5")
    )
    assert info.price_to_beat == D("118234.51") and not info.neg_risk and info.version == "v1"
    with pytest.raises(MarketNotReady):
        parse_gamma_market({**GAMMA, "clobTokenIds": "[]"})
    # no feeSchedule (Gamma before mid-2026): the round is kept, at the category's documented rate
    assert parse_gamma_market({k: v for k, v in GAMMA.items() if k != "feeSchedule"}).fee_rate == D("0.072")
    with pytest.raises(FrameError, match="Up/Down"):
        parse_gamma_market({**GAMMA, "outcomes": '["Yes", "No"]'})
