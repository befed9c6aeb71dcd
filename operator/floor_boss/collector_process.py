"""``floor collector``: one market-data collector as its own process (a Pod in Kubernetes).

Configured from the environment like the agents: REDIS_URL (required), DATABASE_URL (the archive;
optional), the POLYMARKET_* endpoint variables, METRICS_PORT (default 9108) for /metrics and
/healthz. SIGTERM stops it cleanly (the archive buffer is flushed); a fatal error exits non-zero.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Any

from tradingfloor.observability import metrics

EXPORT_SECONDS = 1.0


class CollectorMetrics:
    """Turns a running Collector's counters into Prometheus series (counters grow by deltas, so
    several collectors in one process — the local floor — add up)."""

    def __init__(self, collector: Any) -> None:
        self.collector = collector
        self.series = f"{collector.asset.lower()}-{collector.interval}"
        self._seen: dict[str, float] = {}

    def _delta(self, key: str, total: float) -> float:
        before = self._seen.get(key, 0.0)
        self._seen[key] = total
        return max(0.0, total - before)

    def sample(self) -> None:
        c = self.collector
        metrics.COLLECTOR_UP.labels(self.series).set(1)
        metrics.COLLECTOR_PUBLISHED.labels(self.series).inc(self._delta("published", c.published))
        metrics.COLLECTOR_ARCHIVED.labels(self.series).inc(self._delta("archived", c.archived))
        metrics.COLLECTOR_ARCHIVE_FAILURES.labels(self.series).inc(
            self._delta("archive_failures", c.archive_failures)
        )
        metrics.COLLECTOR_BACKLOG.labels(self.series).set(len(c._buffer))
        for source, stream in (("market", c.stream), ("spot", getattr(c, "spot", None))):
            if stream is None:
                continue
            stats = stream.stats
            metrics.MARKET_FRAMES.labels(source).inc(self._delta(f"{source}.frames", stats.frames))
            metrics.MARKET_RECONNECTS.labels(source).inc(
                self._delta(f"{source}.reconnects", stats.reconnects)
            )
            for reason, n in stats.malformed_reasons.items():
                metrics.MARKET_MALFORMED.labels(source, reason).inc(self._delta(f"{source}.bad.{reason}", n))
            if stats.last_frame_wall:
                metrics.MARKET_LAST_EVENT.labels(source).set(stats.last_frame_wall)

    def down(self) -> None:
        metrics.COLLECTOR_UP.labels(self.series).set(0)

    async def export(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), EXPORT_SECONDS)
        self.sample()


def collector_from_env(asset: str, interval: str) -> Any:
    from tradingfloor.market.collector import Collector, CollectorUrls
    from tradingfloor.persistence.market_archive import PostgresSink
    from tradingfloor.settings import Settings

    settings = Settings.from_env()
    if not settings.redis_url:
        raise ValueError("REDIS_URL is not set: the collector publishes market events through Redis")
    urls = CollectorUrls(
        settings.gamma_url,
        settings.clob_url,
        settings.market_ws_url,
        os.environ.get("POLYMARKET_SPOT_WS_URL") or None,
    )
    sink = PostgresSink(settings.database_url) if settings.database_url else None
    return Collector(asset.upper(), interval, urls, settings.redis_url, sink)


async def run_collector(asset: str, interval: str, metrics_port: int) -> None:
    from tradingfloor.status.process import HealthServer

    collector = collector_from_env(asset, interval)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    health = HealthServer(metrics_port)
    await health.start()
    exporter = CollectorMetrics(collector)
    export = asyncio.create_task(exporter.export(stop))
    try:
        await collector.run(stop)
        if not stop.is_set():
            raise RuntimeError("the collector stopped without being asked to")
    finally:
        stop.set()
        await export
        exporter.down()
        health.healthy = False
        await health.stop()
        if collector.sink is not None:
            await collector.sink.close()
