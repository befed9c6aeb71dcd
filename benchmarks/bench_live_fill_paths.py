"""How fast the live broker learns an asynchronously answered order's fill, by each path, against the
local simulator (loopback; the official client signs every order):

* user channel — time from the POST's answer until :meth:`LiveBroker.advance` has booked the fill
  from the authenticated user channel;
* REST — time of one :meth:`LiveBroker.reconcile` that finds it by hash (``/data/order`` then
  ``/data/trades``).

The simulator publishes a trade on the user channel before it answers the POST, so the first figure
is mostly the broker's own work; on the venue add the channel's delivery delay.

    .venv/bin/python benchmarks/bench_live_fill_paths.py [orders]
"""

from __future__ import annotations

import asyncio
import base64
import statistics
import sys
import time
from decimal import Decimal as D

import aiohttp
from eth_account import Account
from py_clob_client_v2 import ApiCreds, ClobClient

from tradingfloor.brokers.live import LiveBroker
from tradingfloor.brokers.user_channel import UserChannel
from tradingfloor.market.gamma import GammaClient, round_slug, round_start_ms
from tradingfloor.sim.model import SimConfig
from tradingfloor.sim.server import start_simulator
from tradingfloor.trading.ledger import Ledger
from tradingfloor.trading.orders import Order, client_order_id

CREDS = ApiCreds("bench-key", base64.urlsafe_b64encode(b"s" * 32).decode(), "pass")


def _order(info, seq: int, price: D) -> Order:
    return Order(
        client_order_id("bench", info.market_id, seq), "bench", info.market_id, info.up_token_id,
        "BUY", price, D(5), "FAK", 0,
    )  # fmt: skip


def run(handle, info, ask: D, n: int) -> tuple[list[float], list[float]]:
    def broker(channel: UserChannel | None) -> LiveBroker:
        client = ClobClient(host=handle.url, chain_id=137, key=Account.create().key.hex(), creds=CREDS)
        b = LiveBroker(Ledger(D(100_000)), client, reconcile_every_ms=10**12)
        b.register_market(info)
        if channel is not None:
            b.attach_user_channel(channel)
        return b

    channel = UserChannel(handle.user_ws_url, CREDS.api_key, CREDS.api_secret, CREDS.api_passphrase).start()
    channel.connected.wait(5)
    via_channel = broker(channel)
    via_channel.advance(0, {})  # the connection's own reconcile
    ws_ms, rest_ms = [], []
    for i in range(n):
        o = _order(info, i, ask)
        via_channel.submit(o, {}, 0)
        t0 = time.perf_counter()
        while not via_channel.submissions[o.client_id].matched:
            via_channel.advance(0, {})
        ws_ms.append((time.perf_counter() - t0) * 1000)
    channel.stop()
    via_rest = broker(None)
    for i in range(n):
        o = _order(info, n + i, ask)
        via_rest.submit(o, {}, 0)
        t0 = time.perf_counter()
        via_rest.reconcile(1)
        rest_ms.append((time.perf_counter() - t0) * 1000)
        assert via_rest.submissions[o.client_id].matched
    return ws_ms, rest_ms


async def main(n: int) -> None:
    config = SimConfig(seed=3, assets=("BTC",), async_order_answers=True, touch_shares=100_000.0)
    handle = await start_simulator("127.0.0.1", 0, config, speed=1)
    try:
        await asyncio.sleep(0.2)
        handle.clock.pause()
        async with aiohttp.ClientSession() as http:
            now = handle.clock.now_ms()
            info = await GammaClient(handle.url, http).fetch_round(
                round_slug("BTC", "15m", round_start_ms(now, "15m"))
            )
            assert info is not None, "the simulator lists the current round"
            async with http.get(f"{handle.url}/sim/book", params={"token_id": info.up_token_id}) as r:
                ask = D((await r.json())["asks"][0][0])
        ws_ms, rest_ms = await asyncio.to_thread(run, handle, info, ask, n)
    finally:
        await handle.stop()
    for name, xs in (("user channel", ws_ms), ("REST reconcile", rest_ms)):
        xs.sort()
        print(
            f"{name:>15}: {n} fills, median {statistics.median(xs):.2f} ms, "
            f"p90 {xs[int(0.9 * (len(xs) - 1))]:.2f} ms, max {xs[-1]:.2f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50))
