"""The trader's periodic duties, each on its own period until the runtime stops: checkpoint (commit
the engine state when it changed), heartbeat (liveness in Redis and the feed-lag gauge, flushing
the live broker's API-health counts), performance report (the agent's status) and status refresh
(the Floor Boss's size multiplier), and the floor's circuit breakers (new entries at zero size).

Kept apart from the trading logic in :mod:`.agent`: the timers only decide *when*; what each duty
does is the runtime's (``checkpoint``, ``report``, ``refresh_size``) or, for the heartbeat, here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis.asyncio as aioredis

from floor_agents.trader.agent import TraderRuntime
from tradingfloor.bus.heartbeats import Heartbeat
from tradingfloor.observability.logging import get_logger
from tradingfloor.observability.metrics import ERRORS, FEED_LAG, HEARTBEAT

log = get_logger("floor_agents.trader.timers")


@dataclass(frozen=True)
class Timers:
    """Periods in seconds."""

    checkpoint_s: float = 30.0
    heartbeat_s: float = 30.0
    report_s: float = 60.0
    status_s: float = 30.0  # how often the agent re-reads its status for the Floor Boss's size multiplier
    breakers_s: float = 1.0  # how often it reads the floor's open circuit breakers (one Redis GET)


class TraderTimers:
    def __init__(self, runtime: TraderRuntime, periods: Timers, redis: aioredis.Redis | None) -> None:
        self.runtime = runtime
        self.periods = periods
        self.redis = redis
        # ``tf:heartbeat:<agent>``, expiring after three missed beats
        self.beats = (
            Heartbeat(redis, runtime.name, ttl=3 * periods.heartbeat_s, interval=periods.heartbeat_s)
            if redis is not None
            else None
        )

    async def heartbeat(self) -> None:
        name = self.runtime.name
        HEARTBEAT.labels(name).set(time.time())
        FEED_LAG.labels(name).set(time.time() - self.runtime.last_event_wall)
        if self.beats is None or self.redis is None:
            return
        try:
            await self.beats.beat()
        except Exception as exc:
            ERRORS.labels(name, "redis").inc()
            log.warning("trader.heartbeat_failed", agent=name, error=str(exc))
        if self.runtime.api is not None:
            await self.runtime.api.flush(self.redis)

    def _duties(self) -> dict[str, tuple[float, Callable[[], Awaitable[None]]]]:
        p, rt = self.periods, self.runtime
        return {
            "checkpoint": (p.checkpoint_s, rt.checkpoint),
            "heartbeat": (p.heartbeat_s, self.heartbeat),
            "report": (p.report_s, rt.report),
            "status": (p.status_s, rt.refresh_size),
            "breakers": (p.breakers_s, rt.refresh_floor_breakers),
        }

    async def run(self) -> None:
        """Every duty at once, then each again after its period, until the runtime is stopping.
        A failing duty is counted and logged; it does not stop the others."""
        duties = self._duties()
        due = dict.fromkeys(duties, 0.0)
        stopping = self.runtime.stopping
        while not stopping.is_set():
            now = time.monotonic()
            for key, (period, duty) in duties.items():
                if now >= due[key]:
                    try:
                        await duty()
                    except Exception as exc:
                        ERRORS.labels(self.runtime.name, key).inc()
                        log.error("trader.timer_failed", agent=self.runtime.name, timer=key, error=str(exc))
                    due[key] = now + period
            try:
                await asyncio.wait_for(
                    stopping.wait(), timeout=max(0.05, min(due.values()) - time.monotonic())
                )
            except TimeoutError:
                pass
