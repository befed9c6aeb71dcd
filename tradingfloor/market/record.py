"""``floor record``: follow a series' rounds and write every raw frame to a recording.

Rounds are followed by both paths of ``tradingfloor.market.rounds``: the venue's ``new_market``
(completed from Gamma) and a periodic Gamma discovery. Each round's full info goes into the
recording as a ``listing`` record, so a replay knows its fees, tick, minimum size and tokens."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import aiohttp

from tradingfloor.market.clob import ClobRest
from tradingfloor.market.codec import event_to_json
from tradingfloor.market.events import MarketInfo, NewMarket, RoundListed
from tradingfloor.market.gamma import GammaClient, discover_rounds
from tradingfloor.market.recorder import FrameRecorder
from tradingfloor.market.rounds import RoundTracker
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
    discover_every: float = 30.0,
    rounds_found: dict[str, int] | None = None,
) -> int:
    """Record for ``duration_s`` wall seconds; returns the number of frames written. A dict given
    as ``rounds_found`` is filled with the number of rounds each path found."""
    tracker: RoundTracker | None = None
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
            gamma = GammaClient(gamma_url, http, clob_url=clob_url)
            rounds = await discover_rounds(
                gamma,
                asset,
                interval,
                await clob.server_time_ms(),
                count=2,
                retries=3,
                retry_delay_s=1.0,
            )
            tracker = RoundTracker(gamma, asset, interval, retry_delay_s=1.0)
            now_ms = await clob.server_time_ms()
            for r in rounds:
                tracker.adopt(r, "discovery")
                rec.write("listing", event_to_json(NewMarket(r, now_ms)), int(time.time() * 1000))
            # rounds not open yet may have no book: they are subscribed when their new_market
            # arrives or, failing that, once discovery sees that they have started
            tokens = [t for r in tracker.due(now_ms) for t in (r.up_token_id, r.down_token_id)]
            stream = MarketStream(
                market_ws_url, tokens, clob=clob, stale_after=stale_after, raw_sink=rec.sink("market")
            )
            tasks = []

            async def subscribe(info: MarketInfo | None) -> None:
                if info is not None:
                    await stream.subscribe([info.up_token_id, info.down_token_id])

            async def open_round(info: MarketInfo | None, ts_ms: int, retries: int = 3) -> None:
                """Follow a round that has opened, and record its price to beat once known."""
                if info is None:
                    return
                await subscribe(info)
                newer = await tracker.refresh(info, retries=retries)
                if newer is not None:
                    rec.write("listing", event_to_json(NewMarket(newer, ts_ms)), int(time.time() * 1000))

            async def complete(listed: RoundListed) -> None:
                info = await tracker.complete(listed)
                if info is not None and tracker.adopt(info, "new_market"):
                    rec.write(
                        "listing", event_to_json(NewMarket(info, listed.ts_ms)), int(time.time() * 1000)
                    )
                    await subscribe(tracker.follow(info.market_id))

            async def follow_market() -> None:
                async for ev in stream:
                    if isinstance(ev, RoundListed) and tracker.ours(ev):
                        if ev.market_id in tracker.known:
                            tracker.heard(ev)
                            tasks.append(
                                asyncio.create_task(open_round(tracker.follow(ev.market_id), ev.ts_ms))
                            )
                        else:
                            tasks.append(asyncio.create_task(complete(ev)))
                    elif (
                        isinstance(ev, NewMarket) and ev.info.asset == asset and ev.info.interval == interval
                    ):
                        tracker.adopt(ev.info, "new_market")  # complete: an older simulator's shape
                        await subscribe(tracker.follow(ev.info.market_id))

            async def discover_periodically() -> None:
                while True:
                    await asyncio.sleep(discover_every)
                    now = await clob.server_time_ms()
                    for info in await tracker.discover(now):
                        rec.write("listing", event_to_json(NewMarket(info, now)), int(time.time() * 1000))
                    for info in tracker.due(now):
                        await open_round(info, now, retries=0)
                    for info in tracker.unpriced(now):
                        newer = await tracker.refresh(info, retries=0)
                        if newer is not None:
                            rec.write(
                                "listing", event_to_json(NewMarket(newer, now)), int(time.time() * 1000)
                            )

            tasks.append(asyncio.create_task(follow_market()))
            tasks.append(asyncio.create_task(discover_periodically()))
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
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await t
    finally:
        rec.close()
    if rounds_found is not None and tracker is not None:
        rounds_found.update(tracker.counts())
    log.info(
        "recording_written",
        path=str(path),
        frames=rec.frames,
        rounds_found=tracker.counts() if tracker else {},
    )
    return rec.frames
