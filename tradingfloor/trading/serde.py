"""JSON-able forms of the market types the trading state carries (Decimals as strings)."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from typing import Any

from tradingfloor.market.events import MarketInfo

_DECIMAL_FIELDS = {"tick_size", "min_size", "fee_rate", "price_to_beat"}


def market_info_to_json(info: MarketInfo) -> dict[str, Any]:
    out = {}
    for f in fields(MarketInfo):
        value = getattr(info, f.name)
        out[f.name] = str(value) if isinstance(value, Decimal) else value
    return out


def market_info_from_json(d: dict[str, Any]) -> MarketInfo:
    kwargs: dict[str, Any] = {}
    for f in fields(MarketInfo):
        if f.name not in d:
            continue
        value = d[f.name]
        kwargs[f.name] = Decimal(value) if f.name in _DECIMAL_FIELDS and value is not None else value
    return MarketInfo(**kwargs)
