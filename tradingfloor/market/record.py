"""``floor record``: follow a series' rounds and write every raw frame to a recording."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import aiohttp

from tradingfloor.market.clob import ClobRest
from tradingfloor.market.codec import event_to_json
from tradingfloor.market.events import NewMarket
from tradingfloor.market.gamma import GammaClient, discover_rounds
from tradingfloor.market.recorder import FrameRecorder
from tradingfloor.market.spot import RtdsSpotStream
from tradingfloor.market.ws import MarketStream
from tradingfloor.observability.logging import get_logger

log = get_logger("tradingfloor.market.record")


async def record(
    path: str | Path,
    asset: str,
    interval: str,
    duration_s: float,
    *,
    gamma_url: str,
    clob_url: str,
    market_ws_url: str,
    spot_ws_url: str | None = None,
    stale_after: float = 30.0,
) -> int:
    """Record for ``duration_s`` wall seconds; returns the number of frames written."""
    rec = FrameRecorder(
        path,
        meta={
            "asset": asset,
            "interval": interval,
            "market_ws_url": market_ws_url,
            "spot_ws_url": spot_ws_url,
        },
    )
    deadline = time.monotonic() + duration_s
    try:
        async with aiohttp.ClientSession() as http:
            clob = ClobRest(clob_url, http)
            rounds = await discover_rounds(
                GammaClient(gamma_url, http),
                asset,
                interval,
                await clob.server_time_ms(),
                count=2,
                retries=3,
                retry_delay_s=1.0,
            )
            now_ms = await clob.server_time_ms()
            for r in rounds:  # a replay needs each round's fees, ticks and tokens, which Gamma gave us
                rec.write("listing", event_to_json(NewMarket(r, now_ms)), int(time.time() * 1000))
            # rounds not open yet have no book: they are followed when their new_market arrives
            tokens = [t for r in rounds if r.start_ms <= now_ms for t in (r.up_token_id, r.down_token_id)]
            stream = MarketStream(
                market_ws_url, tokens, clob=clob, stale_after=stale_after, raw_sink=rec.sink("market")
            )
            tasks = []

            async def follow_market() -> None:
                async for ev in stream:
                    if isinstance(ev, NewMarket) and ev.info.asset == asset and ev.info.interval == interval:
                        await stream.subscribe([ev.info.up_token_id, ev.info.down_token_id])

            tasks.append(asyncio.create_task(follow_market()))
            spot = None
            if spot_ws_url:
                spot = RtdsSpotStream(spot_ws_url, (asset,), stale_after=stale_after)

                async def follow_spot() -> None:
                    async for item in spot.feed.frames():
                        if isinstance(item, tuple):
                            rec.write("spot", item[0], item[1])

                tasks.append(asyncio.create_task(follow_spot()))
            try:
                await asyncio.sleep(max(0.0, deadline - time.monotonic()))
            finally:
                await stream.close()
                if spot is not None:
                    await spot.close()
                for t in tasks:
                    t.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await t
    finally:
        rec.close()
    log.info("recording_written", path=str(path), frames=rec.frames)
    return rec.frames
