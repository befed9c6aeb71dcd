"""The collector on the simulator at the demo's speed: events/s it publishes and how far behind the
market clock each published event reaches a subscriber.

Like the local floor, the simulator and the collector share one process (and one event loop);
the subscriber (a trader's stand-in) runs in a process of its own, so its work does not slow
the collector. Lag = the market clock when the subscriber reads an event − the event's market
timestamp, in market seconds (÷ speed for wall seconds). "First update" is each round's first
book update after the round opened: what a strategy's first signal of the round meets.

    .venv/bin/python benchmarks/bench_collector.py [--speed 90] [--seconds 60] [--seed 3] [--archive]

``--archive`` adds the PostgreSQL archive sink, as on the floor (starts an embedded PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import tempfile
import time
from pathlib import Path

ROUND_MS = 15 * 60 * 1000


def _subscribe(redis_url: str, start_ms: int, speed: float, anchor: float, seconds: float, out) -> None:
    from tradingfloor.market.collector import subscribe_market_events
    from tradingfloor.market.events import BookSnapshot, PriceChange

    lags: list[float] = []
    first: dict[str, float] = {}  # market id -> lag of its first book update after the round opened

    async def main() -> None:
        deadline = time.monotonic() + seconds
        async for ev in subscribe_market_events(redis_url, "BTC", "15m"):
            now_ms = start_ms + (time.time() - anchor) * 1000 * speed
            if isinstance(ev, (BookSnapshot, PriceChange)):
                lag = (now_ms - ev.ts_ms) / 1000
                lags.append(lag)
                opened = ev.ts_ms // ROUND_MS * ROUND_MS
                if ev.market_id not in first and ev.ts_ms - opened < ROUND_MS:
                    first[ev.market_id] = (now_ms - opened) / 1000
            if time.monotonic() > deadline:
                return

    asyncio.run(main())
    out.put((lags, list(first.values())))


async def _run(args: argparse.Namespace) -> None:
    from tradingfloor.market.collector import Collector, CollectorUrls
    from tradingfloor.services.embedded import EmbeddedPostgres, EmbeddedRedis
    from tradingfloor.sim.model import SimConfig
    from tradingfloor.sim.server import start_simulator

    tmp = Path(tempfile.mkdtemp(prefix="bench-collector-"))
    redis = EmbeddedRedis(tmp / "redis").start()
    pg = EmbeddedPostgres(tmp / "pg").start() if args.archive else None
    sink = None
    if pg is not None:
        from tradingfloor.persistence.market_archive import PostgresSink
        from tradingfloor.persistence.migrate import migrate

        await migrate(pg.url)
        sink = PostgresSink(pg.url)
    start_ms = (int(time.time() * 1000) // ROUND_MS) * ROUND_MS
    sim = await start_simulator("127.0.0.1", 0, SimConfig(seed=args.seed, start_ms=start_ms), args.speed)
    clock = sim.server.clock
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    reader = ctx.Process(
        target=_subscribe, args=(redis.url, clock.start_ms, clock.speed, clock.wall_anchor, args.seconds, out)
    )
    reader.start()
    await asyncio.sleep(3.0)  # the subscriber imports and subscribes before the collector publishes
    urls = CollectorUrls(sim.url, sim.url, sim.market_ws_url, sim.spot_ws_url)
    collector = Collector("BTC", "15m", urls, redis.url, sink, discover_every=max(1.0, 225 / args.speed))
    stop = asyncio.Event()
    began = time.monotonic()
    run = asyncio.create_task(collector.run(stop))
    try:
        lags, firsts = await asyncio.get_running_loop().run_in_executor(None, out.get)
    finally:
        elapsed = time.monotonic() - began
        stop.set()
        await asyncio.wait_for(run, 30)
        reader.join(10)
        await sim.stop()
        if sink is not None:
            await sink.close()
        redis.destroy()
        if pg is not None:
            pg.destroy()
    q = statistics.quantiles(lags, n=100) if len(lags) > 2 else [float("nan")] * 99
    print(f"speed x{args.speed:g}, {elapsed:.0f} wall s, archive {'on' if args.archive else 'off'}")
    print(f"published {collector.published} events, {collector.published / elapsed:.0f} events/s")
    print(
        f"book-event lag, market s: p50 {q[49]:.1f}  p90 {q[89]:.1f}  p99 {q[98]:.1f}  max {max(lags):.1f}"
        f"  (wall s: p50 {q[49] / args.speed:.2f}, max {max(lags) / args.speed:.2f})"
    )
    print("each round's first book update, market s after it opened:", " ".join(f"{f:.0f}" for f in firsts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=90.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--archive", action="store_true")
    asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
