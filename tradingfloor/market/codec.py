"""Wire ↔ normalized events.

``decode_frame`` turns one raw Polymarket market-channel frame (a JSON object, a JSON array of
objects, or the plain-text ``PONG`` / ``NO NEW ASSETS``) into normalized events; ``decode_spot_frame``
does the same for the RTDS-shaped spot stream. Nothing here raises on bad input except through
``FrameError``, which names what is wrong; an array with one bad element still yields the others.

``event_to_json`` / ``event_from_json`` are the fan-out and storage encoding (Redis, PostgreSQL
``payload``): a flat JSON object with a ``type`` tag and decimals as strings, so nothing is lost.
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing
from decimal import Decimal, InvalidOperation
from typing import Any

from tradingfloor.market.events import (
    Asset,
    BestBidAsk,
    BookSnapshot,
    LastTrade,
    MarketEvent,
    MarketInfo,
    MarketResolved,
    NewMarket,
    PriceChange,
    Side,
    SpotTick,
    TickSizeChange,
)

CONTROL_FRAMES = frozenset({"PONG", "NO NEW ASSETS", "PING"})
UPDOWN_SLUG = re.compile(r"^(?P<asset>[a-z]+)-updown-(?P<interval>\d+[mhd])-(?P<start>\d+)$")
_ASSETS: dict[str, Asset] = {"BTC": "BTC", "ETH": "ETH"}
SPOT_SYMBOLS: dict[str, Asset] = {
    "btcusdt": "BTC",
    "ethusdt": "ETH",
    "btc/usd": "BTC",
    "eth/usd": "ETH",
    "btcusd": "BTC",
    "ethusd": "ETH",
}
_ONE = Decimal(1)
_ZERO = Decimal(0)


class FrameError(ValueError):
    """A frame (or one element of it) that cannot be turned into events; ``reason`` says why."""

    def __init__(self, reason: str, raw: Any = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw


# -- field readers ----------------------------------------------------------------------------

_DEC_CACHE: dict[str, Decimal] = {}


def _dec(value: Any, name: str) -> Decimal:
    """A finite Decimal from a JSON string or number; prices repeat, so strings are cached."""
    if type(value) is str:
        d = _DEC_CACHE.get(value)
        if d is not None:
            return d
        try:
            d = Decimal(value)
        except InvalidOperation:
            raise FrameError(f"{name} is not a number: {value[:40]!r}") from None
        if not d.is_finite():
            raise FrameError(f"{name} is not finite: {value[:40]!r}")
        if len(_DEC_CACHE) > 50_000:
            _DEC_CACHE.clear()
        _DEC_CACHE[value] = d
        return d
    if type(value) in (int, float):
        d = Decimal(str(value))
        if not d.is_finite():
            raise FrameError(f"{name} is not finite: {value!r}")
        return d
    raise FrameError(f"{name} must be a decimal string, got {type(value).__name__}")


def _price(value: Any, name: str = "price") -> Decimal:
    d = _dec(value, name)
    if d < _ZERO or d > _ONE:
        raise FrameError(f"{name} {d} is outside [0, 1]")
    return d


def _size(value: Any, name: str = "size") -> Decimal:
    d = _dec(value, name)
    if d < _ZERO:
        raise FrameError(f"{name} {d} is negative")
    return d


def _opt_price(obj: dict, key: str) -> Decimal | None:
    v = obj.get(key)
    return None if v in (None, "") else _price(v, key)


def _str(obj: dict, key: str) -> str:
    v = obj.get(key)
    if type(v) is not str or not v:
        raise FrameError(f"missing or non-string field {key!r}")
    return v


def _ts(obj: dict, key: str = "timestamp") -> int:
    v = obj.get(key)
    if type(v) is str and v.isdigit():
        return int(v)
    if type(v) is int and v >= 0:
        return v
    raise FrameError(f"{key} must be integer milliseconds, got {v!r}"[:120])


def _side(obj: dict[str, Any]) -> Side:
    v = obj.get("side")
    if v == "BUY" or v == "SELL":
        return v
    raise FrameError(f"side must be BUY or SELL, got {v!r}"[:80])


def _json_list(value: Any, name: str) -> list:
    """Gamma and new_market send lists as JSON strings inside JSON; accept both."""
    if type(value) is str:
        try:
            value = json.loads(value)
        except ValueError:
            raise FrameError(f"{name} is not a JSON list: {value[:60]!r}") from None
    if type(value) is not list:
        raise FrameError(f"{name} must be a list")
    return value


def _levels(value: Any, name: str) -> tuple[tuple[Decimal, Decimal], ...]:
    if type(value) is not list:
        raise FrameError(f"{name} must be a list of levels")
    out = []
    for lvl in value:
        if type(lvl) is not dict:
            raise FrameError(f"{name} level must be an object")
        out.append((_price(lvl.get("price"), f"{name}.price"), _size(lvl.get("size"), f"{name}.size")))
    return tuple(out)


# -- market channel ---------------------------------------------------------------------------


def _book(o: dict) -> list[MarketEvent]:
    tick = o.get("tick_size")
    return [
        BookSnapshot(
            market_id=_str(o, "market"),
            token_id=_str(o, "asset_id"),
            bids=_levels(o.get("bids"), "bids"),
            asks=_levels(o.get("asks"), "asks"),
            ts_ms=_ts(o),
            hash=o.get("hash") if type(o.get("hash")) is str else None,
            tick_size=None if tick in (None, "") else _price(tick, "tick_size"),
        )
    ]


def _price_change(o: dict) -> list[MarketEvent]:
    market = _str(o, "market")
    ts = _ts(o)
    entries = o.get("price_changes")
    legacy_asset = None
    if entries is None:  # the pre-2025-09 shape: one asset, "changes" without best prices
        entries = o.get("changes")
        legacy_asset = _str(o, "asset_id")
    if type(entries) is not list:
        raise FrameError("price_change without a price_changes list")
    out: list[MarketEvent] = []
    for e in entries:
        if type(e) is not dict:
            raise FrameError("price_changes entry must be an object")
        h = e.get("hash")
        out.append(
            PriceChange(
                market_id=market,
                token_id=legacy_asset or _str(e, "asset_id"),
                side=_side(e),
                price=_price(e.get("price")),
                size=_size(e.get("size")),
                ts_ms=ts,
                best_bid=_opt_price(e, "best_bid"),
                best_ask=_opt_price(e, "best_ask"),
                hash=h if type(h) is str else None,
            )
        )
    return out


def _last_trade(o: dict) -> list[MarketEvent]:
    fee = o.get("fee_rate_bps", 0)
    try:
        fee_bps = int(fee) if type(fee) in (str, int) else 0
    except ValueError:
        raise FrameError(f"fee_rate_bps is not an integer: {fee!r}"[:80]) from None
    return [
        LastTrade(
            market_id=_str(o, "market"),
            token_id=_str(o, "asset_id"),
            price=_price(o.get("price")),
            size=_size(o.get("size")),
            side=_side(o),
            ts_ms=_ts(o),
            fee_rate_bps=fee_bps,
        )
    ]


def _tick_change(o: dict) -> list[MarketEvent]:
    return [
        TickSizeChange(
            market_id=_str(o, "market"),
            token_id=_str(o, "asset_id"),
            old_tick_size=_price(o.get("old_tick_size"), "old_tick_size"),
            new_tick_size=_price(o.get("new_tick_size"), "new_tick_size"),
            ts_ms=_ts(o),
        )
    ]


def _best_bid_ask(o: dict) -> list[MarketEvent]:
    return [
        BestBidAsk(
            market_id=_str(o, "market"),
            token_id=_str(o, "asset_id"),
            best_bid=_opt_price(o, "best_bid"),
            best_ask=_opt_price(o, "best_ask"),
            ts_ms=_ts(o),
        )
    ]


def _resolved(o: dict) -> list[MarketEvent]:
    outcome = o.get("winning_outcome")
    if outcome not in ("Up", "Down"):
        raise FrameError(f"winning_outcome must be Up or Down, got {outcome!r}"[:80])
    final = o.get("final_price")
    return [
        MarketResolved(
            market_id=_str(o, "market"),
            winning_token_id=_str(o, "winning_asset_id"),
            winning_outcome=outcome,
            ts_ms=_ts(o),
            final_price=None if final in (None, "") else _dec(final, "final_price"),
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


def _fee_schedule(o: dict, key: str) -> tuple[Decimal, int]:
    fs = o.get(key)
    if type(fs) is not dict:
        raise FrameError(f"missing fee schedule {key!r}")
    try:
        exponent = int(fs.get("exponent", 1))
    except (TypeError, ValueError):
        raise FrameError("fee schedule exponent is not an integer") from None
    return _dec(fs.get("rate"), "feeSchedule.rate"), exponent


def _new_market(o: dict) -> list[MarketEvent]:
    slug = o.get("slug")
    m = UPDOWN_SLUG.match(slug) if type(slug) is str else None
    asset = _ASSETS.get(m["asset"].upper()) if m is not None else None
    if m is None or asset is None or not isinstance(slug, str):
        return []  # another family's listing: not ours, not an error
    up, down = map_outcomes(o.get("outcomes"), o.get("clob_token_ids", o.get("assets_ids")), slug)
    rate, exponent = _fee_schedule(o, "fee_schedule")
    start_ms = int(m["start"]) * 1000
    ptb = o.get("price_to_beat")
    info = MarketInfo(
        market_id=_str(o, "market"),
        slug=slug,
        asset=asset,
        interval=m["interval"],
        up_token_id=up,
        down_token_id=down,
        start_ms=start_ms,
        end_ms=_ts(o, "end_ms") if "end_ms" in o else start_ms + interval_ms(m["interval"]),
        tick_size=_price(o.get("order_price_min_tick_size"), "order_price_min_tick_size"),
        min_size=_size(o.get("order_min_size"), "order_min_size"),
        fee_rate=rate,
        fee_exponent=exponent,
        neg_risk=bool(o.get("neg_risk", False)),
        version=str(o.get("version", "v1")),
        price_to_beat=None if ptb in (None, "") else _dec(ptb, "price_to_beat"),
    )
    return [NewMarket(info=info, ts_ms=_ts(o))]


_HANDLERS = {
    "book": _book,
    "price_change": _price_change,
    "last_trade_price": _last_trade,
    "tick_size_change": _tick_change,
    "best_bid_ask": _best_bid_ask,
    "new_market": _new_market,
    "market_resolved": _resolved,
}


def _loads(raw: str | bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FrameError(f"not JSON: {exc}") from None


def decode_message(obj: Any) -> list[MarketEvent]:
    """One already-parsed market-channel message."""
    if type(obj) is not dict:
        raise FrameError(f"message must be an object, got {type(obj).__name__}")
    kind = obj.get("event_type")
    handler = _HANDLERS.get(kind) if type(kind) is str else None
    if handler is None:
        raise FrameError(f"unknown event_type {kind!r}"[:80])
    try:
        return handler(obj)
    except FrameError as exc:
        raise FrameError(f"{kind}: {exc.reason}") from None
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:  # belt and braces: never crash
        raise FrameError(f"{kind}: {type(exc).__name__}: {exc}"[:200]) from None


def decode_frame(raw: str | bytes) -> tuple[list[MarketEvent], list[FrameError]]:
    """All events a frame holds, plus one error per part that could not be read."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode()
        except UnicodeDecodeError:
            return [], [FrameError("frame is not UTF-8")]
    text = raw.strip()
    if text in CONTROL_FRAMES:
        return [], []
    try:
        obj = _loads(text)
    except FrameError as exc:
        exc.raw = raw
        return [], [exc]
    items = obj if type(obj) is list else [obj]
    events: list[MarketEvent] = []
    errors: list[FrameError] = []
    for item in items:
        try:
            events.extend(decode_message(item))
        except FrameError as exc:
            exc.raw = item
            errors.append(exc)
    return events, errors


def parse_frame(raw: str | bytes) -> list[MarketEvent]:
    """Like ``decode_frame`` but strict: raises the first ``FrameError``."""
    events, errors = decode_frame(raw)
    if errors:
        raise errors[0]
    return events


# -- spot stream (RTDS ``crypto_prices`` shape) -----------------------------------------------


def _spot_point(symbol: Any, p: dict) -> SpotTick:
    asset = SPOT_SYMBOLS.get(str(symbol).lower())
    if asset is None:
        raise FrameError(f"unknown spot symbol {symbol!r}"[:60])
    value = p.get("full_accuracy_value", p.get("value"))
    price = _dec(value, "value")
    if price <= _ZERO:
        raise FrameError(f"spot price must be positive, got {price}")
    vol = p.get("volume")
    return SpotTick(
        asset=asset, price=price, ts_ms=_ts(p), volume=_size(vol, "volume") if vol is not None else _ZERO
    )


def decode_spot_frame(raw: str | bytes) -> tuple[list[SpotTick], list[FrameError]]:
    if isinstance(raw, bytes):
        raw = raw.decode(errors="replace")
    if raw.strip() in CONTROL_FRAMES:
        return [], []
    try:
        obj = _loads(raw)
    except FrameError as exc:
        return [], [exc]
    try:
        if type(obj) is not dict or type(obj.get("payload")) is not dict:
            raise FrameError("spot message must be an object with a payload object")
        payload = obj["payload"]
        if type(payload.get("data")) is list:  # the subscribe snapshot: a history list
            return [_spot_point(payload.get("symbol"), p) for p in payload["data"] if type(p) is dict], []
        return [_spot_point(payload.get("symbol"), payload)], []
    except FrameError as exc:
        return [], [exc]
    except (TypeError, ValueError, AttributeError) as exc:
        return [], [FrameError(f"spot: {type(exc).__name__}: {exc}"[:200])]


# -- fan-out / storage encoding ---------------------------------------------------------------

_TYPES: dict[str, type] = {
    "book": BookSnapshot,
    "price_change": PriceChange,
    "last_trade": LastTrade,
    "tick_size_change": TickSizeChange,
    "best_bid_ask": BestBidAsk,
    "new_market": NewMarket,
    "market_resolved": MarketResolved,
    "spot": SpotTick,
}
_TAGS = {cls: tag for tag, cls in _TYPES.items()}


def _field_kinds(cls: type) -> dict[str, str]:
    hints = typing.get_type_hints(cls)
    kinds = {}
    for f in dataclasses.fields(cls):
        h = str(hints[f.name])
        kinds[f.name] = (
            "levels" if "tuple" in h else "info" if f.name == "info" else "dec" if "Decimal" in h else "plain"
        )
    return kinds


_KINDS = {cls: _field_kinds(cls) for cls in (*_TYPES.values(), MarketInfo)}


def _encode(obj: Any) -> dict:
    out = {}
    for name, kind in _KINDS[type(obj)].items():
        v = getattr(obj, name)
        if v is None or kind == "plain":
            out[name] = v
        elif kind == "dec":
            out[name] = str(v)
        elif kind == "levels":
            out[name] = [[str(p), str(s)] for p, s in v]
        else:
            out[name] = _encode(v)
    return out


def _decode(cls: type, d: dict) -> Any:
    kw = {}
    for name, kind in _KINDS[cls].items():
        if name not in d:
            continue  # a field added later keeps its default
        v = d[name]
        if v is None or kind == "plain":
            kw[name] = v
        elif kind == "dec":
            kw[name] = Decimal(v)
        elif kind == "levels":
            kw[name] = tuple((Decimal(p), Decimal(s)) for p, s in v)
        else:
            kw[name] = _decode(MarketInfo, v)
    return cls(**kw)


def event_to_dict(event: MarketEvent) -> dict:
    d = _encode(event)
    d["type"] = _TAGS[type(event)]
    return d


def event_to_json(event: MarketEvent) -> str:
    return json.dumps(event_to_dict(event), separators=(",", ":"))


def event_from_json(data: str | bytes | dict) -> MarketEvent:
    """Inverse of ``event_to_json``; raises ``FrameError`` naming what is wrong."""
    try:
        d = data if isinstance(data, dict) else json.loads(data)
        cls = _TYPES[d["type"]]
        return _decode(cls, d)
    except FrameError:
        raise
    except KeyError as exc:
        raise FrameError(f"event JSON lacks or has unknown {exc}") from None
    except (ValueError, TypeError, InvalidOperation) as exc:
        raise FrameError(f"bad event JSON: {type(exc).__name__}: {exc}"[:200]) from None


def event_token(event: MarketEvent) -> str | None:
    return getattr(event, "token_id", None)


def event_market(event: MarketEvent) -> str | None:
    if isinstance(event, NewMarket):
        return event.info.market_id
    return getattr(event, "market_id", None)


to_decimal = _dec  # public name for other readers of venue JSON (Gamma, CLOB REST)
