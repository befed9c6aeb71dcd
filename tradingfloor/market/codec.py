"""Wire ↔ normalized events.

``decode_frame`` turns one raw Polymarket market-channel frame (a JSON object, a JSON array of
objects, or the plain-text ``PONG`` / ``NO NEW ASSETS``) into normalized events; ``decode_spot_frame``
does the same for the RTDS-shaped spot stream. Frames are parsed straight into the typed schemas of
``tradingfloor.market.venue_messages`` (msgspec), then numbers are checked here at the boundary:
finite, prices in [0, 1], sizes and spot values within sane bounds, at most ``MAX_DECIMALS``
places. Nothing raises on bad input except through ``FrameError``, whose ``reason`` names what is
wrong and whose ``kind`` is a short label for counting rejections; an array with one bad element
still yields the others. No frame can crash the caller: oversized frames, deep nesting, absurd
numbers and wrong types all become a ``FrameError``.

``event_to_json`` / ``event_from_json`` are the fan-out and storage encoding (Redis, PostgreSQL
``payload``): a flat JSON object with a ``type`` tag and decimals as strings, so nothing is lost.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from sys import intern
from typing import Any

import msgspec

from tradingfloor.market import venue_messages as vm
from tradingfloor.market.events import (
    BestBidAsk,
    BookSnapshot,
    LastTrade,
    MarketEvent,
    MarketInfo,
    MarketResolved,
    NewMarket,
    PriceChange,
    RoundListed,
    SpotTick,
    TickSizeChange,
)

CONTROL_FRAMES = frozenset({"PONG", "NO NEW ASSETS", "PING"})
UPDOWN_SLUG = re.compile(r"^(?P<asset>[a-z]+)-updown-(?P<interval>\d+[mhd])-(?P<start>\d+)$")
SPOT_SYMBOLS = {
    "btcusdt": "BTC",
    "ethusdt": "ETH",
    "btc/usd": "BTC",
    "eth/usd": "ETH",
    "btcusd": "BTC",
    "ethusd": "ETH",
}
# Feeds whose values are fixed-point integers: the legacy TWAP topics carry 18 decimals.
SPOT_SCALE = {"crypto_prices_twap_sixty": 18, "crypto_prices_twap_thirty": 18}
MAX_FRAME_BYTES = 16 * 1024 * 1024  # an initial dump of 500 full books is a few MB
MAX_SIZE = Decimal(10) ** 12  # shares (or asset units); nothing real comes close
MAX_SPOT = Decimal(10) ** 9
MAX_DECIMALS = 18
MAX_TS_MS = 10**14  # year 5138: a timestamp beyond is garbage, not a time
_ONE = Decimal(1)
_ZERO = Decimal(0)


class FrameError(ValueError):
    """A frame (or one element of it) that cannot be turned into events.

    ``reason`` says why in words; ``kind`` is a short stable label for counting rejections
    (``not_json``, ``too_large``, ``too_deep``, ``schema``, ``unknown_event``, ``bad_number``,
    ``out_of_range``, ``bad_value``, ``not_utf8``)."""

    def __init__(self, reason: str, raw: Any = None, kind: str = "bad_value") -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw
        self.kind = kind


# -- numbers ------------------------------------------------------------------------------------
# One Decimal per distinct wire string, validated once. A recording of a day holds ~100k distinct
# numbers; the cache is cleared when it outgrows that (clearing only costs re-parsing).

_CACHE_LIMIT = 1 << 18
_PRICES: dict[str, Decimal] = {}
_SIZES: dict[str, Decimal] = {}


def _parse(value: Any, name: str) -> Decimal:
    if type(value) is str:
        try:
            d = Decimal(value)
        except InvalidOperation:
            raise FrameError(f"{name} is not a number: {value[:40]!r}", kind="bad_number") from None
    elif type(value) is float or type(value) is int:
        d = Decimal(repr(value)) if type(value) is float else Decimal(value)
    else:
        raise FrameError(f"{name} must be a decimal string, got {type(value).__name__}", kind="schema")
    if not d.is_finite():
        raise FrameError(f"{name} is not finite: {str(value)[:40]!r}", kind="bad_number")
    exponent = d.as_tuple().exponent
    if type(exponent) is int and exponent < -MAX_DECIMALS:
        raise FrameError(
            f"{name} has more than {MAX_DECIMALS} decimal places: {str(value)[:40]!r}", kind="bad_number"
        )
    return d


def _price(value: Any, name: str = "price") -> Decimal:
    d = _PRICES.get(value) if type(value) is str else None
    if d is not None:
        return d
    d = _parse(value, name)
    if d < _ZERO or d > _ONE:
        raise FrameError(f"{name} {d} is outside [0, 1]", kind="out_of_range")
    if type(value) is str:
        if len(_PRICES) >= _CACHE_LIMIT:
            _PRICES.clear()
        _PRICES[value] = d
    return d


def _size(value: Any, name: str = "size") -> Decimal:
    d = _SIZES.get(value) if type(value) is str else None
    if d is not None:
        return d
    d = _parse(value, name)
    if d < _ZERO:
        raise FrameError(f"{name} {d} is negative", kind="out_of_range")
    if d > MAX_SIZE:
        raise FrameError(f"{name} {d} is absurdly large (over {MAX_SIZE:.0E})", kind="out_of_range")
    if type(value) is str:
        if len(_SIZES) >= _CACHE_LIMIT:
            _SIZES.clear()
        _SIZES[value] = d
    return d


def _opt_price(value: Any, name: str) -> Decimal | None:
    return None if value is None or value == "" else _price(value, name)


def to_decimal(value: Any, name: str) -> Decimal:
    """A finite Decimal from a JSON string or number (for other readers of venue JSON: Gamma,
    CLOB REST); raises ``FrameError`` naming ``name``."""
    if type(value) is bool:
        raise FrameError(f"{name} must be a number, got a boolean", kind="schema")
    return _parse(value, name)


def _ts(value: Any, name: str = "timestamp") -> int:
    if type(value) is int:
        ts = value
    elif type(value) is str and value.isdigit() and value.isascii():
        ts = int(value)
    else:
        raise FrameError(f"{name} must be integer milliseconds, got {value!r}"[:120], kind="bad_value")
    if ts < 0 or ts > MAX_TS_MS:
        raise FrameError(f"{name} {ts} is not a plausible ms timestamp", kind="out_of_range")
    return ts


def _json_list(value: Any, name: str) -> list:
    """Gamma sends lists as JSON strings inside JSON; the market channel sends lists: accept both."""
    if type(value) is str:
        try:
            value = msgspec.json.decode(value)
        except (msgspec.DecodeError, RecursionError):
            raise FrameError(f"{name} is not a JSON list: {value[:60]!r}", kind="bad_value") from None
    if type(value) is not list:
        raise FrameError(f"{name} must be a list", kind="schema")
    return value


# -- market channel -----------------------------------------------------------------------------


def _levels(levels: list[vm.Level], name: str) -> tuple[tuple[Decimal, Decimal], ...]:
    pget, sget = _PRICES.get, _SIZES.get
    out = []
    for lv in levels:
        p, s = lv.price, lv.size
        dp = pget(p) if type(p) is str else None
        if dp is None:
            dp = _price(p, name)
        ds = sget(s) if type(s) is str else None
        if ds is None:
            ds = _size(s, name)
        out.append((dp, ds))
    return tuple(out)


# Market and token ids repeat on every event: decoded, each would be a fresh ~120-byte string per
# event (most of a pre-built event's memory). Interned, every event of a token shares one string;
# CPython drops an interned string once nothing refers to it, so the table does not grow forever.


def _book(m: vm.BookMsg) -> list[MarketEvent]:
    tick = m.tick_size
    return [
        BookSnapshot(
            intern(m.market),
            intern(m.asset_id),
            _levels(m.bids, "bids"),
            _levels(m.asks, "asks"),
            _ts(m.timestamp),
            m.hash,
            None if tick is None or tick == "" else _price(tick, "tick_size"),
        )
    ]


def _price_change(m: vm.PriceChangeMsg) -> list[MarketEvent]:
    market = intern(m.market)
    ts = _ts(m.timestamp)
    entries = m.price_changes
    if entries is None:  # the pre-2025-09 shape: one asset, "changes", no best prices
        if m.changes is None or m.asset_id is None:
            raise FrameError("price_change without a price_changes list", kind="schema")
        asset = intern(m.asset_id)
        return [PriceChange(market, asset, c.side, _price(c.price), _size(c.size), ts) for c in m.changes]
    # the hot loop of every replay: cache hits inline, a call only for a number not seen before
    pget, sget = _PRICES.get, _SIZES.get
    out: list[MarketEvent] = []
    append = out.append
    for e in entries:
        p, s, bb, ba = e.price, e.size, e.best_bid, e.best_ask
        dp = pget(p) if type(p) is str else None
        if dp is None:
            dp = _price(p)
        ds = sget(s) if type(s) is str else None
        if ds is None:
            ds = _size(s)
        if bb is not None:
            dbb = pget(bb) if type(bb) is str else None
            if dbb is None:
                dbb = None if bb == "" else _price(bb, "best_bid")
        else:
            dbb = None
        if ba is not None:
            dba = pget(ba) if type(ba) is str else None
            if dba is None:
                dba = None if ba == "" else _price(ba, "best_ask")
        else:
            dba = None
        append(PriceChange(market, intern(e.asset_id), e.side, dp, ds, ts, dbb, dba))
    return out


def _last_trade(m: vm.LastTradeMsg) -> list[MarketEvent]:
    fee = m.fee_rate_bps
    fee_bps = 0
    if fee is not None and fee != "":
        fee_dec = _parse(fee, "fee_rate_bps")
        if fee_dec != fee_dec.to_integral_value() or not 0 <= fee_dec <= 10_000:
            raise FrameError(
                f"fee_rate_bps is not an integer in [0, 10000]: {fee!r}"[:80], kind="out_of_range"
            )
        fee_bps = int(fee_dec)
    return [
        LastTrade(
            intern(m.market),
            intern(m.asset_id),
            _price(m.price),
            _size(m.size),
            m.side,
            _ts(m.timestamp),
            fee_bps,
        )
    ]


def _tick_change(m: vm.TickSizeChangeMsg) -> list[MarketEvent]:
    return [
        TickSizeChange(
            m.market,
            m.asset_id,
            _price(m.old_tick_size, "old_tick_size"),
            _price(m.new_tick_size, "new_tick_size"),
            _ts(m.timestamp),
        )
    ]


def _best_bid_ask(m: vm.BestBidAskMsg) -> list[MarketEvent]:
    return [
        BestBidAsk(
            m.market,
            m.asset_id,
            _opt_price(m.best_bid, "best_bid"),
            _opt_price(m.best_ask, "best_ask"),
            _ts(m.timestamp),
        )
    ]


def _resolved(m: vm.MarketResolvedMsg) -> list[MarketEvent]:
    outcome = m.winning_outcome
    if outcome not in ("Up", "Down"):
        return []  # another family's resolution (Yes/No, a team…): not ours, not an error
    final = m.final_price
    return [
        MarketResolved(
            m.market,
            m.winning_asset_id,
            outcome,  # type: ignore[arg-type]  # "Up" or "Down", checked just above
            _ts(m.timestamp),
            None if final is None or final == "" else _size(final, "final_price"),
        )
    ]


def interval_ms(interval: str) -> int:
    units = {"m": 60_000, "h": 3_600_000, "d": 86_400_000}
    try:
        return int(interval[:-1]) * units[interval[-1]]
    except (KeyError, ValueError, IndexError):
        raise ValueError(f"interval must look like 5m, 15m, 1h; got {interval!r}") from None


def map_outcomes(outcomes: Any, token_ids: Any, where: str) -> tuple[str, str]:
    """(up_token, down_token) by label, never by index."""
    labels = _json_list(outcomes, "outcomes")
    tokens = _json_list(token_ids, "token ids")
    if len(labels) != len(tokens):
        raise FrameError(f"{where}: {len(labels)} outcomes but {len(tokens)} token ids")
    by_label = {str(label).strip().lower(): str(tok) for label, tok in zip(labels, tokens, strict=False)}
    up, down = by_label.get("up"), by_label.get("down")
    if not up or not down:
        raise FrameError(f"{where}: outcomes {labels!r} are not Up/Down or token ids are empty")
    return up, down


def _new_market(m: vm.NewMarketMsg) -> list[MarketEvent]:
    """A round of ours becomes a ``RoundListed`` (the venue omits what a ``MarketInfo`` needs), or
    a ``NewMarket`` when the message carries everything (recordings of the older simulator)."""
    match = UPDOWN_SLUG.match(m.slug)
    if match is None or match["asset"].upper() not in ("BTC", "ETH"):
        return []  # another family's listing: not ours, not an error
    slug = m.slug
    asset = match["asset"].upper()
    interval = match["interval"]
    up, down = map_outcomes(
        m.outcomes, m.clob_token_ids if m.clob_token_ids is not None else m.assets_ids, slug
    )
    start_ms = int(match["start"]) * 1000
    ts = _ts(m.timestamp)
    tick = m.order_price_min_tick_size
    tick_size = None if tick is None or tick == "" else _price(tick, "order_price_min_tick_size")
    fee_rate: Decimal | None = None
    fee_exponent: int | None = None
    if m.fee_schedule is not None:
        fee_rate = _price(m.fee_schedule.rate, "fee_schedule.rate")
        exp = m.fee_schedule.exponent
        exp_dec = _parse(exp, "fee_schedule.exponent") if exp is not None else _ONE
        if exp_dec != exp_dec.to_integral_value() or not 0 <= exp_dec <= 8:
            raise FrameError(
                f"fee_schedule.exponent is not a small integer: {exp!r}"[:80], kind="out_of_range"
            )
        fee_exponent = int(exp_dec)
    elif m.fees_enabled is False:
        fee_rate, fee_exponent = _ZERO, 1
    if m.order_min_size is not None and tick_size is not None and fee_rate is not None:
        ptb = m.price_to_beat
        info = MarketInfo(
            market_id=m.market,
            slug=slug,
            asset=asset,  # type: ignore[arg-type]  # checked against the slug pattern above
            interval=interval,
            up_token_id=up,
            down_token_id=down,
            start_ms=start_ms,
            end_ms=_ts(m.end_ms, "end_ms") if m.end_ms is not None else start_ms + interval_ms(interval),
            tick_size=tick_size,
            min_size=_size(m.order_min_size, "order_min_size"),
            fee_rate=fee_rate,
            fee_exponent=fee_exponent if fee_exponent is not None else 1,
            price_to_beat=None if ptb is None or ptb == "" else _size(ptb, "price_to_beat"),
        )
        return [NewMarket(info, ts)]
    return [
        RoundListed(
            m.market,
            slug,
            asset,  # type: ignore[arg-type]  # checked against the slug pattern above
            interval,
            up,
            down,
            start_ms,
            ts,
            tick_size,
            fee_rate,
            fee_exponent,
        )
    ]


_HANDLERS: dict[type, Any] = {
    vm.PriceChangeMsg: _price_change,
    vm.BookMsg: _book,
    vm.LastTradeMsg: _last_trade,
    vm.BestBidAskMsg: _best_bid_ask,
    vm.TickSizeChangeMsg: _tick_change,
    vm.NewMarketMsg: _new_market,
    vm.MarketResolvedMsg: _resolved,
}


_UNKNOWN_TAG = re.compile(r"Invalid value (?P<tag>.*) - at `\$(\[\d+\])?\.event_type`")


def _schema_error(exc: msgspec.ValidationError) -> FrameError:
    """msgspec's message, said the way a reader of this feed needs it."""
    text = str(exc)
    unknown = _UNKNOWN_TAG.match(text)
    if unknown:
        return FrameError(f"unknown event_type {unknown['tag'][:60]}", kind="unknown_event")
    if "`event_type`" in text:
        return FrameError("message without an event_type", kind="unknown_event")
    if text.startswith("Expected") and " - at `" not in text:  # the top level has the wrong type
        return FrameError(f"message must be an object or a list of objects ({text})"[:200], kind="schema")
    return FrameError(text[:200], kind="schema")


def _events_of(msg: Any) -> list[MarketEvent]:
    try:
        return _HANDLERS[type(msg)](msg)
    except FrameError as exc:
        raise FrameError(f"{msg.__struct_config__.tag}: {exc.reason}", kind=exc.kind) from None
    except (TypeError, ValueError, ArithmeticError) as exc:  # belt and braces: never crash
        raise FrameError(f"{type(exc).__name__}: {exc}"[:200], kind="bad_value") from None


def decode_message(obj: Any) -> list[MarketEvent]:
    """One already-parsed market-channel message (e.g. a REST body given an ``event_type``)."""
    if type(obj) is not dict:
        raise FrameError(f"message must be an object, got {type(obj).__name__}", kind="schema")
    try:
        msg = msgspec.convert(obj, vm.MarketMessage, strict=True)
    except msgspec.ValidationError as exc:
        raise _schema_error(exc) from None
    except RecursionError:
        raise FrameError("message is nested too deeply", kind="too_deep") from None
    return _events_of(msg)


def _bytes_of(raw: str | bytes | memoryview) -> bytes | str:
    return bytes(raw) if isinstance(raw, memoryview) else raw


def decode_frame(raw: str | bytes | memoryview) -> tuple[list[MarketEvent], list[FrameError]]:
    """All events a frame holds, plus one error per part that could not be read."""
    data = _bytes_of(raw)
    if len(data) > MAX_FRAME_BYTES:
        return [], [FrameError(f"frame of {len(data):,} bytes exceeds {MAX_FRAME_BYTES:,}", kind="too_large")]
    if len(data) < 16 and data.strip() in _CONTROL_ANY:
        return [], []
    try:
        decoded = vm.market_frame_decoder.decode(data)
    except msgspec.ValidationError:
        return _decode_items(data)  # one bad element must not take the others down
    except msgspec.DecodeError as exc:
        return [], [_not_json(data, exc)]
    except RecursionError:
        return [], [FrameError("frame is nested too deeply", raw=raw, kind="too_deep")]
    items = decoded if type(decoded) is list else (decoded,)
    events: list[MarketEvent] = []
    errors: list[FrameError] = []
    for msg in items:
        try:
            events += _events_of(msg)
        except FrameError as exc:
            exc.raw = msg
            errors.append(exc)
    return events, errors


def _not_json(data: bytes | str, exc: Exception) -> FrameError:
    if isinstance(data, bytes):
        try:
            data.decode()
        except UnicodeDecodeError:
            return FrameError("frame is not UTF-8", raw=data[:200], kind="not_utf8")
    return FrameError(f"not JSON: {exc}"[:200], raw=data[:200], kind="not_json")


_CONTROL_ANY = frozenset([*CONTROL_FRAMES, *(c.encode() for c in CONTROL_FRAMES)])


def _decode_items(data: bytes | str) -> tuple[list[MarketEvent], list[FrameError]]:
    """The slow path for a frame that failed its schema: each element on its own."""
    try:
        parts = vm.raw_list_decoder.decode(data)
    except msgspec.ValidationError:
        parts = [msgspec.Raw(data.encode() if isinstance(data, str) else data)]
    except (msgspec.DecodeError, RecursionError):
        return [], [FrameError("frame is nested too deeply", kind="too_deep")]
    events: list[MarketEvent] = []
    errors: list[FrameError] = []
    for part in parts:
        try:
            msg = vm.market_message_decoder.decode(part)
            events += _events_of(msg)
        except msgspec.ValidationError as exc:
            err = _schema_error(exc)
            err.raw = bytes(part)[:500]
            errors.append(err)
        except RecursionError:
            errors.append(FrameError("message is nested too deeply", raw=bytes(part)[:200], kind="too_deep"))
        except FrameError as exc:
            exc.raw = bytes(part)[:500]
            errors.append(exc)
    return events, errors


def parse_frame(raw: str | bytes) -> list[MarketEvent]:
    """Like ``decode_frame`` but strict: raises the first ``FrameError``."""
    events, errors = decode_frame(raw)
    if errors:
        raise errors[0]
    return events


# -- spot stream (RTDS ``crypto_prices`` shape) -------------------------------------------------


def _spot_value(value: Any, scale: int, name: str) -> Decimal:
    price = _parse(value, name)
    if scale:
        price = price.scaleb(-scale)
    if price <= _ZERO or price > MAX_SPOT:
        raise FrameError(f"spot {name} {price} is outside (0, {MAX_SPOT:.0E}]", kind="out_of_range")
    return price


def _spot_point(asset: str, p: vm.SpotPoint | vm.SpotPayload, scale: int) -> SpotTick:
    value = p.full_accuracy_value if p.full_accuracy_value is not None else p.value
    if value is None:
        raise FrameError("spot point without a value", kind="schema")
    vol = p.volume
    return SpotTick(
        asset,  # type: ignore[arg-type]  # a SPOT_SYMBOLS value: BTC or ETH
        _spot_value(value, scale, "value"),
        _ts(p.timestamp),
        _size(vol, "volume") if vol is not None and vol != "" else _ZERO,
    )


def decode_spot_frame(raw: str | bytes | memoryview) -> tuple[list[SpotTick], list[FrameError]]:
    data = _bytes_of(raw)
    if len(data) > MAX_FRAME_BYTES:
        return [], [FrameError(f"frame of {len(data):,} bytes exceeds {MAX_FRAME_BYTES:,}", kind="too_large")]
    if len(data) < 16 and data.strip() in _CONTROL_ANY:
        return [], []
    try:
        msg = vm.spot_decoder.decode(data)
    except msgspec.ValidationError as exc:
        return [], [FrameError(f"spot: {exc}"[:200], kind="schema")]
    except msgspec.DecodeError as exc:
        return [], [_not_json(data, exc)]
    except RecursionError:
        return [], [FrameError("spot frame is nested too deeply", kind="too_deep")]
    payload = msg.payload
    asset = SPOT_SYMBOLS.get(payload.symbol.lower())
    if asset is None:
        return [], [FrameError(f"unknown spot symbol {payload.symbol!r}"[:60], kind="bad_value")]
    scale = SPOT_SCALE.get(msg.topic or "", 0)
    try:
        if payload.data is not None:  # the subscribe snapshot: a history list
            return [_spot_point(asset, p, scale) for p in payload.data], []
        if payload.timestamp is None:
            raise FrameError("spot update without a timestamp", kind="schema")
        return [_spot_point(asset, payload, scale)], []
    except FrameError as exc:
        return [], [exc]
    except (TypeError, ValueError, ArithmeticError) as exc:
        return [], [FrameError(f"spot: {type(exc).__name__}: {exc}"[:200], kind="bad_value")]


# -- fan-out / storage encoding -----------------------------------------------------------------
# The events' own msgspec tags (``type``) and fields: decimals as strings, levels as [price, size]
# pairs, NewMarket's info as an object. Stored rows written before this encoder (same shape, any
# key order) decode unchanged.

_event_encoder = msgspec.json.Encoder(decimal_format="string")
_event_decoder = msgspec.json.Decoder(MarketEvent)


def event_to_dict(event: MarketEvent) -> dict:
    out: dict = msgspec.to_builtins(event)
    return out


def event_to_json(event: MarketEvent) -> str:
    return _event_encoder.encode(event).decode()


def event_to_bytes(event: MarketEvent) -> bytes:
    return _event_encoder.encode(event)


def event_from_json(data: str | bytes | dict) -> MarketEvent:
    """Inverse of ``event_to_json``; raises ``FrameError`` naming what is wrong. The numbers are
    held to the same bounds as the venue decoder's, so whatever a reader of the fan-out gets
    (a trader, the archive) cannot overflow its arithmetic, whoever wrote the message."""
    try:
        if isinstance(data, dict):
            event: MarketEvent = msgspec.convert(data, MarketEvent)
        else:
            event = _event_decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise FrameError(f"bad event JSON: {exc}"[:200], kind="schema") from None
    except msgspec.DecodeError as exc:
        raise FrameError(f"bad event JSON: {exc}"[:200], kind="not_json") from None
    except RecursionError:
        raise FrameError("event JSON is nested too deeply", kind="too_deep") from None
    _check_event(event)
    return event


_PRICE_FIELDS = ("price", "best_bid", "best_ask", "old_tick_size", "new_tick_size", "tick_size")


def _check_event(ev: MarketEvent) -> None:
    """The decoder's bounds, for an event that arrives already normalized."""
    tag = type(ev).__struct_config__.tag
    if isinstance(ev, SpotTick):
        _in_bounds(ev.price, _ZERO, MAX_SPOT, "spot.price")
        _in_bounds(ev.volume, _ZERO, MAX_SIZE, "spot.volume")
        return
    for name in _PRICE_FIELDS:
        value = getattr(ev, name, None)
        if value is not None:
            _in_bounds(value, _ZERO, _ONE, f"{tag}.{name}")
    size = getattr(ev, "size", None)
    if size is not None:
        _in_bounds(size, _ZERO, MAX_SIZE, f"{tag}.size")
    if isinstance(ev, BookSnapshot):
        for side in (ev.bids, ev.asks):
            for price, amount in side:
                _in_bounds(price, _ZERO, _ONE, f"{tag}.level price")
                _in_bounds(amount, _ZERO, MAX_SIZE, f"{tag}.level size")
    elif isinstance(ev, NewMarket):
        info = ev.info
        _in_bounds(info.tick_size, _ZERO, _ONE, "new_market.tick_size")
        _in_bounds(info.min_size, _ZERO, MAX_SIZE, "new_market.min_size")
        _in_bounds(info.fee_rate, _ZERO, _ONE, "new_market.fee_rate")
        if info.price_to_beat is not None:
            _in_bounds(info.price_to_beat, _ZERO, MAX_SPOT, "new_market.price_to_beat")
    elif isinstance(ev, MarketResolved) and ev.final_price is not None:
        _in_bounds(ev.final_price, _ZERO, MAX_SPOT, "market_resolved.final_price")


def _in_bounds(value: Decimal, low: Decimal, high: Decimal, name: str) -> None:
    if not value.is_finite() or not low <= value <= high:
        raise FrameError(f"{name} {str(value)[:40]} is outside [{low}, {high:.0E}]", kind="out_of_range")
    exponent = value.as_tuple().exponent
    if type(exponent) is int and exponent < -MAX_DECIMALS:
        raise FrameError(f"{name} has more than {MAX_DECIMALS} decimal places", kind="bad_number")


def event_token(event: MarketEvent) -> str | None:
    return getattr(event, "token_id", None)


def event_market(event: MarketEvent) -> str | None:
    if isinstance(event, NewMarket):
        return event.info.market_id
    return getattr(event, "market_id", None)


__all__ = [
    "CONTROL_FRAMES",
    "FrameError",
    "decode_frame",
    "decode_message",
    "decode_spot_frame",
    "event_from_json",
    "event_market",
    "event_to_dict",
    "event_to_json",
    "event_token",
    "interval_ms",
    "map_outcomes",
    "parse_frame",
    "to_decimal",
]
