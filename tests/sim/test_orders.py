"""py-clob-client-v2 (the official V2 client, unmodified) trading against the simulator."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from py_clob_client_v2 import ApiCreds, ClobClient, OrderArgs, OrderType, Side
from py_clob_client_v2.clob_types import OrderPayload

from tradingfloor.sim.model import SimConfig
from tradingfloor.sim.server import start_simulator

# a throwaway signing key and API triple: the simulator does not check signatures or credentials
TEST_KEY = "0x" + "11" * 32
TEST_CREDS = ApiCreds("sim-key", "c2ltdWxhdG9yLXNlY3JldA==", "sim-pass")


async def test_official_client_posts_matches_rests_and_cancels():
    handle = await start_simulator("127.0.0.1", 0, SimConfig(seed=1, assets=("BTC",)), speed=5)
    try:
        await asyncio.sleep(0.3)
        async with aiohttp.ClientSession() as s:
            async with s.get(
                f"{handle.url}/events", params={"slug": f"btc-updown-15m-{handle.clock.start_ms // 1000}"}
            ) as r:
                market = (await r.json())[0]["markets"][0]
            up = json.loads(market["clobTokenIds"])[json.loads(market["outcomes"]).index("Up")]
            async with s.get(f"{handle.url}/sim/book", params={"token_id": up}) as r:
                ask = float((await r.json())["asks"][0][0])

        def trade():
            c = ClobClient(host=handle.url, chain_id=137, key=TEST_KEY, creds=TEST_CREDS)
            taken = c.create_and_post_order(
                OrderArgs(token_id=up, price=round(min(ask + 0.05, 0.99), 2), size=10, side=Side.BUY),
                order_type=OrderType.FOK,
            )
            resting = c.create_and_post_order(OrderArgs(token_id=up, price=0.02, size=10, side=Side.BUY))
            live = c.get_order(resting["orderID"])
            canceled = c.cancel_order(OrderPayload(orderID=resting["orderID"]))
            return taken, resting, live, canceled, c.get_order(resting["orderID"])

        taken, resting, live, canceled, after = await asyncio.to_thread(trade)
        assert taken["success"] and taken["status"] == "matched" and taken["takingAmount"] == "10.00"
        assert taken["transactionsHashes"] and taken["tradeIDs"]
        assert resting["status"] == "live" and live["status"] == "LIVE" and live["price"] == "0.02"
        # like the venue, /data/order lists open orders only: a cancelled one is gone
        assert canceled["canceled"] == [resting["orderID"]] and after is None
        trade_rec = handle.server.exchange.trades[0]
        # a trade record names the market's fee rate (700 bps = 0.07), not a fee amount
        assert trade_rec["fee_rate_bps"] == "700" and "fee" not in trade_rec
    finally:
        await handle.stop()
