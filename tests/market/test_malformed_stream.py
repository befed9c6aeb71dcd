"""A scripted venue (a real aiohttp WebSocket on loopback) sends garbage between good frames:
the client keeps going, counts each bad frame by reason and still applies the good ones."""

from __future__ import annotations

import asyncio
import contextlib
import json
from decimal import Decimal

from aiohttp import web

from tradingfloor.market.events import PriceChange
from tradingfloor.market.ws import MarketStream

from .conftest import wait_for
from .test_codec_and_book import ASSET, BOOK_BEST_LAST, MARKET

GARBAGE = [
    '{"event_type": "book", "market"',
    "not json at all",
    json.dumps({"event_type": "mystery"}),
    json.dumps(
        {
            "event_type": "last_trade_price",
            "market": MARKET,
            "asset_id": ASSET,
            "price": "1e9",
            "side": "BUY",
            "size": "1",
            "timestamp": "1",
        }
    ),
    json.dumps([{"event_type": "price_change", "market": MARKET}]),
    b"\xff\xfe",
]
GOOD_CHANGE = {
    "event_type": "price_change",
    "market": MARKET,
    "timestamp": "1703875209000",
    "price_changes": [
        {
            "asset_id": ASSET,
            "price": "0.47",
            "side": "BUY",
            "size": "10",
            "best_bid": "0.50",
            "best_ask": "0.51",
        }
    ],
}


async def test_stream_survives_and_counts_malformed_frames():
    async def venue(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.receive()  # the subscribe message
        await ws.send_str(json.dumps([BOOK_BEST_LAST]))
        for g in GARBAGE:
            await (ws.send_bytes(g) if isinstance(g, bytes) else ws.send_str(g))
        await ws.send_str(json.dumps(GOOD_CHANGE))
        with contextlib.suppress(Exception):
            await ws.receive(timeout=5)
        return ws

    app = web.Application()
    app.router.add_get("/ws/market", venue)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    stream = MarketStream(f"ws://127.0.0.1:{port}/ws/market", [ASSET], stale_after=5.0)
    seen: list = []

    async def consume():
        async for ev in stream:
            seen.append(ev)

    task = asyncio.create_task(consume())
    try:
        assert await wait_for(lambda: any(isinstance(e, PriceChange) for e in seen), 5.0)
        assert stream.stats.malformed == len(GARBAGE)
        reasons = stream.stats.malformed_reasons
        assert any("not JSON" in r for r in reasons) and any("unknown event_type" in r for r in reasons)
        assert any("UTF-8" in r for r in reasons)
        book = stream.book(ASSET)
        assert book is not None and len(book.bids()) == 4
        assert book.size_at("BUY", Decimal("0.48")) == 500 and book.size_at("BUY", Decimal("0.47")) == 10
        assert stream.desyncs == 0
    finally:
        await stream.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await runner.cleanup()
