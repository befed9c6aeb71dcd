"""Typed schemas of the venue's market-channel and spot-stream messages: one definition of each.

The codec (``tradingfloor.market.codec``) decodes frames with these and the simulator
(``tradingfloor.sim.wire``) encodes with them, so both sides agree on every field by construction.
Only fields the venue itself sends are here; anything only the simulator knows belongs on its
``/sim/…`` endpoints. Shapes are those of captured venue payloads (research notes §5.1 and the
fixtures under ``tests/fixtures/venue/``, each naming its source).

The schemas are the decoder's first line of defence: strings and lists are bounded, types are
strict (no silent coercion), and an unknown ``event_type`` fails the tag check. Numbers stay wire
strings here; the codec turns them into validated ``Decimal`` through a shared cache (prices
repeat, and a cache hit is one dict lookup against a ~200 ns ``Decimal`` parse).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

import msgspec

# Bounds: far above anything the venue sends, far below anything that hurts.
Id = Annotated[str, msgspec.Meta(max_length=256)]
Text = Annotated[str, msgspec.Meta(max_length=65_536)]
# a decimal as the venue writes it: a string (a JSON number is accepted from older shapes)
Num = Union[Annotated[str, msgspec.Meta(max_length=64)], float]  # noqa: UP007
Ts = Union[Annotated[str, msgspec.Meta(max_length=20)], int]  # noqa: UP007 - ms since the epoch
Side = Literal["BUY", "SELL"]
MAX_LEVELS = 100_000
MAX_ITEMS = 100_000


class _Msg(msgspec.Struct, frozen=True, gc=False, tag_field="event_type", omit_defaults=True):
    """A market-channel message; ``event_type`` is the tag."""


class Level(msgspec.Struct, frozen=True, gc=False):
    price: Num
    size: Num


class BookMsg(_Msg, frozen=True, tag="book"):
    market: Id
    asset_id: Id
    timestamp: Ts
    bids: Annotated[list[Level], msgspec.Meta(max_length=MAX_LEVELS)]
    asks: Annotated[list[Level], msgspec.Meta(max_length=MAX_LEVELS)]
    hash: Id | None = None
    tick_size: Num | None = None
    last_trade_price: Num | None = None


class PriceChangeEntry(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    asset_id: Id
    price: Num
    size: Num
    side: Side
    hash: Id | None = None
    best_bid: Num | None = None
    best_ask: Num | None = None


class LegacyChange(msgspec.Struct, frozen=True, gc=False):
    """An entry of the pre-2025-09 ``price_change`` (one asset per message, no best prices)."""

    price: Num
    size: Num
    side: Side


class PriceChangeMsg(_Msg, frozen=True, tag="price_change"):
    market: Id
    timestamp: Ts
    price_changes: Annotated[list[PriceChangeEntry], msgspec.Meta(max_length=MAX_ITEMS)] | None = None
    asset_id: Id | None = None  # legacy shape only
    changes: Annotated[list[LegacyChange], msgspec.Meta(max_length=MAX_ITEMS)] | None = None  # legacy


class LastTradeMsg(_Msg, frozen=True, tag="last_trade_price"):
    market: Id
    asset_id: Id
    price: Num
    size: Num
    side: Side
    timestamp: Ts
    fee_rate_bps: Num | None = None
    transaction_hash: Id | None = None


class TickSizeChangeMsg(_Msg, frozen=True, tag="tick_size_change"):
    market: Id
    asset_id: Id
    old_tick_size: Num
    new_tick_size: Num
    timestamp: Ts


class BestBidAskMsg(_Msg, frozen=True, tag="best_bid_ask"):
    market: Id
    asset_id: Id
    timestamp: Ts
    best_bid: Num | None = None
    best_ask: Num | None = None
    spread: Num | None = None


class FeeScheduleMsg(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """``new_market``'s ``fee_schedule``: snake_case keys and string values on the live feed."""

    rate: Num
    exponent: Num | None = None
    taker_only: bool | None = None
    rebate_rate: Num | None = None


class EventMessage(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    id: Id | None = None
    ticker: Id | None = None
    slug: Id | None = None
    title: Text | None = None
    description: Text | None = None


Strings = Annotated[list[Id], msgspec.Meta(max_length=64)]


class NewMarketMsg(_Msg, frozen=True, tag="new_market"):
    """As the live feed sends it: no minimum order size, end time or price to beat (Gamma has them)."""

    market: Id
    slug: Id
    timestamp: Ts
    id: Id | None = None
    question: Text | None = None
    description: Text | None = None
    assets_ids: Strings | Id | None = None
    outcomes: Strings | Id | None = None  # a list (Gamma-style JSON text is accepted too)
    clob_token_ids: Strings | Id | None = None
    condition_id: Id | None = None
    active: bool | None = None
    order_price_min_tick_size: Num | None = None
    group_item_title: Text | None = None
    event_message: EventMessage | None = None
    tags: Strings | None = None
    fee_schedule: FeeScheduleMsg | None = None
    fees_enabled: bool | None = None
    taker_base_fee: Num | None = None
    line: Id | None = None
    game_start_time: Id | None = None
    sports_market_type: Id | None = None
    # Recordings made before the simulator spoke the venue's shape also carry these three; they
    # are read when present and never expected.
    order_min_size: Num | None = None
    end_ms: Ts | None = None
    price_to_beat: Num | None = None


class MarketResolvedMsg(_Msg, frozen=True, tag="market_resolved"):
    market: Id
    winning_asset_id: Id
    winning_outcome: Id
    timestamp: Ts
    id: Id | None = None
    question: Text | None = None
    slug: Id | None = None
    description: Text | None = None
    assets_ids: Strings | None = None
    outcomes: Strings | None = None
    event_message: EventMessage | None = None
    tags: Strings | None = None
    final_price: Num | None = None  # older simulator recordings only; the venue does not send it


MarketMessage = Union[  # noqa: UP007
    BookMsg, PriceChangeMsg, LastTradeMsg, TickSizeChangeMsg, BestBidAskMsg, NewMarketMsg, MarketResolvedMsg
]
MarketFrame = Union[Annotated[list[MarketMessage], msgspec.Meta(max_length=MAX_ITEMS)], MarketMessage]  # noqa: UP007


# -- spot stream (RTDS shape) -----------------------------------------------------------------


class SpotPoint(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    timestamp: Ts
    value: Num | None = None
    full_accuracy_value: Num | None = None
    volume: Num | None = None


class SpotPayload(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    symbol: Id
    timestamp: Ts | None = None
    value: Num | None = None
    full_accuracy_value: Num | None = None
    volume: Num | None = None
    window_s: int | None = None  # TWAP feeds
    data: Annotated[list[SpotPoint], msgspec.Meta(max_length=MAX_ITEMS)] | None = None  # subscribe snapshot


class SpotMsg(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    payload: SpotPayload
    topic: Id | None = None
    type: Id | None = None
    timestamp: Ts | None = None


market_frame_decoder = msgspec.json.Decoder(MarketFrame)
market_message_decoder = msgspec.json.Decoder(MarketMessage)
raw_list_decoder = msgspec.json.Decoder(list[msgspec.Raw])
spot_decoder = msgspec.json.Decoder(SpotMsg)
encoder = msgspec.json.Encoder()


def to_wire(msg: msgspec.Struct) -> dict:
    """A message as plain JSON-ready data (what a server hands to its JSON writer)."""
    out: dict = msgspec.to_builtins(msg)
    return out
