"""The adapter's real HTTP and WebSocket code against the real simulator server."""

from __future__ import annotations

import asyncio
import contextlib
import time

from tradingfloor.market.clob import ClobRest
from tradingfloor.market.events import BookSnapshot, MarketResolved, PriceChange, RoundListed
from tradingfloor.market.gamma import GammaClient, discover_rounds
from tradingfloor.market.ws import MarketStream
from tradingfloor.sim.server import start_simulator

from .conftest import FAST, books_match_when_paused, fast_config, wait_for


async def _consume(stream: MarketStream, seen: list) -> None:
    async for ev in stream:
        seen.append(ev)


async def test_discovery_subscribe_sync_through_a_round_and_resolution(sim, http):
    gamma, clob = GammaClient(sim.url, http), ClobRest(sim.url, http)
    now = await clob.server_time_ms()
    rounds = await discover_rounds(gamma, "BTC", "15m", now, count=2, retries=5, retry_delay_s=0.05)
    assert rounds, "the current round must be discoverable by its computed slug"
    current = rounds[0]
    assert current.slug == f"btc-updown-15m-{current.start_ms // 1000}"
    assert current.start_ms <= now < current.end_ms
    assert str(current.fee_rate) == "0.07" and current.fee_exponent == 1 and str(current.min_size) == "5.0"
    assert current.price_to_beat is not None
    tokens = [current.up_token_id, current.down_token_id]

    stream = MarketStream(
        sim.market_ws_url, tokens, clob=clob, stale_after=2.0, backoff_base=0.05, backoff_max=0.3
    )
    seen: list = []
    task = asyncio.create_task(_consume(stream, seen))
    try:
        assert await wait_for(lambda: all(stream.book(t) for t in tokens), 5.0), (
            "initial snapshot never arrived"
        )
        # compare with the simulator's own book at a few points through the round
        for _ in range(3):
            await asyncio.sleep(0.6)
            await books_match_when_paused(http, sim.url, stream, tokens)

        def resolved():
            return [e for e in seen if isinstance(e, MarketResolved) and e.market_id == current.market_id]

        assert await wait_for(lambda: bool(resolved()), (current.end_ms - now) / FAST / 1000 + 8.0), (
            "no market_resolved"
        )
        res = resolved()[0]
        async with http.get(f"{sim.url}/events", params={"slug": current.slug}) as r:
            meta = (await r.json())[0]["eventMetadata"]
        assert res.winning_outcome == ("Up" if meta["finalPrice"] >= meta["priceToBeat"] else "Down")
        assert res.winning_token_id == current.token_of(res.winning_outcome)
        kinds = {type(e).__name__ for e in seen}
        assert {"BookSnapshot", "PriceChange", "LastTrade", "BestBidAsk", "RoundListed"} <= kinds, kinds
        changes = [e for e in seen if isinstance(e, PriceChange) and e.market_id == current.market_id]
        assert len(changes) > 100, "a whole round should carry many level changes"
        assert stream.stats.malformed == 0 and stream.desyncs == 0
        # the next round is announced on the same socket, in the venue's shape: without the
        # minimum size, end time or price to beat, which Gamma supplies
        nxt = [e for e in seen if isinstance(e, RoundListed) and e.start_ms == current.end_ms]
        assert nxt and nxt[0].tick_size == current.tick_size and nxt[0].fee_rate == current.fee_rate
    finally:
        await stream.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_kill_and_restart_simulator_client_reconnects_and_resyncs(http):
    handle = await start_simulator("127.0.0.1", 0, fast_config(seed=5), speed=FAST / 3)
    port, clock = handle.port, handle.clock
    clob = ClobRest(handle.url, http)
    info = (
        await discover_rounds(
            GammaClient(handle.url, http),
            "BTC",
            "15m",
            await clob.server_time_ms(),
            count=1,
            retries=3,
            retry_delay_s=0.05,
        )
    )[0]
    tokens = [info.up_token_id, info.down_token_id]
    stale_after = 1.0
    stream = MarketStream(
        handle.market_ws_url, tokens, clob=clob, stale_after=stale_after, backoff_base=0.05, backoff_max=0.3
    )
    seen: list = []
    task = asyncio.create_task(_consume(stream, seen))
    restarted = None
    try:
        assert await wait_for(lambda: all(stream.book(t) for t in tokens), 5.0)
        await books_match_when_paused(http, handle.url, stream, tokens)
        connects_before = stream.stats.connects
        killed_at = time.monotonic()
        await handle.stop()
        noticed = await wait_for(
            lambda: stream.stats.connect_failures > 0 or stream.feed.ws is None, stale_after + 1.0
        )
        assert noticed and time.monotonic() - killed_at <= stale_after + 1.0, (
            "client did not notice the dead feed"
        )
        await asyncio.sleep(0.3)
        restarted = await start_simulator("127.0.0.1", port, fast_config(seed=5), clock=clock)
        assert await wait_for(lambda: stream.stats.connects > connects_before, 5.0), (
            "client did not reconnect"
        )
        snaps_after = len([e for e in seen if isinstance(e, BookSnapshot)])
        assert await wait_for(lambda: all(stream.book(t) for t in tokens), 5.0), (
            "no fresh snapshot after reconnect"
        )
        assert snaps_after >= 2
        await asyncio.sleep(0.3)
        await books_match_when_paused(http, restarted.url, stream, tokens)
    finally:
        await stream.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if restarted is not None:
            await restarted.stop()


async def test_silent_feed_is_declared_dead_within_the_staleness_bound(sim, http):
    clob = ClobRest(sim.url, http)
    info = (
        await discover_rounds(
            GammaClient(sim.url, http),
            "BTC",
            "15m",
            await clob.server_time_ms(),
            count=1,
            retries=3,
            retry_delay_s=0.05,
        )
    )[0]
    tokens = [info.up_token_id, info.down_token_id]
    stream = MarketStream(
        sim.market_ws_url,
        tokens,
        clob=clob,
        ping_interval=0.2,
        stale_after=0.8,
        backoff_base=0.05,
        backoff_max=0.2,
    )
    seen: list = []
    task = asyncio.create_task(_consume(stream, seen))
    try:
        assert await wait_for(lambda: all(stream.book(t) for t in tokens), 5.0)
        async with http.post(f"{sim.url}/sim/pause"):
            pass  # the socket stays open and keeps answering PING, but no data flows
        t0 = time.monotonic()
        assert await wait_for(lambda: stream.stats.stale_timeouts >= 1, 3.0), "watchdog never fired"
        assert time.monotonic() - t0 <= 0.8 + 0.5
        async with http.post(f"{sim.url}/sim/resume"):
            pass
        assert await wait_for(
            lambda: stream.stats.reconnects >= 1 and all(stream.book(t) for t in tokens), 5.0
        )
        await asyncio.sleep(0.2)
        await books_match_when_paused(http, sim.url, stream, tokens)
    finally:
        await stream.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
