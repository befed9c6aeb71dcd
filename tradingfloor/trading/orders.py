"""Order and fill types shared by sizing, risk, brokers and the trading pipeline (a strategy's
:class:`~tradingfloor.strategies.intent.Intent` becomes an :class:`Order` there)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Literal

from tradingfloor.market.events import Side

OrderType = Literal["FOK", "FAK", "GTC"]
Liquidity = Literal["taker", "maker"]
OrderStatus = Literal["filled", "partial", "resting", "pending", "rejected", "cancelled", "duplicate"]


def client_order_id(agent: str, market_id: str, sequence: int) -> str:
    """Deterministic id of an agent's ``sequence``-th intent in a market: a decision replayed after
    a crash yields the same id, so the broker can refuse to fill it twice."""
    digest = hashlib.sha256(f"{agent}|{market_id}|{sequence}".encode()).hexdigest()[:24]
    return f"tf-{digest}"


@dataclass(frozen=True, slots=True)
class Order:
    client_id: str
    agent: str
    market_id: str
    token_id: str
    side: Side
    price: Decimal  # limit price
    size: Decimal  # shares
    order_type: OrderType
    ts_ms: int


@dataclass(frozen=True, slots=True)
class Fill:
    client_id: str
    market_id: str
    token_id: str
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal
    liquidity: Liquidity
    ts_ms: int


@dataclass(frozen=True, slots=True)
class OrderResult:
    """The broker's answer to one submitted order."""

    client_id: str
    status: OrderStatus
    fills: tuple[Fill, ...] = ()
    reason: str = ""

    @property
    def filled_size(self) -> Decimal:
        return sum((f.size for f in self.fills), Decimal(0))


def to_json(obj: Any) -> dict[str, Any]:
    """A dataclass as a JSON-able dict, Decimals as strings."""
    out = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        out[f.name] = str(value) if isinstance(value, Decimal) else value
    return out


def from_json(cls: type, data: dict[str, Any]) -> Any:
    """Inverse of :func:`to_json` for the flat dataclasses in this module."""
    kwargs = {}
    for f in fields(cls):
        value = data[f.name]
        kwargs[f.name] = Decimal(value) if f.type in ("Decimal",) else value
    return cls(**kwargs)
