"""``floor up``: the whole floor on one machine.

Starts (or reuses) PostgreSQL and Redis, migrates, starts the simulator (or points at Polymarket),
runs one collector per market series, applies the manifests, and supervises every agent as its own
OS process with the shared decision core — until ``--for`` runs out, Ctrl-C or SIGTERM. Running it
again resumes: agents, clones, statuses, checkpoints and the ledger live in PostgreSQL, and the
simulated market continues from the floor's stored market clock.

What keeps it standing:
- PostgreSQL and Redis are supervised like agents (restart with backoff); a pass that fails because
  one is away is reported once and retried, never fatal. Agents keep running on their journals.
- Every child runs in its own session and dies with the floor (``tradingfloor.services.lifetime``);
  the PIDs are recorded in ``<state>/services.json`` so the next start stops any leftovers.
- The manifest folder is watched: new, edited and removed files apply while the floor runs.
- The floor's open circuit breakers are published in Redis (``tradingfloor.bus.floor_pause``):
  with PostgreSQL away the traders' status cannot tell them to size new entries at zero.
- A simulated market's clock waits until every active trader beats, so the first round (after a
  start or a resume) is one they can trade.
- It stops when its ``floor.lock`` is removed or replaced (its state folder deleted or taken over).
- The stop is ordered — agents, collectors, the exit summary (read while the database is still up),
  simulator, Redis, PostgreSQL — and leaves no process and no state file behind.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import json
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from floor_boss.local.dashboard import AgentRow, render
from floor_boss.local.manifest_watch import ManifestWatch
from floor_boss.local.processes import AgentProcesses
from floor_boss.local.status import agent_rows, recent_events
from floor_boss.local.store import LocalStore
from floor_boss.local.supervisor import LocalSupervisor
from tradingfloor.decisions import FloorPolicy
from tradingfloor.models.manifests import Resource
from tradingfloor.observability.logging import get_logger
from tradingfloor.persistence import repositories as repo
from tradingfloor.persistence.logins import DatabaseLogins, LoginsUnavailable, PasswordFile
from tradingfloor.services import local as services
from tradingfloor.services.supervision import ServiceEvent, ServiceSupervisor

log = get_logger("floor_boss.floor")
POLL_SECONDS = 0.25  # how soon a crashed agent is noticed (a pass that changes nothing writes nothing)
MANIFEST_POLL_SECONDS = 1.0
LOCK_CHECK_SECONDS = 2.0
DISCOVER_EVERY_S = 30.0  # the collector's own default, for a live market
MARKET_HOLD_MAX_S = 120.0  # the longest the simulated market waits for its traders to start
MARKET_CLOCK_FILE = "market-clock.json"


@dataclass
class FloorOptions:
    manifests: Path = Path("examples")
    state_dir: Path = Path("var")
    market: str = "sim"  # sim | polymarket
    speed: float = 30.0
    seed: int = 2
    pattern: str = "momentum"
    market_start_ms: int | None = None  # a new simulated market's start (default: the current slot)
    duration_s: float | None = None
    dashboard: bool = True
    database_url: str | None = None
    redis_url: str | None = None
    policy: FloorPolicy = field(default_factory=FloorPolicy)
    agent_env: dict[str, str] = field(default_factory=dict)  # extra environment for agent processes
    lock_held: Callable[[], bool] | None = None  # floor_lock's check: False → the floor stops


class FloorAlreadyRunning(RuntimeError):
    pass


@contextlib.contextmanager
def floor_lock(state_dir: Path) -> Iterator[Callable[[], bool]]:
    """Hold ``<state>/floor.lock``; yields a check that the lock is still this floor's: False once
    the file was removed or replaced (the state folder deleted, e.g. a test's temporary folder, or
    taken over by another floor), and the floor should stop."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "floor.lock"
    handle = open(path, "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise FloorAlreadyRunning(
            f"another `floor up` is running in {state_dir}/ (see {state_dir}/services.json)"
        ) from None
    mine = os.fstat(handle.fileno()).st_ino

    def held() -> bool:
        try:
            return os.stat(path).st_ino == mine
        except OSError:
            return False

    try:
        yield held
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


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
    # the same "series needed" rule as the operator's collector Pods (floor_boss.collectors)
    from floor_boss.collectors import series_needed

    return {(s.asset, s.interval) for s in series_needed(a.spec for a in agents if a.kind == "TraderAgent")}


# How long a verdict must hold, and between clones: durations of the market's life, not the machine's
MARKET_DURATIONS = (
    "retire_after_seconds",
    "clone_after_seconds",
    "reduce_after_seconds",
    "clone_cooldown_seconds",
)


def market_clock_policy(policy: FloorPolicy, speed: float) -> FloorPolicy:
    """The policy with its evaluation durations on a simulated market's clock: at 240x, "24 hours
    above 60 %" is 24 market hours (6 wall minutes). Restart backoff and heartbeats stay on the wall
    clock: they are about processes, not markets. The evidence bar itself is unchanged."""
    if speed <= 0:
        raise ValueError(f"speed must be positive, got {speed}")
    return msgspec.structs.replace(
        policy, **{name: getattr(policy, name) / speed for name in MARKET_DURATIONS}
    )


ROUND_MS = 15 * 60 * 1000
RESUME_LEAD_MS = 5 * 60 * 1000  # spot history the strategies' lookbacks need before the first round


def resume_ms(stored_ms: int) -> int:
    """Where a resumed simulated market starts: its stored clock, moved forward to five market
    minutes before the next round when that is later. The round in progress at the stop cannot be
    listed again (its opening price is gone), so the time before the next round would only be
    waiting; never earlier than the stored clock, which the traders' restored clocks have reached."""
    next_round = -(-stored_ms // ROUND_MS) * ROUND_MS
    return max(stored_ms, next_round - RESUME_LEAD_MS)


def market_start_ms(stored_ms: int | None, requested_ms: int | None, now_ms: int) -> int:
    """Where the simulated market starts: a stored clock is resumed (see ``resume_ms``); a new
    market starts where asked (so a seed replays the same market every run), else at the current
    round's start."""
    if stored_ms is not None:
        return resume_ms(stored_ms)
    if requested_ms is not None:
        return requested_ms
    return now_ms - now_ms % ROUND_MS


def read_market_clock(state_dir: Path) -> int | None:
    """The simulated market's time (ms) when the floor last ran, if it ran a simulator."""
    try:
        return int(json.loads((state_dir / MARKET_CLOCK_FILE).read_text())["ms"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_market_clock(state_dir: Path, ms: int) -> None:
    tmp = state_dir / f"{MARKET_CLOCK_FILE}.tmp"
    tmp.write_text(json.dumps({"ms": ms, "iso": datetime.fromtimestamp(ms / 1000, UTC).isoformat()}))
    tmp.replace(state_dir / MARKET_CLOCK_FILE)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]


class Floor:
    def __init__(self, options: FloorOptions, console: Any = None) -> None:
        self.options = options
        self.console = console
        self.stopping = asyncio.Event()
        self.collectors: dict[tuple[str, str], asyncio.Task] = {}
        self.summary: dict = {}
        self.supervisor: LocalSupervisor | None = None
        self.services = ServiceSupervisor()
        self.events: collections.deque[dict] = collections.deque(maxlen=50)  # newest first, for the view
        self._unrecorded: list[dict] = []  # events to store once the database is back
        self._problem: str | None = None  # the failure the last pass reported (each is said once)
        self._agents: list[repo.AgentRow] = []  # the last agents read, for when the database is away
        self._rows: list[AgentRow] = []
        self._recorded_pids: dict[str, dict] = {}
        self._collector_runs: dict[tuple[str, str], tuple[float, int]] = {}  # started/retry-at, failures
        self._heartbeat_grace_until = 0.0
        self._market_held_since: float | None = None  # the market's clock waits for the traders
        self._started_wall = time.time()
        self._breakers_said: tuple[str, ...] = ()  # the open breakers the traders were last told of
        self._breakers_since: float | None = None
        self._sim: Any = None
        self._svc: services.LocalServices | None = None
        self._pool: Any = None
        self._redis: Any = None
        self._collector_url: str | None = None  # the collectors' own database login, when there is one

    # -- lifecycle -------------------------------------------------------------------------------

    async def run(self) -> dict:
        opts = self.options
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # the simulator's request log
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
        try:
            left = services.sweep_leftovers(opts.state_dir)
            if left:
                self._say(
                    f"stopped what a previous floor left running in {opts.state_dir}/: {', '.join(left)}"
                )
            # on the main thread, so the servers die with this process (tradingfloor.services.lifetime)
            self._svc = svc = services.start_services(opts.state_dir, opts.database_url, opts.redis_url)
            self.services.watch("postgres", svc.postgres)
            self.services.watch("redis", svc.redis)
            self._publish()
            await self._start(svc)
        finally:
            await self._shutdown()
        return self.summary

    async def _start(self, svc: services.LocalServices) -> None:
        from redis import asyncio as aioredis

        from tradingfloor.persistence.db import create_pool
        from tradingfloor.persistence.migrate import migrate

        opts = self.options
        await migrate(svc.database_url)
        logins = await self._database_logins(svc.database_url)
        self._pool = pool = await create_pool(svc.database_url, max_size=4)
        self._redis = aioredis.Redis.from_url(
            svc.require_redis_url(), socket_connect_timeout=2, socket_timeout=5
        )
        env = {
            "DATABASE_URL": svc.database_url,
            "REDIS_URL": svc.redis_url or "",
            "FLOOR_STATE_DIR": str(opts.state_dir.resolve()),
            "TRADER_REPORT_INTERVAL": "10",
            "HEARTBEAT_INTERVAL": os.environ.get("HEARTBEAT_INTERVAL", "10"),
            **({"FLOOR_CAPITAL": os.environ["FLOOR_CAPITAL"]} if os.environ.get("FLOOR_CAPITAL") else {}),
            **opts.agent_env,
        }
        self._heartbeat_interval = float(env["HEARTBEAT_INTERVAL"] or 10)
        urls = await self._start_market()
        self._sim = urls.pop("_handle", None)
        if self._sim is not None:
            # the market waits for the traders (a loaded machine takes tens of seconds to start
            # them): a round that runs while they start is a round they cannot trade
            self._sim.server.clock.pause()
            self._market_held_since = time.monotonic()
        env.update(urls)
        self._urls = urls
        store = LocalStore(pool)
        self._watch = ManifestWatch(opts.manifests)
        await self._apply_manifests(store)
        # the floor-wide deployed-capital cap (40 %) is taken of every active trader's capital
        env.setdefault("FLOOR_CAPITAL", str(floor_capital(await store.agents())))
        processes = AgentProcesses(opts.state_dir, env)
        policy = opts.policy if self._sim is None else market_clock_policy(opts.policy, opts.speed)
        self.supervisor = LocalSupervisor(
            store, processes, self._redis, opts.state_dir / "manifests", policy, database_logins=logins
        )
        await self._loop(store, self.supervisor, svc)

    async def _database_logins(self, owner_url: str) -> DatabaseLogins | None:
        """Least privilege: each agent connects with its own login in its kind's role (passwords
        0600 under the state dir); None — agents use the floor's URL, said once — where the
        database user may not create roles."""
        logins = DatabaseLogins(
            owner_url, PasswordFile(self.options.state_dir / "secrets" / "db-logins.json")
        )
        try:
            self._collector_url = await logins.url_for("collector")
        except LoginsUnavailable as exc:
            self._say(f"agents connect as the floor's database user: {exc}")
            return None
        return logins

    async def _shutdown(self) -> None:
        """Agents, collectors, the summary (while the database is up), simulator, Redis, PostgreSQL."""
        opts = self.options
        supervisor = self.supervisor
        if supervisor is not None:
            await self._guard("stopping agents", asyncio.to_thread(supervisor.shutdown))
            await self._guard("recording stopped agents", self._mark_stopped(supervisor))
        for task in self.collectors.values():
            task.cancel()
        await asyncio.gather(*self.collectors.values(), return_exceptions=True)
        if self._pool is not None:
            await self._guard("reading the summary", self._read_summary())
            await self._guard("closing the database pool", asyncio.wait_for(self._pool.close(), 10))
        if self._redis is not None:
            await self._guard("closing Redis", self._redis.aclose())
        if self._sim is not None:
            with contextlib.suppress(OSError):
                write_market_clock(opts.state_dir, self._sim.server.clock.now_ms())
            await self._guard("stopping the simulator", self._sim.stop())
        if self._svc is not None:
            self._svc.stop()  # on this thread: the servers are its children
        services.unpublish(opts.state_dir)

    async def _mark_stopped(self, supervisor: LocalSupervisor) -> None:
        for agent in await supervisor.store.agents():
            if (agent.status or {}).get("phase") not in (None, "Retired", "Paused"):
                await supervisor.store.patch_status(agent.name, {"phase": "Stopped"})

    async def _read_summary(self) -> None:
        redis = self._redis if self.services.is_up("redis") else None
        try:
            rows = await agent_rows(self._pool, redis)
        except Exception:  # Redis away at the end: the summary without heartbeats
            rows = await agent_rows(self._pool, None)
        self.summary = {"agents": [r.to_json() for r in rows]}

    async def _guard(self, what: str, step: Any) -> None:
        """Run one shutdown step; a failure is logged and the remaining steps still run."""
        try:
            await step
        except Exception as exc:
            log.warning("floor.shutdown_step_failed", step=what, error=_one_line(exc))

    # -- market ----------------------------------------------------------------------------------

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

        stored = read_market_clock(opts.state_dir)
        # A resumed floor continues its market where it stopped: the agents' restored clocks are
        # there, so they trade in the first round instead of idling until the market catches up.
        start_ms = market_start_ms(stored, opts.market_start_ms, int(time.time() * 1000))
        handle = await start_simulator(
            "127.0.0.1",
            0,
            SimConfig(seed=opts.seed, pattern=parse_pattern(opts.pattern), start_ms=start_ms),
            opts.speed,
        )
        at = datetime.fromtimestamp(start_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
        self._say(
            f"simulator on {handle.url} (speed ×{opts.speed:g}, seed {opts.seed}, pattern {opts.pattern}, "
            f"market clock {'resumed at' if stored is not None else 'starts at'} {at} UTC)"
        )
        return {
            "POLYMARKET_GAMMA_URL": handle.url,
            "POLYMARKET_CLOB_URL": handle.url,
            "POLYMARKET_WS_URL": handle.market_ws_url,
            "POLYMARKET_SPOT_WS_URL": handle.spot_ws_url,
            "_handle": handle,
        }

    def market_clock(self) -> str:
        """Which clock the floor's durations run on, for the dashboard."""
        if self._sim is None:
            return f"wall clock {datetime.now(UTC):%H:%M:%S} UTC"
        now = datetime.fromtimestamp(self._sim.server.clock.now_ms() / 1000, UTC)
        held = ", held until the traders are up" if self._market_held_since is not None else ""
        return (
            f"market clock {now:%Y-%m-%d %H:%M:%S} UTC (simulated ×{self.options.speed:g}{held}; "
            "policy durations on this clock)"
        )

    # -- the loop --------------------------------------------------------------------------------

    async def _loop(
        self, store: LocalStore, supervisor: LocalSupervisor, svc: services.LocalServices
    ) -> None:
        opts = self.options
        deadline = time.monotonic() + opts.duration_s if opts.duration_s else None
        live, shown, manifests_seen, clock_saved = None, 0.0, time.monotonic(), 0.0
        lock_checked = time.monotonic()
        if opts.dashboard and self.console is not None:
            from rich.live import Live

            live = Live(console=self.console, refresh_per_second=2, transient=False)
            live.start()
        try:
            while not self.stopping.is_set():
                now = time.monotonic()
                wait = 1.0
                for event in self.services.check(now):
                    await self._service_event(event)
                try:
                    if self.services.is_up("postgres"):
                        await self._flush_events(store)
                        if now - manifests_seen >= MANIFEST_POLL_SECONDS:
                            manifests_seen = now
                            if self._watch.changed():
                                await self._apply_manifests(store)
                        self._agents = await store.agents()
                        self._ensure_collectors(self._agents, svc)
                    # without PostgreSQL the supervisor holds its pass and counts toward its database
                    # breaker; without Redis (or just after it is back) no heartbeat can be judged
                    if self.services.is_up("redis") and now >= self._heartbeat_grace_until:
                        wait = await supervisor.reconcile()
                    if self.services.is_up("redis"):
                        await self._publish_breakers(supervisor.breakers)
                        if self._market_held_since is not None:
                            await self._release_market()
                    self._recovered()
                except Exception as exc:  # a service went away mid-pass: said once, retried
                    self._failed(exc)
                self._publish()
                if self._sim is not None and now - clock_saved >= 1.0:
                    with contextlib.suppress(OSError):
                        write_market_clock(opts.state_dir, self._sim.server.clock.now_ms())
                    clock_saved = now
                if live is not None and now - shown >= 1.0:
                    live.update(await self._view(store))
                    shown = now
                if deadline is not None and now >= deadline:
                    break
                if opts.lock_held is not None and now - lock_checked >= LOCK_CHECK_SECONDS:
                    lock_checked = now
                    if not opts.lock_held():
                        self._say(
                            f"{opts.state_dir}/floor.lock was removed or replaced (the state folder was "
                            "deleted or another floor took it over): stopping"
                        )
                        break
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), timeout=min(POLL_SECONDS, wait))
        finally:
            if live is not None:
                with contextlib.suppress(Exception):
                    live.update(await self._view(store))
                live.stop()

    async def _release_market(self) -> None:
        """Start the simulated market's clock once every active trader beats (it is subscribed and
        caught up by then), or after MARKET_HOLD_MAX_S whatever the traders do."""
        from tradingfloor.bus.heartbeats import read_heartbeats

        assert self._sim is not None and self._market_held_since is not None
        traders = [
            a.name
            for a in self._agents
            if a.kind == "TraderAgent" and a.spec.get("lifecycle", "Active") == "Active"
        ]
        beats = await read_heartbeats(self._redis, traders)
        ready = [n for n in traders if n in beats and beats[n].ts >= self._started_wall]
        waited = time.monotonic() - self._market_held_since
        if len(ready) < len(traders) and waited < MARKET_HOLD_MAX_S:
            return
        self._sim.server.clock.resume()
        self._market_held_since = None
        if len(ready) == len(traders):
            self._say(f"market clock running: {len(traders)} traders ready after {waited:.0f} s")
        else:
            missing = ", ".join(sorted(set(traders) - set(ready)))
            self._say(f"market clock running without {missing} (not ready after {waited:.0f} s)")

    async def _publish_breakers(self, breakers: tuple[str, ...]) -> None:
        """Every trader reads the open breakers from Redis (``tradingfloor.bus.floor_pause``): with
        PostgreSQL away their status cannot tell them. Renewed every pass; said once per change."""
        from tradingfloor.bus import floor_pause

        changed = breakers != self._breakers_said
        if changed:
            self._breakers_said = breakers
            self._breakers_since = time.time() if breakers else None
        await floor_pause.publish(self._redis, breakers, since=self._breakers_since)
        if not changed:
            return
        if breakers:
            self._note(
                "floor",
                "EntriesPaused",
                f"breaker open ({', '.join(breakers)}): traders size new entries at zero; "
                "positions, journals and processes carry on",
                warning=True,
            )
        else:
            self._note("floor", "EntriesResumed", "breakers closed: traders enter again", warning=False)

    def _failed(self, exc: Exception) -> None:
        message = _one_line(exc)
        if message != self._problem:
            self._problem = message
            self._note("floor", "PassFailed", f"a pass failed, retrying: {message}", warning=True)
            log.warning("floor.pass_failed", error=message)

    def _recovered(self) -> None:
        if self._problem is not None:
            self._problem = None
            self._note("floor", "PassRecovered", "passes succeed again", warning=False)

    async def _service_event(self, event: ServiceEvent) -> None:
        self._note(event.service, event.reason, event.message, warning=event.warning)
        log.warning("floor.service", service=event.service, reason=event.reason, message=event.message)
        if event.service == "postgres" and event.reason == "ServiceDown":
            self._note(
                "floor",
                "DatabaseUnreachable",
                "breaker open: the Floor Boss holds its decisions; agents keep running on their journals",
                warning=True,
            )
        if event.service == "postgres" and event.reason == "ServiceRecovered":
            self._note("floor", "DatabaseReachable", "breaker closed: journals replay", warning=False)
        if event.service == "redis" and event.reason == "ServiceRecovered":
            # Redis lost every heartbeat: give the agents time to beat again before judging them
            self._heartbeat_grace_until = time.monotonic() + 2 * self._heartbeat_interval + 2
        if event.service == "postgres" and event.reason == "ServiceRecovered":
            self._publish(force=True)

    def _note(self, agent: str, reason: str, message: str, *, warning: bool) -> None:
        """An event for the dashboard now and for the event log (stored when the database can)."""
        message = " ".join(message.split())  # one line, whatever the source (YAML errors span several)
        event = {
            "ts": datetime.now(UTC),
            "agent": agent,
            "type": reason,
            "reason": "Warning" if warning else "Normal",
            "message": message,
        }
        self.events.appendleft(event)
        self._unrecorded.append(event)
        if self.console is not None and not self.options.dashboard:
            self.console.print(f"{agent}: {reason}: {message}", markup=False, highlight=False)

    async def _flush_events(self, store: LocalStore) -> None:
        while self._unrecorded:
            event = self._unrecorded[0]
            await repo.record_event(
                store.pool,
                event["type"],
                event["message"][:1000],
                agent=None if event["agent"] in ("floor", "postgres", "redis") else event["agent"],
                reason=event["reason"],
                ts=event["ts"],  # when it happened, not when the database could take it
            )
            self._unrecorded.pop(0)

    # -- manifests -------------------------------------------------------------------------------

    async def _apply_manifests(self, store: LocalStore) -> None:
        changes = self._watch.scan()
        for message in changes.new_errors.values():
            self._note(
                "manifests", "ManifestRejected", f"{message} (running agents left as they are)", warning=True
            )
        for file in changes.fixed:
            self._note("manifests", "ManifestAccepted", f"{file} is valid again", warning=False)
        for resource in changes.resources:
            await self._apply_one(store, resource)
        for name in sorted(changes.removed):
            agent = await repo.get_agent(store.pool, name)
            if agent is not None and agent.spec.get("lifecycle") != "Retired":
                await store.set_lifecycle(name, "Retired")
                self._note(name, "ManifestRemoved", f"its manifest is gone: {name} retired", warning=False)
        await self._flush_events(store)

    async def _apply_one(self, store: LocalStore, resource: Resource) -> None:
        name = resource.metadata.get("name")
        try:
            applied = await store.apply_manifests([resource])
        except ValueError as exc:  # an update the resource's rules forbid (e.g. a changed market)
            self._note(str(name), "ManifestRejected", _one_line(exc), warning=True)
            return
        for line in applied:
            self._note(str(name), "ManifestApplied", line, warning=False)

    # -- collectors ------------------------------------------------------------------------------

    def _ensure_collectors(self, agents: list[repo.AgentRow], svc: services.LocalServices) -> None:
        from tradingfloor.market.collector import Collector, CollectorUrls
        from tradingfloor.persistence.market_archive import PostgresSink

        urls = self._urls
        now = time.monotonic()
        for series, task in list(self.collectors.items()):
            if task.done():  # a collector that died is started again, after a backoff
                self.collectors.pop(series)
                exc = None if task.cancelled() else task.exception()
                error = (
                    _one_line(exc) if exc is not None else ("cancelled" if task.cancelled() else "returned")
                )
                started, failures = self._collector_runs.get(series, (now, 0))
                failures = 0 if now - started > 60 else failures + 1  # it ran a while: a fresh failure
                self._collector_runs[series] = (now + min(30.0, 2.0**failures), failures)
                if failures <= 1:  # said once per run of failures; the log has every one
                    self._note(
                        f"{series[0]} {series[1]}", "CollectorStopped", f"restarting: {error}", warning=True
                    )
                log.error("collector.stopped", series=series, error=error)
        for series in _market_series(agents) - set(self.collectors):
            retry_at, failures = self._collector_runs.get(series, (0.0, 0))
            if now < retry_at:
                continue
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
                svc.require_redis_url(),
                PostgresSink(self._collector_url or svc.database_url),
                discover_every=self._discover_every(),
            )
            self.collectors[series] = asyncio.create_task(
                collector.run(self.stopping), name=f"collector-{asset}-{interval}"
            )
            if series not in self._collector_runs:
                self._say(f"collector for {asset} {interval} started")
            self._collector_runs[series] = (now, failures)

    def _discover_every(self) -> float:
        """On a simulated market the collector's round discovery runs every quarter round of market
        time (at least every wall second): at its default 30 wall seconds a fast market's next rounds
        were found only by their own listing, which a busy machine completes late — traders then
        learned of a round minutes of market time after it opened."""
        if self._sim is None:
            return DISCOVER_EVERY_S
        return max(1.0, min(DISCOVER_EVERY_S, ROUND_MS / 4 / 1000 / self.options.speed))

    # -- state file and view ---------------------------------------------------------------------

    def _agent_pids(self) -> dict[str, dict]:
        if self.supervisor is None:
            return {}
        states = self.supervisor.processes.poll()
        out = {}
        for agent, instances in self.supervisor.instances.items():
            for instance in instances:
                state = states.get(instance)
                if state is not None and state.running and state.pid is not None:
                    # the agent's command line names its manifest: a reused PID will not match
                    out[instance] = {"pid": state.pid, "match": f"{agent}.yaml"}
        return out

    def _publish(self, force: bool = False) -> None:
        if self._svc is None:
            return
        pids = {**self._svc.pids(), **self._agent_pids()}
        if pids == self._recorded_pids and not force:
            return
        self._recorded_pids = pids
        extra = {k.lower(): v for k, v in getattr(self, "_urls", {}).items()}
        services.publish(
            self.options.state_dir, self._svc, self._agent_pids(), market=self.options.market, **extra
        )

    async def _view(self, store: LocalStore) -> Any:
        events = list(self.events)
        try:
            if self.services.is_up("postgres"):
                redis = self._redis if self.services.is_up("redis") else None
                self._rows = await agent_rows(store.pool, redis)
                stored = await recent_events(store.pool, limit=8)
                seen = {(e["type"], e["message"]) for e in events}
                events += [e for e in stored if (e["type"], e["message"]) not in seen]
        except Exception:  # the view shows the last rows it could read
            pass
        events.sort(key=lambda e: e["ts"], reverse=True)
        return render(
            self._rows,
            events,
            title=f"Trading Floor — {self.market_clock()}",
            services=self.services.describe() or None,
        )

    def _say(self, message: str) -> None:
        if self.console is not None:
            self.console.print(message, markup=False, highlight=False)
        log.info("floor", message=message)
