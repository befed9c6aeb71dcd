"""Property-based tests: no frame kills the decoder, the book matches a plain model whatever the
order of updates, and the archive stores or dead-letters every event without blocking."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal as D

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradingfloor.market.book import OrderBook
from tradingfloor.market.codec import MAX_FRAME_BYTES, FrameError, decode_frame, decode_spot_frame
from tradingfloor.market.events import BookSnapshot, LastTrade, PriceChange, SpotTick
from tradingfloor.persistence.market_archive import PostgresSink
from tradingfloor.persistence.migrate import migrate

BOUNDED = D(10) ** 12

# JSON values with the venue's keys, so fuzzing reaches the handlers and not just the tag check
KEYS = st.sampled_from(
    ["event_type", "market", "asset_id", "price", "size", "side", "timestamp", "bids", "asks",
     "price_changes", "best_bid", "best_ask", "hash", "slug", "outcomes", "fee_schedule", "rate",
     "winning_outcome", "winning_asset_id", "payload", "symbol", "value", "clob_token_ids"]
)  # fmt: skip
EVENT_TYPES = st.sampled_from(
    ["book", "price_change", "last_trade_price", "tick_size_change", "best_bid_ask", "new_market",
     "market_resolved", "mystery"]
)  # fmt: skip
NUMBERS = st.one_of(
    st.sampled_from(["0.5", "NaN", "Infinity", "-0", "1e999999999", "1e-999999999", "0.5000000000000000000001",
                     "", " 0.5", "0x10", "1_000", "-3", "7.5", "1E+2"]),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(),
)  # fmt: skip
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=20), EVENT_TYPES)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(KEYS, st.text(max_size=5)), children, max_size=6),
    ),
    max_leaves=30,
)
MESSAGES = st.fixed_dictionaries({"event_type": EVENT_TYPES}, optional={k: VALUES for k in
    ["market", "asset_id", "price", "size", "side", "timestamp", "bids", "asks", "price_changes",
     "best_bid", "best_ask", "slug", "outcomes", "fee_schedule", "winning_outcome", "winning_asset_id"]})  # fmt: skip


def _check(events: list, errors: list) -> None:
    assert all(isinstance(e, FrameError) and e.reason and e.kind for e in errors)
    for ev in events:  # whatever passed is sane: finite, in range
        for name in ("price", "size", "best_bid", "best_ask"):
            v = getattr(ev, name, None)
            if v is not None:
                assert v.is_finite() and D(0) <= v <= BOUNDED, (name, v)
        if isinstance(ev, (PriceChange, LastTrade)):
            assert ev.price <= 1 and ev.side in ("BUY", "SELL")


@settings(max_examples=400, deadline=None)
@given(st.one_of(MESSAGES, st.lists(MESSAGES, max_size=4), VALUES))
def test_any_json_frame_decodes_to_sane_events_or_named_errors(frame):
    text = json.dumps(frame)
    _check(*decode_frame(text))
    _check(*decode_frame(text.encode()))
    decode_spot_frame(text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_survived(raw):
    _check(*decode_frame(raw))
    decode_spot_frame(raw)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(min_value=1, max_value=200_000),
    st.sampled_from(["[", '{"a":', '{"event_type":"book","bids":[']),
)
def test_deep_nesting_is_a_counted_rejection_not_a_crash(depth, opener):
    frame = opener * depth + "1" + ("]" if opener == "[" else "}") * depth
    events, errors = decode_frame(frame)
    assert events == [] and errors
    if depth > 5_000:  # beyond any real message: refused as too deep, whatever the opener
        assert errors[0].kind == "too_deep", errors[0].reason


def test_oversized_frames_are_refused_before_parsing():
    events, errors = decode_frame(b" " * (MAX_FRAME_BYTES + 1))
    assert events == [] and errors[0].kind == "too_large"


def test_absurd_numbers_are_refused_at_the_boundary():
    base = {"event_type": "last_trade_price", "market": "m", "asset_id": "a", "side": "BUY", "timestamp": "1"}
    for size in ["1e999999999", "Infinity", "NaN", "1e-999999999", "-1"]:
        events, errors = decode_frame(json.dumps(base | {"price": "0.5", "size": size}))
        assert events == [] and errors[0].kind in {"bad_number", "out_of_range"}, size
    (ev,) = decode_frame(json.dumps(base | {"price": "0.5", "size": "12.5"}))[0]
    assert ev.size * ev.price == D("6.25")  # what a strategy does with it cannot overflow


PRICES = st.integers(min_value=1, max_value=99).map(lambda c: D(c) / 100)
SIZES = st.one_of(st.just(D(0)), st.integers(min_value=1, max_value=10_000).map(lambda n: D(n) / 10))
LEVELS = st.lists(st.tuples(PRICES, SIZES), max_size=12)
CHANGES = st.lists(st.tuples(st.sampled_from(["BUY", "SELL"]), PRICES, SIZES), max_size=60)


@settings(max_examples=300, deadline=None)
@given(LEVELS, LEVELS, CHANGES)
def test_book_matches_a_plain_model_whatever_the_order(bids, asks, changes):
    book = OrderBook("t", "m")
    book.apply_snapshot(BookSnapshot("m", "t", tuple(bids), tuple(asks), 1))
    model = {"BUY": {p: s for p, s in bids if s > 0}, "SELL": {p: s for p, s in asks if s > 0}}
    for i, (side, price, size) in enumerate(changes):
        book.apply_change(PriceChange("m", "t", side, price, size, i + 2))
        if size > 0:
            model[side][price] = size
        else:
            model[side].pop(price, None)
        assert book.best_bid() == max(model["BUY"], default=None)
        assert book.best_ask() == min(model["SELL"], default=None)
    assert book.bids() == sorted(model["BUY"].items(), reverse=True)
    assert book.asks() == sorted(model["SELL"].items())


@settings(max_examples=300, deadline=None)
@given(LEVELS, LEVELS, st.lists(st.tuples(st.sampled_from(["BUY", "SELL"]), PRICES, SIZES, st.booleans())))
def test_the_best_prices_are_right_however_seldom_they_are_read(bids, asks, changes):
    """The book finds its best price again only when read after the best level went: reads at
    random points (none for many changes, then one) see what a plain model says."""
    book = OrderBook("t", "m")
    book.apply_snapshot(BookSnapshot("m", "t", tuple(bids), tuple(asks), 1))
    model = {"BUY": {p: s for p, s in bids if s > 0}, "SELL": {p: s for p, s in asks if s > 0}}
    for i, (side, price, size, read) in enumerate(changes):
        book.apply_change(PriceChange("m", "t", side, D(str(price)), size, i + 2))  # equal, not the same
        if size > 0:
            model[side][price] = size
        else:
            model[side].pop(price, None)
        if read:
            bid, ask = max(model["BUY"], default=None), min(model["SELL"], default=None)
            assert (book.best_bid(), book.best_ask()) == (bid, ask)
            both = bid is not None and ask is not None
            assert book.mid() == ((bid + ask) / 2 if both else None)
            assert book.spread() == (ask - bid if both else None)
            assert book.is_crossed() == (both and bid >= ask)
    assert book.best_bid() == max(model["BUY"], default=None)
    assert book.best_ask() == min(model["SELL"], default=None)


ARCHIVE_EVENTS = st.lists(
    st.one_of(
        st.builds(
            PriceChange,
            market_id=st.text(min_size=1, max_size=8),  # text may hold NUL, which PostgreSQL refuses
            token_id=st.text(min_size=1, max_size=8),
            side=st.sampled_from(["BUY", "SELL"]),
            price=PRICES,
            size=SIZES,
            ts_ms=st.integers(min_value=0, max_value=2**62),  # most of these are beyond any calendar
        ),
        st.builds(
            SpotTick, asset=st.just("BTC"), price=PRICES, ts_ms=st.integers(min_value=0, max_value=4 * 10**12)
        ),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=ARCHIVE_EVENTS)
def test_archive_stores_or_dead_letters_every_event(db_url, events):
    async def run() -> tuple[int, int, int]:
        await migrate(db_url)
        sink = PostgresSink(db_url)
        conn = await asyncpg.connect(db_url)
        try:
            before = await conn.fetchval("SELECT count(*) FROM market_data")
            dead_before = await conn.fetchval("SELECT count(*) FROM market_data_dead_letter")
            await sink.write(events)  # never raises for bad content
            stored = await conn.fetchval("SELECT count(*) FROM market_data") - before
            dead = await conn.fetchval("SELECT count(*) FROM market_data_dead_letter") - dead_before
            return stored, dead, sink.dead_lettered
        finally:
            await sink.close()
            await conn.close()

    stored, dead, counted = asyncio.run(run())
    assert stored + dead == len(events) and dead == counted


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["price", "size", "best_bid"]),
    st.one_of(NUMBERS.map(str), st.just("1e999999999")),
)
def test_fan_out_events_are_held_to_the_decoders_bounds(field, value):
    """A trader decodes the collector's JSON: an absurd number there is refused, never passed on."""
    from tradingfloor.market.codec import event_from_json, event_to_dict

    good = event_to_dict(PriceChange("m", "t", "BUY", D("0.5"), D("10"), 1, D("0.5"), D("0.6")))
    try:
        ev = event_from_json(json.dumps(good | {field: value}))
    except FrameError as exc:
        assert exc.kind in {"schema", "out_of_range", "bad_number"}
    else:
        _check([ev], [])
