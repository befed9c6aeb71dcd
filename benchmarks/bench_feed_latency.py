"""Live-path feed-to-decision latency, measured from the venue's frame: each simulator event is
turned into the frame the venue sends (``tradingfloor.sim.wire``), and the clock starts with that
frame in hand. The collector's work follows (decode the frame with the live codec, encode the event,
publish on ``tf:md:<asset>:<interval>``), then the trader's (Redis subscription, decode, trader
runtime: strategy → sizing → risk → broker). Measured to (a) the broker call, for events that led
to an order, and (b) the end of the engine step, for every event. Aim: p99 of (a) under 1 ms.
Round listings come from Gamma in production, not from a frame: they are published directly and
not timed.

Uses REDIS_URL, or starts an embedded Redis. 5-minute rounds so that many orders happen quickly.
With ``--floor`` the trader reserves each order's cost against the floor-wide cap in Redis as a
deployed trader does (``RedisFloorCapital``: a synchronous round trip before the broker call);
without it the cap is kept in memory.

    .venv/bin/python benchmarks/bench_feed_latency.py [rounds] [speed] [--floor]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agent_image"))

import redis.asyncio as aioredis

from floor_agents.trader.agent import TraderRuntime
from floor_agents.trader.feed import channel
from floor_agents.trader.store import TraderStore
from tradingfloor.bus.exposure import RedisFloorCapital
from tradingfloor.market.codec import decode_frame, decode_spot_frame, event_from_json, event_to_bytes
from tradingfloor.market.events import (
    BookSnapshot,
    LastTrade,
    MarketEvent,
    MarketInfo,
    MarketResolved,
    NewMarket,
    PriceChange,
    SpotTick,
)
from tradingfloor.models.trader_agent import TraderAgentSpec
from tradingfloor.services.embedded import EmbeddedRedis
from tradingfloor.settings import Settings
from tradingfloor.sim import wire
from tradingfloor.sim.model import MarketSimulator, SimConfig
from tradingfloor.structs import parse

SPEC = parse(
    TraderAgentSpec,
    dict(
        strategy="momentum",
        market={"asset": "BTC", "interval": "5m"},
        params={"lookbackSeconds": 5, "thresholdBps": 1, "maxEntryPrice": "0.95", "minSecondsToClose": 30},
        risk={
            "capital": "100000",
            "riskPerTradeBps": 10,
            "maxPositionBps": 10000,
            "maxConcurrentTrades": 5,
            "dailyLossLimitBps": 10000,
            "maxDrawdownBps": 10000,
            "maxConsecutiveLosses": 1000,
        },
    ),
)


def venue_frame(ev: MarketEvent, infos: dict[str, MarketInfo]) -> bytes | None:
    """The frame the venue would send for ``ev`` (None for a round listing, which is Gamma's)."""
    import json

    if isinstance(ev, NewMarket):
        infos[ev.info.market_id] = ev.info
        return None
    if isinstance(ev, PriceChange):
        msg = wire.price_change_message(ev.market_id, ev.ts_ms, [(ev, ev.best_bid, ev.best_ask)])
    elif isinstance(ev, LastTrade):
        msg = wire.last_trade_message(ev)
    elif isinstance(ev, SpotTick):
        msg = wire.spot_update(ev.asset, ev.price, ev.volume, ev.ts_ms, ev.ts_ms)
    elif isinstance(ev, MarketResolved) and ev.market_id in infos:
        msg = wire.resolved_message(ev, infos[ev.market_id])
    elif isinstance(ev, BookSnapshot):
        msg = {
            "event_type": "book",
            "market": ev.market_id,
            "asset_id": ev.token_id,
            "timestamp": str(ev.ts_ms),
            "bids": [{"price": str(p), "size": str(s)} for p, s in reversed(ev.bids)],
            "asks": [{"price": str(p), "size": str(s)} for p, s in reversed(ev.asks)],
        }
    else:
        return None
    return json.dumps(msg).encode()


async def redis_hop(redis_url: str, n: int = 2000) -> list[float]:
    """Milliseconds from PUBLISH to the subscriber holding the message, with no work on either side:
    the floor under the figures above on this machine (same clients, same receive call)."""
    pub, sub = aioredis.from_url(redis_url), aioredis.from_url(redis_url)
    pubsub = sub.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe("tf:bench:hop")
    sent: dict[bytes, int] = {}
    hops: list[float] = []

    async def consumer() -> None:
        while len(hops) < n:
            msg = await pubsub.get_message(timeout=0.5)
            if msg is not None:
                hops.append((time.perf_counter_ns() - sent.pop(msg["data"])) / 1e6)

    async def publisher() -> None:
        for i in range(n):
            raw = b"%d" % i + b"x" * 200  # about a price change's size
            sent[raw] = time.perf_counter_ns()
            await pub.publish("tf:bench:hop", raw)
            await asyncio.sleep(0.002)

    await asyncio.wait_for(asyncio.gather(consumer(), publisher()), timeout=120)
    await pubsub.aclose()
    await pub.aclose()
    await sub.aclose()
    return hops


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * (len(xs) - 1)))]


async def bench(redis_url: str, rounds: int, speed: float, floor: bool) -> None:
    config = SimConfig(seed=5, assets=("BTC",), interval="5m", pattern="momentum")
    sim = MarketSimulator(config)
    state_dir = Path(tempfile.mkdtemp(prefix="tf-bench-"))
    runtime = await TraderRuntime.start(
        "bench-trader",
        SPEC,
        Settings(state_dir=state_dir),
        TraderStore(None, state_dir, "bench"),
        floor=RedisFloorCapital(redis_url, "bench-trader", Decimal(10_000_000)) if floor else None,
    )
    sent_at: dict[bytes, int] = {}
    to_order: list[float] = []
    to_decision: list[float] = []
    current = [0]
    observe_decision = runtime.engine.before_submit

    def time_to_order() -> None:
        to_order.append((time.perf_counter_ns() - current[0]) / 1e6)
        if observe_decision is not None:
            observe_decision()

    runtime.engine.before_submit = time_to_order
    ch = channel("BTC", "5m")
    pub, sub = aioredis.from_url(redis_url), aioredis.from_url(redis_url)
    pubsub = sub.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(ch)
    end_ms = config.start_ms + rounds * 300_000
    done = asyncio.Event()

    infos: dict[str, MarketInfo] = {}

    async def publisher() -> None:
        t = config.start_ms
        while t < end_ms:
            for e in sim.advance_to(t):
                frame = venue_frame(e, infos)
                if frame is None:  # a listing (Gamma's, in production): published as is, untimed
                    raw = event_to_bytes(e)
                    sent_at[raw] = time.perf_counter_ns()
                    await pub.publish(ch, raw)
                    continue
                started = time.perf_counter_ns()  # the frame is in hand: the collector's work starts
                events = (decode_spot_frame if isinstance(e, SpotTick) else decode_frame)(frame)[0]
                for ev in events:
                    raw = event_to_bytes(ev)
                    sent_at[raw] = started
                    await pub.publish(ch, raw)
            t += config.step_ms
            await asyncio.sleep(config.step_ms / 1000 / speed)
        done.set()

    async def consumer() -> None:
        while not (done.is_set() and not sent_at):
            msg = await pubsub.get_message(timeout=0.5)
            if msg is None:
                continue
            raw = msg["data"]
            current[0] = sent_at.pop(raw, time.perf_counter_ns())
            await runtime.on_event(event_from_json(raw), current[0])
            to_decision.append((time.perf_counter_ns() - current[0]) / 1e6)

    await asyncio.wait_for(asyncio.gather(publisher(), consumer()), timeout=600)
    await pubsub.aclose()
    await pub.aclose()
    await sub.aclose()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"events={len(to_decision)} orders={len(to_order)} rounds={rounds} speed={speed}x "
        f"floor cap in {'Redis' if floor else 'memory'} load={load}"
    )
    print(
        f"venue frame -> broker call (orders, parsing included): p50={statistics.median(to_order):.3f} ms "
        f"p99={pct(to_order, 0.99):.3f} ms p999={pct(to_order, 0.999):.3f} ms max={max(to_order):.3f} ms "
        "(target p99 < 1 ms)"
    )
    print(
        f"venue frame -> decision (all events): p50={statistics.median(to_decision):.3f} ms "
        f"p99={pct(to_decision, 0.99):.3f} ms p999={pct(to_decision, 0.999):.3f} ms"
    )
    hops = await redis_hop(redis_url)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"of which the Redis hop alone (publish -> subscriber, no work, {len(hops)} messages, load {load}): "
        f"p50={statistics.median(hops):.3f} ms p99={pct(hops, 0.99):.3f} ms"
    )


def main() -> None:
    floor = "--floor" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--floor"]
    rounds = int(args[0]) if args else 30
    speed = float(args[1]) if len(args) > 1 else 300.0
    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    url = os.environ.get("REDIS_URL")
    server = None
    if url is None:
        server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="tf-bench-redis-"))).start()
        url = server.url
    try:
        asyncio.run(bench(url, rounds, speed, floor))
    finally:
        if server is not None:
            server.destroy()


if __name__ == "__main__":
    main()
