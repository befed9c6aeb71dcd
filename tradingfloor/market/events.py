"""Normalized market events: what the adapters produce and what strategies, brokers and the
backtester consume, whatever the source (live Polymarket, the simulator, a replayed recording).

Prices and sizes are ``Decimal`` (the ledger's unit; the codec shares one instance per distinct
wire string, so repeated prices cost a dict lookup); times are integer milliseconds since the
epoch (``ts_ms``), as the exchange sends them. Events are immutable msgspec Structs without GC
tracking (they hold no reference cycles): a fraction of a frozen dataclass's construction cost,
and their ``type`` tag is the fan-out/storage encoding's tag (``codec.event_to_json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from sys import intern
from typing import Literal, Union

import msgspec

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


class _Event(msgspec.Struct, frozen=True, gc=False, tag_field="type"):
    """Base of every market event: immutable, untracked by the GC, tagged by ``type``."""


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

    def __post_init__(self) -> None:
        # the engine looks these ids up and compares them on every book event: interned, they are
        # the very strings the codec's events carry, and each check stops at the identity test
        for name in ("market_id", "up_token_id", "down_token_id"):
            object.__setattr__(self, name, intern(getattr(self, name)))

    def outcome_of(self, token_id: str) -> Outcome:
        if token_id == self.up_token_id:
            return "Up"
        if token_id == self.down_token_id:
            return "Down"
        raise KeyError(f"token {token_id} is not part of market {self.slug}")

    def token_of(self, outcome: Outcome) -> str:
        return self.up_token_id if outcome == "Up" else self.down_token_id


class BookSnapshot(_Event, frozen=True, tag="book"):
    """A full L2 book for one token. Levels are (price, size) in any order as received."""

    market_id: str
    token_id: str
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]
    ts_ms: int
    hash: str | None = None
    tick_size: Decimal | None = None  # the book's tick when the feed says it


class PriceChange(_Event, frozen=True, tag="price_change"):
    """One level's new total size (0 removes the level).

    Without the venue's per-change ``hash``: a distinct ~90-byte string on every change (as much
    memory as the rest of the event), read by nothing here; a recording keeps it in the raw frame.
    Stored events that carry one decode unchanged (unknown fields are ignored)."""

    market_id: str
    token_id: str
    side: Side  # BUY = bid level, SELL = ask level
    price: Decimal
    size: Decimal
    ts_ms: int
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None


class LastTrade(_Event, frozen=True, tag="last_trade"):
    market_id: str
    token_id: str
    price: Decimal
    size: Decimal
    side: Side  # taker side
    ts_ms: int
    fee_rate_bps: int = 0


class TickSizeChange(_Event, frozen=True, tag="tick_size_change"):
    market_id: str
    token_id: str
    old_tick_size: Decimal
    new_tick_size: Decimal
    ts_ms: int


class BestBidAsk(_Event, frozen=True, tag="best_bid_ask"):
    market_id: str
    token_id: str
    best_bid: Decimal | None
    best_ask: Decimal | None
    ts_ms: int


class NewMarket(_Event, frozen=True, tag="new_market"):
    info: MarketInfo
    ts_ms: int


class RoundListed(_Event, frozen=True, tag="round_listed"):
    """A round the venue's ``new_market`` announced. The venue's message lacks the minimum order
    size, the end time and the price to beat, so this is not yet a tradable ``MarketInfo``: the
    collector and recorder complete it from Gamma (``gamma.fetch_round``) into a ``NewMarket``."""

    market_id: str
    slug: str
    asset: Asset
    interval: str
    up_token_id: str
    down_token_id: str
    start_ms: int
    ts_ms: int
    tick_size: Decimal | None = None
    fee_rate: Decimal | None = None
    fee_exponent: int | None = None


class MarketResolved(_Event, frozen=True, tag="market_resolved"):
    market_id: str
    winning_token_id: str
    winning_outcome: Outcome
    ts_ms: int
    final_price: Decimal | None = None  # the settlement value (end TWAP) when the source gives it


class SpotTick(_Event, frozen=True, tag="spot"):
    """A spot (underlying) price observation, e.g. BTC/USD from an exchange trade stream."""

    asset: Asset
    price: Decimal
    ts_ms: int
    volume: Decimal = Decimal(0)  # traded quantity in this tick, in the asset's units


MarketEvent = Union[  # noqa: UP007 - a runtime alias used by isinstance()
    BookSnapshot,
    PriceChange,
    LastTrade,
    TickSizeChange,
    BestBidAsk,
    NewMarket,
    RoundListed,
    MarketResolved,
    SpotTick,
]
