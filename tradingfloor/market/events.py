"""Normalized market events: what the adapters produce and what strategies, brokers and the
backtester consume, whatever the source (live Polymarket, the simulator, a replayed recording).

Prices and sizes are ``Decimal`` (the ledger's unit); times are integer milliseconds since the
epoch (``ts_ms``), as the exchange sends them. Events are immutable.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Union

Side = Literal["BUY", "SELL"]
Asset = Literal["BTC", "ETH"]
Outcome = Literal["Up", "Down"]
ASSETS: tuple[Asset, ...] = ("BTC", "ETH")


def parse_asset(value: str) -> Asset:
    """``value`` (any case) as an :data:`Asset`, or a ValueError naming the assets there are."""
    upper = value.upper()
    for asset in ASSETS:
        if upper == asset:
            return asset
    raise ValueError(f"asset must be one of {', '.join(ASSETS)}, got {value!r}")


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """One round of an Up-or-Down series, with everything per-market that trading needs.

    Nothing here may be hard-coded elsewhere: fee rate and exponent, tick and minimum size,
    token ids and times are read from the venue for each market.
    """

    market_id: str  # condition id
    slug: str  # e.g. btc-updown-15m-1767225600
    asset: Asset
    interval: str  # "5m" | "15m" | "1h"
    up_token_id: str
    down_token_id: str
    start_ms: int
    end_ms: int
    tick_size: Decimal
    min_size: Decimal
    fee_rate: Decimal  # taker fee = shares * fee_rate * (p*(1-p)) ** fee_exponent
    fee_exponent: int
    neg_risk: bool = False
    version: str = "v1"
    price_to_beat: Decimal | None = None  # spot reference at round start, when known

    def outcome_of(self, token_id: str) -> Outcome:
        if token_id == self.up_token_id:
            return "Up"
        if token_id == self.down_token_id:
            return "Down"
        raise KeyError(f"token {token_id} is not part of market {self.slug}")

    def token_of(self, outcome: Outcome) -> str:
        return self.up_token_id if outcome == "Up" else self.down_token_id


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """A full L2 book for one token. Levels are (price, size) in any order as received."""

    market_id: str
    token_id: str
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]
    ts_ms: int
    hash: str | None = None
    tick_size: Decimal | None = None  # the book's tick when the feed says it


@dataclass(frozen=True, slots=True)
class PriceChange:
    """One level's new total size (0 removes the level)."""

    market_id: str
    token_id: str
    side: Side  # BUY = bid level, SELL = ask level
    price: Decimal
    size: Decimal
    ts_ms: int
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    hash: str | None = None


@dataclass(frozen=True, slots=True)
class LastTrade:
    market_id: str
    token_id: str
    price: Decimal
    size: Decimal
    side: Side  # taker side
    ts_ms: int
    fee_rate_bps: int = 0


@dataclass(frozen=True, slots=True)
class TickSizeChange:
    market_id: str
    token_id: str
    old_tick_size: Decimal
    new_tick_size: Decimal
    ts_ms: int


@dataclass(frozen=True, slots=True)
class BestBidAsk:
    market_id: str
    token_id: str
    best_bid: Decimal | None
    best_ask: Decimal | None
    ts_ms: int


@dataclass(frozen=True, slots=True)
class NewMarket:
    info: MarketInfo
    ts_ms: int


@dataclass(frozen=True, slots=True)
class MarketResolved:
    market_id: str
    winning_token_id: str
    winning_outcome: Outcome
    ts_ms: int
    final_price: Decimal | None = None  # the settlement value (end TWAP) when the source gives it


@dataclass(frozen=True, slots=True)
class SpotTick:
    """A spot (underlying) price observation, e.g. BTC/USD from an exchange trade stream."""

    asset: Asset
    price: Decimal
    ts_ms: int
    volume: Decimal = Decimal(0)  # traded quantity in this tick, in the asset's units


MarketEvent = Union[  # noqa: UP007 - a runtime alias used by isinstance()
    BookSnapshot, PriceChange, LastTrade, TickSizeChange, BestBidAsk, NewMarket, MarketResolved, SpotTick
]
