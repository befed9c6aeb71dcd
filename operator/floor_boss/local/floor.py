"""``floor up``: the whole floor on one machine.

Starts (or reuses) PostgreSQL and Redis, migrates, starts the simulator (or points at Polymarket),
runs one collector per market series, stores the manifests, and supervises every agent as its own
OS process with the shared decision core — until ``--for`` runs out or Ctrl-C. Running it again
resumes: agents, clones, statuses, checkpoints and the ledger live in PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from floor_boss.local.dashboard import render
from floor_boss.local.processes import AgentProcesses
from floor_boss.local.status import agent_rows, recent_events
from floor_boss.local.store import LocalStore
from floor_boss.local.supervisor import LocalSupervisor
from tradingfloor.decisions import FloorPolicy
from tradingfloor.models.manifests import ManifestError, Resource, load_manifests
from tradingfloor.observability.logging import get_logger
from tradingfloor.persistence import repositories as repo
from tradingfloor.services import local as services

log = get_logger("floor_boss.floor")
POLL_SECONDS = 0.25  # how soon a crashed agent is noticed (a pass that changes nothing writes nothing)


@dataclass
class FloorOptions:
    manifests: Path = Path("examples")
    state_dir: Path = Path("var")
    market: str = "sim"  # sim | polymarket
    speed: float = 30.0
    seed: int = 1
    pattern: str = "none"
    duration_s: float | None = None
    dashboard: bool = True
    database_url: str | None = None
    redis_url: str | None = None
    policy: FloorPolicy = field(default_factory=FloorPolicy)
    agent_env: dict[str, str] = field(default_factory=dict)  # extra environment for agent processes


class FloorAlreadyRunning(RuntimeError):
    pass


@contextlib.contextmanager
def floor_lock(state_dir: Path):
    state_dir.mkdir(parents=True, exist_ok=True)
    handle = open(state_dir / "floor.lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise FloorAlreadyRunning(
            f"another `floor up` is running in {state_dir}/ (see {state_dir}/services.json)"
        ) from None
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def read_manifests(path: Path) -> tuple[list[Resource], list[str]]:
    """Every valid manifest under ``path``, and a message for each file that is not (skipped, not fatal)."""
    files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
    resources: list[Resource] = []
    errors: list[str] = []
    for file in files:
        try:
            resources.extend(load_manifests(file))
        except ManifestError as exc:
            errors.append(str(exc))
    return resources, errors


def floor_capital(agents: list[repo.AgentRow]) -> Decimal:
    return sum(
        (
            Decimal(str((a.spec.get("risk") or {}).get("capital", "0")))
            for a in agents
            if a.kind == "TraderAgent" and a.spec.get("lifecycle") != "Retired"
        ),
        Decimal(0),
    )


def _market_series(agents: list[repo.AgentRow]) -> set[tuple[str, str]]:
    return {
        (a.spec["market"]["asset"], a.spec["market"].get("interval", "15m"))
        for a in agents
        if a.kind == "TraderAgent" and a.spec.get("lifecycle") != "Retired"
    }


class Floor:
    def __init__(self, options: FloorOptions, console: Any = None) -> None:
        self.options = options
        self.console = console
        self.stopping = asyncio.Event()
        self.collectors: dict[tuple[str, str], asyncio.Task] = {}
        self.summary: dict = {}
        self.supervisor: LocalSupervisor | None = None

    async def run(self) -> dict:
        opts = self.options
        logging.getLogger("aiohttp.access").setLevel(
            logging.WARNING
        )  # the simulator's request log is noise here
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
        svc = await asyncio.to_thread(
            services.start_services, opts.state_dir, opts.database_url, opts.redis_url
        )
        redis_url = svc.redis_url
        if redis_url is None:  # start_services starts a Redis unless told not to
            raise RuntimeError("the local floor needs Redis and none was started")
        sim = pool = redis = supervisor = None
        try:
            from redis import asyncio as aioredis

            from tradingfloor.persistence.db import create_pool
            from tradingfloor.persistence.migrate import migrate

            await migrate(svc.database_url)
            pool = await create_pool(svc.database_url, max_size=4)
            redis = aioredis.Redis.from_url(redis_url)
            env = {
                "DATABASE_URL": svc.database_url,
                "REDIS_URL": redis_url,
                "FLOOR_STATE_DIR": str(opts.state_dir.resolve()),
                "TRADER_REPORT_INTERVAL": "10",
                "HEARTBEAT_INTERVAL": os.environ.get("HEARTBEAT_INTERVAL", "10"),
                **({"FLOOR_CAPITAL": os.environ["FLOOR_CAPITAL"]} if os.environ.get("FLOOR_CAPITAL") else {}),
                **opts.agent_env,
            }
            urls = await self._start_market()
            sim = urls.pop("_handle", None)
            env.update(urls)
            services.publish(
                opts.state_dir, svc, market=opts.market, **{k.lower(): v for k, v in urls.items()}
            )
            store = LocalStore(pool)
            resources, errors = read_manifests(opts.manifests)
            for message in errors:
                self._say(f"[red]skipped a manifest:[/red] {message}")
                await repo.record_event(pool, "ManifestRejected", message[:1000], reason="Warning")
            for line in await store.apply_manifests(resources):
                self._say(line)
            # the floor-wide deployed-capital cap (40 %) is taken of every active trader's capital
            env.setdefault("FLOOR_CAPITAL", str(floor_capital(await store.agents())))
            processes = AgentProcesses(opts.state_dir, env)
            supervisor = LocalSupervisor(store, processes, redis, opts.state_dir / "manifests", opts.policy)
            self.supervisor = supervisor
            await self._loop(store, supervisor, redis_url, svc.database_url, urls)
        finally:
            if supervisor is not None:
                await asyncio.to_thread(supervisor.shutdown)
                with contextlib.suppress(Exception):  # best effort: the next `floor up` recomputes it
                    for agent in await supervisor.store.agents():
                        if (agent.status or {}).get("phase") not in (None, "Retired", "Paused"):
                            await supervisor.store.patch_status(agent.name, {"phase": "Stopped"})
            for task in self.collectors.values():
                task.cancel()
            await asyncio.gather(*self.collectors.values(), return_exceptions=True)
            if pool is not None:
                self.summary = await self._summary(pool, redis)
                await pool.close()
            if redis is not None:
                await redis.aclose()
            if sim is not None:
                await sim.stop()
            services.unpublish(opts.state_dir)
            await asyncio.to_thread(svc.stop)
        return self.summary

    async def _start_market(self) -> dict[str, Any]:
        opts = self.options
        if opts.market == "polymarket":
            from tradingfloor.settings import Settings

            s = Settings.from_env()
            return {
                "POLYMARKET_GAMMA_URL": s.gamma_url,
                "POLYMARKET_CLOB_URL": s.clob_url,
                "POLYMARKET_WS_URL": s.market_ws_url,
            }
        from tradingfloor.sim.model import SimConfig, parse_pattern
        from tradingfloor.sim.server import start_simulator

        start_ms = (int(time.time() * 1000) // 900_000) * 900_000  # today's 15-minute grid
        handle = await start_simulator(
            "127.0.0.1",
            0,
            SimConfig(seed=opts.seed, pattern=parse_pattern(opts.pattern), start_ms=start_ms),
            opts.speed,
        )
        self._say(
            f"simulator on {handle.url} (speed ×{opts.speed:g}, seed {opts.seed}, pattern {opts.pattern})"
        )
        return {
            "POLYMARKET_GAMMA_URL": handle.url,
            "POLYMARKET_CLOB_URL": handle.url,
            "POLYMARKET_WS_URL": handle.market_ws_url,
            "POLYMARKET_SPOT_WS_URL": handle.spot_ws_url,
            "_handle": handle,
        }

    def _ensure_collectors(
        self, agents: list[repo.AgentRow], redis_url: str, database_url: str, urls: dict[str, str]
    ) -> None:
        from tradingfloor.market.collector import Collector, CollectorUrls
        from tradingfloor.persistence.market_archive import PostgresSink

        for series, task in list(self.collectors.items()):
            if task.done():  # a collector that died is started again on this pass
                self.collectors.pop(series)
                log.error(
                    "collector.stopped",
                    series=series,
                    error=repr(task.exception()) if not task.cancelled() else "cancelled",
                )
        for series in _market_series(agents) - set(self.collectors):
            asset, interval = series
            collector = Collector(
                asset,
                interval,
                CollectorUrls(
                    urls["POLYMARKET_GAMMA_URL"],
                    urls["POLYMARKET_CLOB_URL"],
                    urls["POLYMARKET_WS_URL"],
                    urls.get("POLYMARKET_SPOT_WS_URL"),
                ),
                redis_url,
                PostgresSink(database_url),
            )
            self.collectors[series] = asyncio.create_task(
                collector.run(self.stopping), name=f"collector-{asset}-{interval}"
            )
            self._say(f"collector for {asset} {interval} started")

    async def _loop(
        self, store: LocalStore, supervisor: LocalSupervisor, redis_url: str, database_url: str, urls: dict
    ) -> None:
        opts = self.options
        deadline = time.monotonic() + opts.duration_s if opts.duration_s else None
        live, shown = None, 0.0
        if opts.dashboard and self.console is not None:
            from rich.live import Live

            live = Live(console=self.console, refresh_per_second=2, transient=False)
            live.start()
        try:
            while not self.stopping.is_set():
                agents = await store.agents()
                self._ensure_collectors(agents, redis_url, database_url, urls)
                wait = await supervisor.reconcile()
                if live is not None and time.monotonic() - shown >= 1.0:
                    live.update(await self._view(store, supervisor))
                    shown = time.monotonic()
                if deadline is not None and time.monotonic() >= deadline:
                    break
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), timeout=min(POLL_SECONDS, wait))
        finally:
            if live is not None:
                live.update(await self._view(store, supervisor))
                live.stop()

    async def _view(self, store: LocalStore, supervisor: LocalSupervisor):
        rows = await agent_rows(store.pool, supervisor.redis)
        events = await recent_events(store.pool, limit=8)
        return render(rows, events, title=f"Trading Floor — {datetime.now():%H:%M:%S}")

    async def _summary(self, pool, redis) -> dict:
        return {"agents": [r.to_json() for r in await agent_rows(pool, redis)]}

    def _say(self, message: str) -> None:
        if self.console is not None:
            self.console.print(message)
        log.info("floor", message=message)
