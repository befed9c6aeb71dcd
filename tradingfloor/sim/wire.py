"""Normalized events and simulator state in Polymarket's own JSON shapes (research §1.3, §4, §5).

The inverse of ``tradingfloor.market.codec``: the simulator speaks through these so the real
client parses exactly what it would get from Polymarket, quirks included (books sorted bids
ascending / asks descending, JSON lists inside JSON strings, string decimals, ms timestamps as
strings). Market-channel messages are built from the same typed schemas the codec decodes with
(``tradingfloor.market.venue_messages``), so a field the venue does not send cannot appear:
``new_market`` carries no minimum size, end time or price to beat, ``market_resolved`` no final
price (clients take those from Gamma, as against the venue).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from tradingfloor.market import venue_messages as vm
from tradingfloor.market.book import OrderBook, book_summary_hash
from tradingfloor.market.events import (
    BestBidAsk,
    LastTrade,
    MarketInfo,
    MarketResolved,
    NewMarket,
    PriceChange,
    TickSizeChange,
)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _lv(levels: list[tuple[Decimal, Decimal]]) -> list[dict]:
    return [{"price": str(p), "size": str(s)} for p, s in levels]


def book_message(
    book: OrderBook, info: MarketInfo, *, last_trade: Decimal | None, ts_ms: int, rest: bool
) -> dict:
    """A ``book`` message (WS) or ``/book`` response (REST), best level last on each side."""
    bids = _lv(list(reversed(book.bids())))
    asks = _lv(list(reversed(book.asks())))
    tick = str(book.tick_size or info.tick_size)
    ltp = str(last_trade) if last_trade is not None else ""  # the venue sends "" before any trade
    digest = book_summary_hash(
        market=info.market_id,
        asset_id=book.token_id,
        timestamp=str(ts_ms),
        bids=bids,
        asks=asks,
        min_order_size=str(info.min_size),
        tick_size=tick,
        neg_risk=info.neg_risk,
        last_trade_price=ltp,
    )
    msg = vm.to_wire(
        vm.BookMsg(
            market=info.market_id,
            asset_id=book.token_id,
            timestamp=str(ts_ms),
            hash=digest,
            bids=[vm.Level(lv["price"], lv["size"]) for lv in bids],
            asks=[vm.Level(lv["price"], lv["size"]) for lv in asks],
            tick_size=tick,
            last_trade_price=ltp,
        )
    )
    if rest:  # the REST /book body: no event_type, and the two fields its hash covers
        del msg["event_type"]
        msg["min_order_size"] = str(info.min_size)
        msg["neg_risk"] = info.neg_risk
    return msg


def price_change_message(
    market_id: str, ts_ms: int, entries: list[tuple[PriceChange, Decimal | None, Decimal | None]]
) -> dict:
    """One market's level changes at one instant; each entry carries its token's best prices after it."""
    return vm.to_wire(
        vm.PriceChangeMsg(
            market=market_id,
            timestamp=str(ts_ms),
            price_changes=[
                vm.PriceChangeEntry(
                    asset_id=ch.token_id,
                    price=str(ch.price),
                    size=str(ch.size),
                    side=ch.side,
                    hash=f"{ch.token_id[-8:]}-{ts_ms}-{i}",
                    best_bid=str(bb) if bb is not None else "0",
                    best_ask=str(ba) if ba is not None else "1",
                )
                for i, (ch, bb, ba) in enumerate(entries)
            ],
        )
    )


def last_trade_message(ev: LastTrade) -> dict:
    return vm.to_wire(
        vm.LastTradeMsg(
            market=ev.market_id,
            asset_id=ev.token_id,
            fee_rate_bps=str(ev.fee_rate_bps),
            price=str(ev.price),
            side=ev.side,
            size=str(ev.size),
            timestamp=str(ev.ts_ms),
            transaction_hash="0x" + format(abs(hash((ev.token_id, ev.ts_ms))), "x").rjust(64, "0"),
        )
    )


def tick_size_message(ev: TickSizeChange) -> dict:
    return vm.to_wire(
        vm.TickSizeChangeMsg(
            market=ev.market_id,
            asset_id=ev.token_id,
            old_tick_size=str(ev.old_tick_size),
            new_tick_size=str(ev.new_tick_size),
            timestamp=str(ev.ts_ms),
        )
    )


def best_bid_ask_message(ev: BestBidAsk) -> dict:
    spread = str(ev.best_ask - ev.best_bid) if ev.best_bid is not None and ev.best_ask is not None else ""
    return vm.to_wire(
        vm.BestBidAskMsg(
            market=ev.market_id,
            asset_id=ev.token_id,
            best_bid=str(ev.best_bid) if ev.best_bid is not None else "",
            best_ask=str(ev.best_ask) if ev.best_ask is not None else "",
            spread=spread,
            timestamp=str(ev.ts_ms),
        )
    )


def fee_schedule(info: MarketInfo, rebate_rate: Decimal) -> dict:
    return {
        "exponent": info.fee_exponent,
        "rate": float(info.fee_rate),
        "takerOnly": True,
        "rebateRate": float(rebate_rate),
    }


def new_market_message(ev: NewMarket, rebate_rate: Decimal) -> dict:
    """As the live feed sends it (a 2026-05 capture): no ``order_min_size``, ``end_ms`` or
    ``price_to_beat``; ``fee_schedule`` in snake_case with string values."""
    info = ev.info
    tokens = [info.up_token_id, info.down_token_id]
    return vm.to_wire(
        vm.NewMarketMsg(
            id=info.market_id[-8:],
            question=question(info),
            market=info.market_id,
            slug=info.slug,
            description=rule_text(info),
            assets_ids=tokens,
            outcomes=["Up", "Down"],
            event_message=vm.EventMessage(
                id=info.market_id[-8:], ticker=info.slug, slug=info.slug, title=question(info)
            ),
            timestamp=str(ev.ts_ms),
            tags=[],
            condition_id=info.market_id,
            active=True,
            clob_token_ids=tokens,
            sports_market_type="",
            line="",
            game_start_time="",
            order_price_min_tick_size=str(info.tick_size),
            group_item_title="",
            taker_base_fee="1000",
            fees_enabled=True,
            fee_schedule=vm.FeeScheduleMsg(
                exponent=str(info.fee_exponent),
                rate=str(info.fee_rate),
                taker_only=True,
                rebate_rate=str(rebate_rate),
            ),
        )
    )


def resolved_message(ev: MarketResolved, info: MarketInfo) -> dict:
    """The venue's shape; the settlement value is not part of it (Gamma's ``finalPrice`` is)."""
    return vm.to_wire(
        vm.MarketResolvedMsg(
            id=info.market_id[-8:],
            question=question(info),
            market=ev.market_id,
            slug=info.slug,
            assets_ids=[info.up_token_id, info.down_token_id],
            outcomes=["Up", "Down"],
            winning_asset_id=ev.winning_token_id,
            winning_outcome=ev.winning_outcome,
            timestamp=str(ev.ts_ms),
            tags=[],
        )
    )


_NAMES = {"BTC": "Bitcoin", "ETH": "Ethereum"}


def question(info: MarketInfo) -> str:
    return f"{_NAMES.get(info.asset, info.asset)} Up or Down - {iso(info.start_ms)} to {iso(info.end_ms)}"


def rule_text(info: MarketInfo) -> str:
    return (
        f'This market will resolve to "Up" if the time-weighted average price (TWAP) of {_NAMES.get(info.asset, info.asset)} '
        "over the last 60 seconds of the time range in the title is greater than or equal to the price at the "
        'beginning of that range. Otherwise, it will resolve to "Down". (Simulated.)'
    )


def gamma_market(
    info: MarketInfo,
    *,
    listed_ms: int,
    now_ms: int,
    show_tokens: bool,
    rebate_rate: Decimal,
    up_price: Decimal | None,
    best: tuple[Decimal | None, Decimal | None],
    resolved: str | None,
    final_price: Decimal | None,
) -> dict:
    closed = resolved is not None
    if resolved is not None:
        prices = ["1", "0"] if resolved == "Up" else ["0", "1"]
    else:
        up = up_price if up_price is not None else Decimal("0.5")
        prices = [str(up), str(Decimal(1) - up)]
    tokens = [info.up_token_id, info.down_token_id] if show_tokens else []
    interval = info.interval
    event = {
        "id": info.market_id[-8:],
        "slug": info.slug,
        "title": question(info),
        "startTime": iso(info.start_ms),
        "endDate": iso(info.end_ms),
        "seriesSlug": f"{info.asset.lower()}-up-or-down-{interval}",
        "series": [
            {"id": "sim", "slug": f"{info.asset.lower()}-up-or-down-{interval}", "recurrence": interval}
        ],
        "eventMetadata": (
            {"priceToBeat": float(info.price_to_beat)} if info.price_to_beat is not None else {}
        )
        | ({"finalPrice": float(final_price)} if final_price is not None else {}),
    }
    return {
        "id": info.market_id[-8:],
        "question": question(info),
        "conditionId": info.market_id,
        "slug": info.slug,
        "resolutionSource": f"https://data.chain.link/streams/{info.asset.lower()}-usd-twap-60s-streams",
        "description": rule_text(info),
        "startDate": iso(listed_ms).replace("Z", ".000000Z"),
        "endDate": iso(info.end_ms),
        "eventStartTime": iso(info.start_ms),
        "outcomes": json.dumps(["Up", "Down"]),
        "outcomePrices": json.dumps(prices),
        "clobTokenIds": json.dumps(tokens),
        "enableOrderBook": show_tokens,
        "active": not closed,
        "closed": closed,
        "acceptingOrders": show_tokens and not closed and now_ms < info.end_ms,
        "orderPriceMinTickSize": float(info.tick_size),
        "orderMinSize": float(info.min_size),
        "makerBaseFee": 1000,
        "takerBaseFee": 1000,
        "negRisk": info.neg_risk,
        "version": info.version,
        "feesEnabled": True,
        "feeType": "crypto_fees_v2",
        "feeSchedule": fee_schedule(info, rebate_rate),
        "makerRebatesFeeShareBps": 10000,
        "cryptoMarketConfigId": f"{info.asset.lower()}-{interval}-twap-60",
        "cryptoMarketConfig": {
            "id": f"{info.asset.lower()}-{interval}-twap-60",
            "asset": info.asset.lower(),
            "duration": interval,
            "twapEnabled": True,
            "twapLookbackSeconds": 60,
        },
        "bestBid": float(best[0]) if best[0] is not None else None,
        "bestAsk": float(best[1]) if best[1] is not None else None,
        "umaResolutionStatuses": "[]",
        "rfqEnabled": False,
        "clearBookOnStart": False,
        "events": [event],
    }


def gamma_event(market: dict) -> dict:
    event = dict(market["events"][0])
    event["markets"] = [market]
    return event


def spot_update(asset: str, price: Decimal, volume: Decimal, ts_ms: int, now_ms: int) -> dict:
    return vm.to_wire(
        vm.SpotMsg(
            topic="crypto_prices",
            type="update",
            timestamp=now_ms,
            payload=vm.SpotPayload(
                symbol=f"{asset.lower()}usdt",
                timestamp=ts_ms,
                value=float(price),
                full_accuracy_value=str(price),
                volume=str(volume),
            ),
        )
    )


def spot_snapshot(asset: str, history: list[tuple[int, Decimal, Decimal]]) -> dict:
    return vm.to_wire(
        vm.SpotMsg(
            topic="crypto_prices",
            type="subscribe",
            payload=vm.SpotPayload(
                symbol=f"{asset.lower()}usdt",
                data=[
                    vm.SpotPoint(timestamp=ts, value=float(p), full_accuracy_value=str(p), volume=str(v))
                    for ts, p, v in history
                ],
            ),
        )
    )
