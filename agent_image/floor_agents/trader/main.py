"""``floor agent trader``: wire the runtime to its manifest, Redis, the database, the status sink and
the metrics port, then consume market events until SIGTERM/SIGINT.

Environment (``tradingfloor.settings.Settings``): DATABASE_URL, REDIS_URL, FLOOR_STATE_DIR,
HEARTBEAT_INTERVAL, CHECKPOINT_INTERVAL, FLOOR_ALLOW_LIVE_TRADING, POLYMARKET_*; plus
TRADER_REPORT_INTERVAL (seconds between performance reports, default 60) and TRADER_STATUS_INTERVAL
(seconds between reads of the agent's own status for the Floor Boss's size multiplier, default 30).

FLOOR_CAPITAL: the floor's total capital in USDC, set by whoever runs the floor (the operator's pod
environment, or the environment of ``floor up``, which its agent processes inherit). Every trader
then reserves each order's cost in Redis against a floor-wide cap of ``FLOOR_DEPLOYED_SHARE`` (40 %)
of it (:class:`tradingfloor.bus.exposure.RedisFloorCapital`). Unset, there is no floor-wide cap:
each agent is bounded by its own risk limits only (logged as a warning).
"""

from __future__ import annotations

import asyncio
import os
import signal
from decimal import Decimal, InvalidOperation
from pathlib import Path

import redis.asyncio as aioredis

from floor_agents.trader import manifest as manifests
from floor_agents.trader.agent import TraderRuntime
from floor_agents.trader.cache import MarketCache
from floor_agents.trader.feed import redis_events
from floor_agents.trader.metrics_server import start_metrics_server
from floor_agents.trader.store import TraderStore
from floor_agents.trader.timers import Timers, TraderTimers
from tradingfloor.bus.exposure import RedisFloorCapital
from tradingfloor.observability.logging import configure_logging, get_logger
from tradingfloor.settings import Settings
from tradingfloor.status.sink import StatusSink
from tradingfloor.trading.risk import FLOOR_DEPLOYED_SHARE

log = get_logger("floor_agents.trader")


def _status_sink(resource: str | None, namespace: str, store: TraderStore) -> StatusSink | None:
    if resource is not None:
        from tradingfloor.status.kubernetes import KubernetesStatusSink

        return KubernetesStatusSink(namespace)
    if store.db is not None:
        from tradingfloor.status.database import DatabaseStatusSink

        return DatabaseStatusSink(store.db)
    return None


def floor_capital(redis_url: str, agent: str, raw: str | None) -> RedisFloorCapital | None:
    """The floor-wide capital cap from ``FLOOR_CAPITAL`` (``raw``), or None when it is not set."""
    if raw is None or not raw.strip():
        log.warning(
            "trader.no_floor_capital_cap",
            agent=agent,
            reason="FLOOR_CAPITAL is not set: no floor-wide deployed-capital cap",
        )
        return None
    try:
        total = Decimal(raw.strip())
    except InvalidOperation:
        raise ValueError(
            f"FLOOR_CAPITAL={raw!r} is not an amount (the floor's total capital in USDC)"
        ) from None
    if not total.is_finite() or total <= 0:
        raise ValueError(
            f"FLOOR_CAPITAL={raw!r} must be a positive amount (the floor's total capital in USDC)"
        )
    return RedisFloorCapital(redis_url, agent, total * FLOOR_DEPLOYED_SHARE)


async def run(
    manifest: Path | None,
    resource: str | None,
    namespace: str,
    metrics_port: int,
    settings: Settings | None = None,
) -> None:
    settings = settings or Settings.from_env()
    if manifest is not None:
        name, spec = manifests.from_file(manifest)
    elif resource is not None:
        name, spec = await manifests.from_resource(resource, namespace)
    else:
        raise ValueError("the trader needs its manifest: a file (--manifest) or a TraderAgent (--resource)")
    if spec.lifecycle == "Retired":
        log.info("trader.retired", agent=name)
        return
    if settings.redis_url is None:
        raise ValueError(
            "REDIS_URL is not set: the trader reads market events from the collector through Redis"
        )
    redis = aioredis.Redis.from_url(settings.redis_url)
    store = TraderStore(settings.database_url, settings.state_dir, name)
    timers = Timers(
        checkpoint_s=settings.checkpoint_interval,
        heartbeat_s=settings.heartbeat_interval,
        report_s=float(os.environ.get("TRADER_REPORT_INTERVAL", "60")),
        status_s=float(os.environ.get("TRADER_STATUS_INTERVAL", "30")),
    )
    cache = MarketCache(redis, spec.market.asset, spec.market.interval, name)
    status = (
        manifests.resource_status(resource, namespace)
        if resource is not None
        else (manifests.database_status(store.db, name) if store.db is not None else None)
    )
    floor = floor_capital(settings.redis_url, name, os.environ.get("FLOOR_CAPITAL"))
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()  # a signal during start-up stops the agent once it has started
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_requested.set)
    runtime = await TraderRuntime.start(
        name,
        spec,
        settings,
        store,
        redis=redis,
        sink=_status_sink(resource, namespace, store),
        cache=cache,
        status=status,
        floor=floor,
    )
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, runtime.stopping.set)
    if stop_requested.is_set():
        runtime.stopping.set()
    metrics = (
        await start_metrics_server(metrics_port, lambda: not runtime.stopping.is_set())
        if metrics_port
        else None
    )
    timers_task = asyncio.create_task(TraderTimers(runtime, timers, redis).run())
    trading = spec.lifecycle == "Active"
    try:
        async for item in redis_events(
            redis,
            spec.market.asset,
            spec.market.interval,
            name,
            on_subscribed=runtime.catch_up if trading else None,
        ):
            if runtime.stopping.is_set():
                break
            if item is not None and trading:
                await runtime.on_event(*item)
    finally:
        await runtime.stop()
        timers_task.cancel()
        await asyncio.gather(timers_task, return_exceptions=True)
        if metrics is not None:
            await metrics.cleanup()
        await redis.aclose()
        log.info("trader.stopped", agent=name, seq=runtime.seq)


def main(
    manifest: Path | None = None,
    resource: str | None = None,
    namespace: str = "default",
    metrics_port: int = 9100,
) -> None:
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    asyncio.run(run(manifest, resource, namespace, metrics_port, settings))
