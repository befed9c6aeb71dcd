"""The simulator answers the official client's market-data calls in the venue's shapes, lists rounds a
day ahead with books that trade before the start, and names orders by their EIP-712 hash."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal as D
from pathlib import Path

import aiohttp
from eth_account import Account
from py_clob_client_v2 import ApiCreds, ClobClient, OrderArgs, OrderType, PartialCreateOrderOptions, Side
from py_clob_client_v2.clob_types import BookParams, PricesHistoryParams

from tradingfloor.brokers.live import order_hash
from tradingfloor.market.clob import ClobRest, book_hash_check, parse_rest_book
from tradingfloor.market.gamma import GammaClient, parse_gamma_market, round_slug
from tradingfloor.sim.model import SimConfig
from tradingfloor.sim.server import SimHandle, start_simulator

FIXTURES = Path(__file__).parents[1] / "fixtures" / "venue"
CREDS = ApiCreds("5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "pass")
DAY_MS = 86_400_000
INTERVAL_MS = 900_000


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


async def _start(**kw) -> SimHandle:
    handle = await start_simulator("127.0.0.1", 0, SimConfig(seed=4, assets=("BTC",), **kw), speed=1)
    await asyncio.sleep(0.2)
    handle.clock.pause()
    return handle


def _client(handle: SimHandle) -> ClobClient:
    return ClobClient(host=handle.url, chain_id=137, key=Account.create().key.hex(), creds=CREDS)


async def _market(http: aiohttp.ClientSession, handle: SimHandle, start_ms: int) -> dict:
    async with http.get(f"{handle.url}/events", params={"slug": round_slug("BTC", "15m", start_ms)}) as r:
        events = await r.json()
    assert events, f"no round listed starting at {start_ms}"
    return events[0]["markets"][0]


def test_gamma_market_without_fee_schedule_keeps_its_round_at_the_category_rate():
    info = parse_gamma_market(fixture("gamma_market_2026_03_no_fee_schedule.json"))
    assert info.fee_rate == D("0.072") and info.fee_exponent == 1  # documented crypto default
    assert info.start_ms == 1_773_494_100_000 and info.min_size == 5


async def test_gamma_without_fee_schedule_takes_the_fee_from_the_clob():
    handle = await _start(gamma_fee_schedule=False)
    try:
        async with aiohttp.ClientSession() as http:
            start = handle.clock.now_ms() // INTERVAL_MS * INTERVAL_MS
            assert "feeSchedule" not in await _market(http, handle, start)
            slug = round_slug("BTC", "15m", start)
            via_clob = await GammaClient(handle.url, http, clob_url=handle.url).fetch_round(slug)
            by_default = await GammaClient(handle.url, http).fetch_round(slug)
        assert via_clob is not None and via_clob.fee_rate == D("0.07")  # the CLOB's fd.r
        assert by_default is not None and by_default.fee_rate == D("0.072")  # the category's rate
    finally:
        await handle.stop()


async def test_rest_book_with_an_unknown_hash_scheme_is_used_and_counted():
    old = fixture("rest_book_without_min_order_size.json")
    assert book_hash_check(old) == "unverifiable" and len(parse_rest_book(old).asks) == 3
    handle = await _start()
    try:
        async with aiohttp.ClientSession() as http:
            start = handle.clock.now_ms() // INTERVAL_MS * INTERVAL_MS
            up = json.loads((await _market(http, handle, start))["clobTokenIds"])[0]
            clob = ClobRest(handle.url, http)
            await clob.get_book(up)
            async with http.get(f"{handle.url}/book", params={"token_id": up}) as r:
                body = await r.json()
        assert clob.book_hash == {"verified": 1}
        rehashed = clob._book({**body, "hash": "0" * 40})  # a scheme we do not know: used, counted
        assert rehashed.asks and clob.book_hash["mismatch"] == 1
    finally:
        await handle.stop()


async def test_official_client_market_data_calls_get_the_venues_shapes():
    handle = await _start()
    try:
        async with aiohttp.ClientSession() as http:
            start = handle.clock.now_ms() // INTERVAL_MS * INTERVAL_MS
            up, down = json.loads((await _market(http, handle, start))["clobTokenIds"])

        def calls(c: ClobClient) -> dict:
            before = c.get_last_trade_price(up)
            c.create_and_post_order(
                OrderArgs(token_id=up, price=0.99, size=5, side=Side.BUY),
                PartialCreateOrderOptions(tick_size="0.01"),
                OrderType.FAK,
            )
            return {
                "before": before,
                "markets": c.get_markets(),
                "simplified": c.get_simplified_markets(),
                "sampling": c.get_sampling_markets(),
                "mids": c.get_midpoints([BookParams(up), BookParams(down)]),
                "spreads": c.get_spreads([BookParams(up)]),
                "last": c.get_last_trades_prices([BookParams(up), BookParams(down)]),
                "history": c.get_prices_history(PricesHistoryParams(market=up, interval="1h")),
            }

        got = await asyncio.to_thread(calls, _client(handle))
        assert got["before"] == {"price": "", "side": ""}  # no trade yet: the venue answers ""
        page = got["markets"]
        assert set(page) >= {"data", "next_cursor"} and page["next_cursor"] == "LTE="
        assert {m["condition_id"] for m in page["data"]} >= {handle.server.token_info(up).market_id}
        assert all(m["tokens"][0]["outcome"] == "Up" for m in page["data"])
        assert set(got["simplified"]["data"][0]) == {
            "condition_id", "rewards", "tokens", "active", "closed", "archived", "accepting_orders"
        }  # fmt: skip
        assert got["sampling"]["data"] == []  # up/down rounds are not in the rewards program
        assert set(got["mids"]) == {up, down} and D(got["mids"][up]) + D(got["mids"][down]) == 1
        assert D(got["spreads"][up]) > 0
        last = {x["token_id"]: x for x in got["last"]}
        assert last[up]["side"] == "BUY" and D(last[up]["price"]) > 0 and last[down]["price"] == ""
        assert got["history"]["history"] and set(got["history"]["history"][0]) == {"t", "p"}
    finally:
        await handle.stop()


async def test_rounds_are_listed_a_day_ahead_and_the_next_ones_book_trades_before_its_start():
    grid = SimConfig().start_ms
    # 200 s before the next start; books open 300 s before theirs
    handle = await _start(start_ms=grid + INTERVAL_MS - 200_000, book_lead_ms=300_000)
    try:
        now = handle.clock.now_ms()
        current = now // INTERVAL_MS * INTERVAL_MS
        async with aiohttp.ClientSession() as http:
            far = await _market(http, handle, current + DAY_MS - INTERVAL_MS)  # ~24 h out
            async with http.get(f"{handle.url}/markets/{far['conditionId']}") as r:
                far_clob = await r.json()
            nxt = await _market(http, handle, current + INTERVAL_MS)
        # listed, but its book is not open yet: the CLOB shows it without token ids (research §1.4)
        assert not far["acceptingOrders"] and not far_clob["enable_order_book"]
        assert [t["token_id"] for t in far_clob["tokens"]] == ["", ""]
        # the next round's book opened book_lead_ms (300 s) before its start: it trades already
        assert nxt["acceptingOrders"] and nxt["startDate"] < nxt["eventStartTime"]
        up = json.loads(nxt["clobTokenIds"])[0]

        def buy(c: ClobClient) -> dict:
            return c.create_and_post_order(
                OrderArgs(token_id=up, price=0.51, size=5, side=Side.BUY),
                PartialCreateOrderOptions(tick_size="0.01"),
                OrderType.FOK,
            )

        res = await asyncio.to_thread(buy, _client(handle))
        assert res["success"] and res["status"] == "matched" and D(res["makingAmount"]) == D("2.55")
    finally:
        await handle.stop()


async def test_the_order_id_is_the_orders_eip712_hash():
    handle = await _start()
    try:
        async with aiohttp.ClientSession() as http:
            start = handle.clock.now_ms() // INTERVAL_MS * INTERVAL_MS
            up = json.loads((await _market(http, handle, start))["clobTokenIds"])[0]

        def place(c: ClobClient) -> tuple[str, dict, object]:
            signed = c.create_order(
                OrderArgs(token_id=up, price=0.02, size=5, side=Side.BUY),
                PartialCreateOrderOptions(tick_size="0.01"),
            )
            answer = c.post_order(signed, OrderType.GTC)
            return order_hash(signed, 137, False), answer, c.get_order(answer["orderID"])

        expected, answer, listed = await asyncio.to_thread(place, _client(handle))
        assert answer["orderID"] == expected and answer["status"] == "live"
        assert (
            listed["id"] == expected and listed["status"] == "LIVE" and isinstance(listed["created_at"], int)
        )
    finally:
        await handle.stop()
