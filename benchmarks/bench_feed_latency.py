"""Live-path feed-to-decision latency: a simulator event is published to Redis the way the collector
does (JSON on ``tf:md:<asset>:<interval>``), received by the trader's Redis subscription, decoded and
run through the trader runtime (engine: strategy → sizing → risk → broker). Measured from the
moment of publishing to (a) the broker call, for events that led to an order, and (b) the end of the
engine step, for every event. Aim: p99 of (a) under 5 ms.

Uses REDIS_URL, or starts an embedded Redis. 5-minute rounds so that many orders happen quickly.

    .venv/bin/python benchmarks/bench_feed_latency.py [rounds] [speed]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agent_image"))

import redis.asyncio as aioredis

from floor_agents.trader.agent import TraderRuntime
from floor_agents.trader.feed import channel
from floor_agents.trader.store import TraderStore
from tradingfloor.market.codec import event_from_json, event_to_json
from tradingfloor.models.trader_agent import TraderAgentSpec
from tradingfloor.services.embedded import EmbeddedRedis
from tradingfloor.settings import Settings
from tradingfloor.sim.model import MarketSimulator, SimConfig

SPEC = TraderAgentSpec(
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
)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * (len(xs) - 1)))]


async def bench(redis_url: str, rounds: int, speed: float) -> None:
    config = SimConfig(seed=5, assets=("BTC",), interval="5m", pattern="momentum")
    sim = MarketSimulator(config)
    state_dir = Path(tempfile.mkdtemp(prefix="tf-bench-"))
    runtime = await TraderRuntime.start(
        "bench-trader", SPEC, Settings(state_dir=state_dir), TraderStore(None, state_dir, "bench")
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

    async def publisher() -> None:
        t = config.start_ms
        while t < end_ms:
            for e in sim.advance_to(t):
                raw = event_to_json(e).encode()
                sent_at[raw] = time.perf_counter_ns()
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
    print(f"events={len(to_decision)} orders={len(to_order)} rounds={rounds} speed={speed}x")
    print(
        f"publish -> broker call (orders): p50={statistics.median(to_order):.3f} ms "
        f"p99={pct(to_order, 0.99):.3f} ms max={max(to_order):.3f} ms (target p99 < 5 ms)"
    )
    print(
        f"publish -> decision (all events): p50={statistics.median(to_decision):.3f} ms "
        f"p99={pct(to_decision, 0.99):.3f} ms"
    )


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    speed = float(sys.argv[2]) if len(sys.argv) > 2 else 300.0
    import os

    url = os.environ.get("REDIS_URL")
    server = None
    if url is None:
        server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="tf-bench-redis-"))).start()
        url = server.url
    try:
        asyncio.run(bench(url, rounds, speed))
    finally:
        if server is not None:
            server.destroy()


if __name__ == "__main__":
    main()
