"""Catching up from the collector's cache: the pure event selection, the book a fill met, and a
restarted trader that settles (once) a round resolved while it was down and takes up the open one."""

from __future__ import annotations

from decimal import Decimal as D

import redis.asyncio as aioredis

from floor_agents.trader.agent import TraderRuntime, book_met
from floor_agents.trader.cache import CacheSnapshot, MarketCache, catch_up_events
from floor_agents.trader.store import TraderStore
from tests.agent.ledger_check import check_ledger
from tests.agent.test_runtime import SPEC
from tradingfloor.market.book import OrderBook
from tradingfloor.market.codec import event_to_json
from tradingfloor.market.events import Asset, BookSnapshot, MarketInfo, MarketResolved, NewMarket, SpotTick
from tradingfloor.settings import Settings
from tradingfloor.sim.model import MarketSimulator, SimConfig
from tradingfloor.trading.orders import Fill


def info(n: int, asset: Asset = "BTC") -> MarketInfo:
    return MarketInfo(
        f"m{n}",
        f"s{n}",
        asset,
        "15m",
        f"u{n}",
        f"d{n}",
        n * 900_000,
        (n + 1) * 900_000,
        D("0.01"),
        D("5"),
        D("0.07"),
        1,
    )


def book(n: int, token: str) -> BookSnapshot:
    return BookSnapshot(f"m{n}", token, ((D("0.40"), D("10")),), ((D("0.42"), D("10")),), n * 900_000 + 5)


def test_catch_up_settles_known_resolved_markets_then_opens_live_ones_with_books_and_spot():
    snap = CacheSnapshot(
        markets={
            "m1": NewMarket(info(1), 1),
            "m2": NewMarket(info(2), 2),
            "m3": NewMarket(info(3), 3),
            "e2": NewMarket(info(2, "ETH"), 2),
        },
        resolved={
            "m1": MarketResolved("m1", "u1", "Up", 1_800_000),
            "m0": MarketResolved("m0", "u0", "Up", 900_000),
        },
        books={"u2": book(2, "u2"), "d2": book(2, "d2"), "u1": book(1, "u1")},
        spot=SpotTick("BTC", D("100000"), 1_900_000),
    )
    events = catch_up_events({"m1", "m3"}, "BTC", snap)
    # m1 (ours, resolved) settles first; m0 (resolved, never ours) is ignored; m2 is new; m3 is
    # known already; ETH is another series; then the live markets' books and the spot price
    assert events == [snap.resolved["m1"], snap.markets["m2"], snap.books["u2"], snap.books["d2"], snap.spot]
    assert catch_up_events(set(), "ETH", CacheSnapshot(spot=snap.spot)) == []


def test_book_met_gives_back_what_later_fills_of_the_step_took():
    ob = OrderBook("u1", "m1", D("0.01"))
    ob.apply_snapshot(
        BookSnapshot(
            "m1",
            "u1",
            ((D("0.40"), D("5")),),
            ((D("0.42"), D("10")), (D("0.43"), D("10")), (D("0.44"), D("10"))),
            7,
        )
    )
    f1 = Fill("c", "m1", "u1", "BUY", D("0.42"), D("10"), D("0.1"), "taker", 7)
    f2 = Fill("c", "m1", "u1", "BUY", D("0.43"), D("4"), D("0.1"), "taker", 7)
    consumed = {("u1", "SELL", D("0.42")): D("10"), ("u1", "SELL", D("0.43")): D("4")}
    first = book_met(ob, consumed, [f1, f2], f1)
    second = book_met(ob, consumed, [f2], f2)
    assert first["asks"] == [["0.42", "10"], ["0.43", "10"], ["0.44", "10"]]
    assert second["asks"] == [["0.43", "10"], ["0.44", "10"]]  # 0.42 was gone when f2 walked in
    assert first["bids"] == second["bids"] == [["0.40", "5"]]


async def _cache(redis_url: str, markets, resolved, books, spot) -> None:
    client = aioredis.from_url(redis_url)
    try:
        for m in markets:
            await client.hset("tf:md:BTC:15m:markets", m.info.market_id, event_to_json(m))
        for r in resolved:
            await client.hset("tf:md:BTC:15m:resolved", r.market_id, event_to_json(r))
        for b in books:
            await client.set(f"tf:md:BTC:15m:book:{b.token_id}", event_to_json(b))
        if spot is not None:
            await client.set("tf:md:BTC:15m:spot", event_to_json(spot))
    finally:
        await client.aclose()


async def test_restarted_trader_settles_a_round_resolved_while_down_once_and_takes_up_the_open_one(
    db_url, redis_url, tmp_path
):
    config = SimConfig(seed=2, assets=("BTC",), pattern="momentum")
    events = MarketSimulator(config).advance_to(config.start_ms + 3 * 900_000 + 30_000)
    settings = Settings(state_dir=tmp_path)

    async def runtime(client: aioredis.Redis | None) -> TraderRuntime:
        return await TraderRuntime.start(
            "cu",
            SPEC,
            settings,
            TraderStore(db_url, tmp_path, "cu"),
            cache=MarketCache(client, "BTC", "15m", "cu") if client is not None else None,
        )

    # first life: trade until a position is open, then go down before its round resolves
    first = await runtime(None)
    cut = None
    for i, e in enumerate(events):
        await first.on_event(e, 0)
        if first.engine.broker.ledger.positions:
            cut = i + 1
            break
    assert cut is not None, "the momentum market never opened a position"
    held = {p.market_id for p in first.engine.broker.ledger.positions.values()}
    await first.stop()

    # while it was down: its round resolved, the next one opened (the collector cached all that)
    missed = events[cut:]
    resolved = [e for e in missed if isinstance(e, MarketResolved) and e.market_id in held]
    assert resolved
    until = missed.index(resolved[0])
    listings = {e.info.market_id: e for e in events[: cut + until + 1] if isinstance(e, NewMarket)}
    books = {}
    for e in events[: cut + until + 1]:
        if isinstance(e, BookSnapshot):
            books[e.token_id] = e
    spot = next(e for e in reversed(events[: cut + until + 1]) if isinstance(e, SpotTick))
    live = [m for mid, m in listings.items() if mid not in held]
    assert live, "no later round listed yet"
    await _cache(redis_url, listings.values(), resolved, books.values(), spot)

    client = aioredis.from_url(redis_url)
    try:
        second = await runtime(client)
        assert await second.catch_up() > 0
        assert not second.engine.broker.ledger.positions
        assert held.isdisjoint(second.engine.markets)
        assert {m.info.market_id for m in live} <= set(second.engine.markets)  # the open round is taken up
        settled = len(second.engine.broker.ledger.closed)
        assert settled >= 1
        await second.catch_up()  # a second catch-up, and a third life, settle nothing again
        await second.stop()
        third = await runtime(client)
        await third.catch_up()
        assert len(third.engine.broker.ledger.closed) == settled
        await third.stop()
    finally:
        await client.aclose()
    counts = await check_ledger(db_url, "cu")
    assert counts["trades"] == settled
