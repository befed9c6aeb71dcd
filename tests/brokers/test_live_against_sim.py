"""The live broker against the simulator, through the official client (py-clob-client-v2, unmodified)
and the authenticated user channel: place, partially fill, cancel and reconcile one order; the
ledger must match the venue's own trade records (``/data/trades``). Real HTTP and WebSockets on
loopback; a throwaway key; the simulator's clock is frozen so the book holds still."""

from __future__ import annotations

import asyncio
import base64
import time
from decimal import Decimal as D

import aiohttp
import pytest
from eth_account import Account
from py_clob_client_v2 import ApiCreds, ClobClient

from tradingfloor.brokers.live import LiveBroker
from tradingfloor.brokers.user_channel import UserChannel
from tradingfloor.market.events import MarketInfo
from tradingfloor.market.gamma import GammaClient, round_slug, round_start_ms
from tradingfloor.sim.model import SimConfig
from tradingfloor.sim.server import SimHandle, start_simulator
from tradingfloor.trading.fees import taker_fee
from tradingfloor.trading.ledger import Ledger
from tradingfloor.trading.orders import Order, OrderResult, client_order_id

CREDS = ApiCreds("0b6c3f7e-1d2a-4c5b-9e8f-7a6b5c4d3e2f", base64.urlsafe_b64encode(b"s" * 32).decode(), "pass")


async def _current_round(handle: SimHandle) -> tuple[MarketInfo, D, D]:
    """The round trading now, and the Up token's best ask and the size there."""
    async with aiohttp.ClientSession() as http:
        now = handle.clock.now_ms()
        info = await GammaClient(handle.url, http).fetch_round(
            round_slug("BTC", "15m", round_start_ms(now, "15m"))
        )
        assert info is not None
        async with http.get(f"{handle.url}/sim/book", params={"token_id": info.up_token_id}) as r:
            price, size = (await r.json())["asks"][0]
    return info, D(price), D(size)


def _until(broker: LiveBroker, pred, timeout_s: float = 10.0) -> list[OrderResult]:
    """Advance the broker (draining the user channel) until ``pred(results so far)``."""
    results: list[OrderResult] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        results += broker.advance(0, {})  # now=0: the periodic REST reconcile never falls due
        if pred(results):
            return results
        time.sleep(0.05)
    raise AssertionError(f"condition not met; results so far: {results}")


def _assert_ledger_matches_venue(broker: LiveBroker, client: ClobClient, info: MarketInfo) -> list[dict]:
    trades = client.get_trades()
    assert trades, "the venue recorded no trade"
    bought = sum(D(t["size"]) for t in trades)
    paid = sum(D(t["size"]) * D(t["price"]) for t in trades)
    fees = sum(
        taker_fee(D(t["size"]), D(t["price"]), D(t["fee_rate_bps"]) / 10_000, info.fee_exponent)
        for t in trades
    )
    pos = broker.ledger.positions[info.up_token_id]
    assert pos.shares == bought and pos.cost_basis == paid and broker.ledger.fees == fees > 0
    assert broker.ledger.cash == D(1000) - paid - fees
    return trades


@pytest.mark.parametrize("async_answers", [False, True], ids=["answer-with-status", "async-answer"])
async def test_place_partially_fill_cancel_and_reconcile_through_the_user_channel(async_answers):
    config = SimConfig(seed=3, assets=("BTC",), async_order_answers=async_answers)
    handle = await start_simulator("127.0.0.1", 0, config, speed=1)
    channel = None
    try:
        await asyncio.sleep(0.2)
        handle.clock.pause()  # the market holds still: the touch is all there is to take
        info, ask, ask_size = await _current_round(handle)
        client = ClobClient(host=handle.url, chain_id=137, key=Account.create().key.hex(), creds=CREDS)
        broker = LiveBroker(Ledger(D(1000)), client, reconcile_every_ms=10**9)
        broker.register_market(info)
        channel = UserChannel(
            handle.user_ws_url, CREDS.api_key, CREDS.api_secret, CREDS.api_passphrase, ping_interval_s=0.5
        ).start()
        broker.attach_user_channel(channel)
        assert await asyncio.to_thread(channel.connected.wait, 5.0)

        size = ask_size + 10  # more than the touch holds: part fills at once, the rest rests
        order = Order(
            client_order_id("a1", info.market_id, 1), "a1", info.market_id, info.up_token_id,
            "BUY", ask, size, "GTC", handle.clock.now_ms(),
        )  # fmt: skip
        placed = await asyncio.to_thread(broker.submit, order, {}, order.ts_ms)
        sub = broker.submissions[order.client_id]
        venue_order = handle.server.exchange.orders[sub.order_hash]  # the venue's id is the order hash
        assert venue_order.matched == ask_size and venue_order.status == "LIVE"
        if async_answers:  # success without a status: unknown, nothing booked, nothing final
            assert placed.status == "pending" and not placed.fills and sub.state == "unknown"
        else:
            assert placed.status == "resting" and sum(f.size for f in placed.fills) == ask_size

        # the user channel delivers the placement and (async) the fill
        results = await asyncio.to_thread(
            _until, broker, lambda _: sub.state == "resting" and sub.matched > 0
        )
        if async_answers:
            assert sum(f.size for r in results for f in r.fills) == ask_size
        assert all(f.liquidity == "taker" for f in broker_fills(placed, results))

        # cancel the rest: the venue really cancels it, the channel reports it, the order closes
        assert await asyncio.to_thread(broker.cancel, order.client_id)
        assert venue_order.status == "CANCELED"
        assert await asyncio.to_thread(client.get_order, sub.order_hash) is None
        # final; its fills were reported earlier, so this last word carries none ("cancelled")
        done = await asyncio.to_thread(_until, broker, lambda rs: any(r.status == "cancelled" for r in rs))
        assert [(r.status, r.fills) for r in done][-1] == ("cancelled", ()) and sub.matched == ask_size
        assert not broker.open_submissions() and not await asyncio.to_thread(broker.cancel, order.client_id)

        # reconciling by hash changes nothing more: every venue trade is booked once
        assert await asyncio.to_thread(broker.reconcile, handle.clock.now_ms()) == []
        trades = await asyncio.to_thread(_assert_ledger_matches_venue, broker, client, info)
        assert sorted(sub.trade_ids) == sorted(t["id"] for t in trades)
    finally:
        if channel is not None:
            channel.stop()
        await handle.stop()


def broker_fills(placed: OrderResult, results: list[OrderResult]):
    return [*placed.fills, *(f for r in results for f in r.fills)]


async def test_without_the_user_channel_rest_reconciliation_books_the_fills():
    """The fallback: an asynchronous answer, no user channel; reconciling by hash finds the order
    (open at the venue) and its trade, then, once cancelled, closes it from its trades alone."""
    config = SimConfig(seed=3, assets=("BTC",), async_order_answers=True)
    handle = await start_simulator("127.0.0.1", 0, config, speed=1)
    try:
        await asyncio.sleep(0.2)
        handle.clock.pause()
        info, ask, ask_size = await _current_round(handle)
        client = ClobClient(host=handle.url, chain_id=137, key=Account.create().key.hex(), creds=CREDS)
        broker = LiveBroker(Ledger(D(1000)), client, reconcile_every_ms=0)
        broker.register_market(info)
        order = Order(
            client_order_id("a1", info.market_id, 2), "a1", info.market_id, info.up_token_id,
            "BUY", ask, ask_size + 5, "GTC", handle.clock.now_ms(),
        )  # fmt: skip
        placed = await asyncio.to_thread(broker.submit, order, {}, order.ts_ms)
        assert placed.status == "pending"
        (found,) = await asyncio.to_thread(broker.advance, 1, {})
        assert found.status == "resting" and sum(f.size for f in found.fills) == ask_size
        # cancelled behind the broker's back (e.g. by the venue at a heartbeat timeout)
        sub = broker.submissions[order.client_id]
        assert handle.server.exchange.cancel([sub.order_hash], handle.clock.now_ms())["canceled"]
        (closed,) = await asyncio.to_thread(broker.advance, 2, {})
        assert closed.status == "cancelled" and not closed.fills and sub.matched == ask_size
        await asyncio.to_thread(_assert_ledger_matches_venue, broker, client, info)
    finally:
        await handle.stop()


async def test_what_the_user_channel_missed_while_down_is_reconciled_on_reconnect():
    handle = await start_simulator("127.0.0.1", 0, SimConfig(seed=3, assets=("BTC",)), speed=1)
    channel = None
    try:
        await asyncio.sleep(0.2)
        handle.clock.pause()
        info, ask, _ = await _current_round(handle)
        client = ClobClient(host=handle.url, chain_id=137, key=Account.create().key.hex(), creds=CREDS)
        broker = LiveBroker(Ledger(D(1000)), client, reconcile_every_ms=10**9)
        broker.register_market(info)
        channel = UserChannel(
            handle.user_ws_url, CREDS.api_key, CREDS.api_secret, CREDS.api_passphrase, retry_s=0.3
        ).start()
        broker.attach_user_channel(channel)
        assert await asyncio.to_thread(channel.connected.wait, 5.0)
        order = Order(
            client_order_id("a1", info.market_id, 3), "a1", info.market_id, info.up_token_id,
            "BUY", ask - D("0.05"), D(10), "GTC", handle.clock.now_ms(),
        )  # fmt: skip
        assert (await asyncio.to_thread(broker.submit, order, {}, order.ts_ms)).status == "resting"
        await asyncio.to_thread(_until, broker, lambda _: channel.connects == 1 and channel.updates.empty())

        for sub in list(handle.server.user_subs):  # the venue drops the socket …
            await sub.ws.close()
        await asyncio.to_thread(lambda: _wait(lambda: not channel.connected.is_set()))
        venue_hash = broker.submissions[order.client_id].order_hash
        handle.server.exchange.cancel([venue_hash], handle.clock.now_ms())  # … and the order closes meanwhile
        handle.server.tick()  # its CANCELLATION goes out to nobody
        assert await asyncio.to_thread(lambda: _wait(lambda: channel.connects == 2))

        # the reconnection makes the broker ask the venue by REST: the order is closed, unfilled
        done = await asyncio.to_thread(_until, broker, lambda rs: any(r.status == "cancelled" for r in rs))
        assert [r.status for r in done] == ["cancelled"] and not broker.open_submissions()
        assert broker.ledger.cash == D(1000)
    finally:
        if channel is not None:
            channel.stop()
        await handle.stop()


def _wait(pred, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False
