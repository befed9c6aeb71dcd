"""The local adapter of the Floor Boss: agents from the PostgreSQL ``agents`` table, instances as
OS processes. ``floor_boss.reconciler`` does the observe → decide → act pass; this module only
gathers what the pass needs and carries out its verbs.

The loop survives an unreachable PostgreSQL or Redis: a pass that cannot read the agents holds
(processes keep running as they are), each failed database probe counts toward the
DatabaseUnreachable breaker, and heartbeats that cannot be read skip the heartbeat rule for that
pass rather than restart every agent.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from floor_boss.local.processes import AgentProcesses, ProcessState
from floor_boss.local.store import LocalStore, write_manifest
from floor_boss.probes import api_health
from floor_boss.reconciler import (
    AgentRecord,
    Reconciler,
    root_from_parents,  # noqa: F401  (kept entry point)
)
from tradingfloor.bus.api_health import ApiHealth
from tradingfloor.bus.heartbeats import read_heartbeats
from tradingfloor.decisions import FloorPolicy, Instance, ProbeStreak
from tradingfloor.observability.logging import get_logger
from tradingfloor.persistence.logins import DatabaseLogins
from tradingfloor.persistence.repositories import AgentRow
from tradingfloor.services.embedded import free_port

log = get_logger("floor_boss.local")
HOLD_SECONDS = 1.0  # how soon a pass that could not read the floor is tried again


def _utc(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, UTC) if ts is not None else None


def instance_of(state: ProcessState) -> Instance:
    if state.exit_code is None:
        return Instance(state.name, "running", _utc(state.started_at), generation=state.generation)
    return Instance(
        state.name,
        "succeeded" if state.exit_code == 0 else "failed",
        _utc(state.started_at),
        detail=f"exit code {state.exit_code}",
        generation=state.generation,
    )


def record_of(row: AgentRow) -> AgentRecord:
    return AgentRecord(
        kind=row.kind,
        name=row.name,
        spec=row.spec,
        status=row.status or {},
        labels=row.labels,
        generation=row.spec_generation,
        created_at=row.created_at,
        parent=row.parent,
        ref=row,
    )


@dataclass
class LocalSupervisor:
    store: LocalStore
    processes: AgentProcesses
    redis: Any  # redis.asyncio client, for heartbeats and the venue's API health
    manifests_dir: Path
    policy: FloorPolicy = field(default_factory=FloorPolicy)
    database_logins: DatabaseLogins | None = None  # None: agents share the floor's DATABASE_URL
    instances: dict[str, set[str]] = field(default_factory=dict)  # agent → its instance (process) names
    rows: list[AgentRow] = field(default_factory=list)  # the agents as last read (kept through an outage)
    reconciler: Reconciler = field(init=False)
    database: ProbeStreak = field(init=False)

    def __post_init__(self) -> None:
        self.reconciler = Reconciler(self, self.policy)
        self.database = ProbeStreak(self.policy.database_failures_to_open)

    @property
    def breakers(self) -> tuple[str, ...]:
        return self.reconciler.breakers

    async def heartbeats(self, names: list[str]) -> dict[str, datetime]:
        """The last beat of each agent that has a live heartbeat (``tradingfloor.bus.heartbeats``)."""
        beats = await read_heartbeats(self.redis, names)
        return {name: at for name, info in beats.items() if (at := _utc(info.ts)) is not None}

    async def api_health(self) -> ApiHealth:
        """The floor's venue calls and failures over the last minutes (``tradingfloor.bus.api_health``)."""
        requests, errors = await api_health(self.redis)
        return ApiHealth(requests, errors)

    async def reconcile(self, now: datetime | None = None) -> float:
        """One pass over every agent; returns seconds until the next pass is needed."""
        now = now or datetime.now(UTC)
        reachable = self.database.record(await self.store.reachable())
        api = await self.api_health()
        try:
            rows = await self.store.agents()
        except Exception as exc:  # PostgreSQL away: hold the pass, keep the processes as they are
            self.reconciler.update_breakers(
                self.reconciler.floor_signals((), reachable, (api.requests, api.errors))
            )
            log.warning("floor.pass_held", error=f"{type(exc).__name__}: {exc}"[:300])
            return HOLD_SECONDS
        self.rows = rows
        agents = [record_of(r) for r in rows]
        self.reconciler.update_breakers(
            self.reconciler.floor_signals(agents, reachable, (api.requests, api.errors))
        )
        try:
            beats, beats_known = await self.heartbeats([a.name for a in agents]), True
        except Exception as exc:  # Redis away: no heartbeat verdicts this pass
            beats, beats_known = {}, False
            log.warning("floor.heartbeats_unreadable", error=f"{type(exc).__name__}: {exc}"[:300])
        states = self.processes.poll()
        wait = 1.0
        for agent in agents:
            instances = tuple(
                instance_of(states[i]) for i in sorted(self.instances.get(agent.name, ())) if i in states
            )
            started = time.perf_counter()
            try:
                outcome = await self.reconciler.reconcile(
                    agent, agents, instances, beats_known, beats.get(agent.name), now
                )
            except Exception as exc:  # one agent's failure (or the database going away) never ends the floor
                log.error(
                    "floor.reconcile_failed", agent=agent.name, error=f"{type(exc).__name__}: {exc}"[:300]
                )
                wait = min(wait, HOLD_SECONDS)
                continue
            if outcome.requeue_after is not None:
                wait = min(wait, max(0.05, outcome.requeue_after))
            log.debug("reconciled", agent=agent.name, took=time.perf_counter() - started)
        self.reconciler.update_managed_gauge()
        return wait

    # --- the Platform verbs -----------------------------------------------------------------------
    async def start_instance(self, agent: AgentRecord, name: str) -> bool:
        state = self.processes.states.get(name)
        if state is not None and state.running:
            return False  # the name is still held by a live process
        manifest = write_manifest(agent.ref, self.manifests_dir)
        own_env = {}
        if self.database_logins is not None:  # least privilege: the agent's own database login
            own_env["DATABASE_URL"] = await self.database_logins.url_for(agent.kind, agent.name)
        self.processes.start(name, agent.name, agent.kind, manifest, free_port(), own_env, agent.generation)
        self.instances.setdefault(agent.name, set()).add(name)
        return True

    async def stop_instance(self, agent: AgentRecord, name: str, reason: str) -> None:
        self.processes.stop(name)
        self.processes.forget(name)
        self.instances.get(agent.name, set()).discard(name)

    async def write_status(self, agent: AgentRecord, status: dict[str, Any]) -> None:
        await self.store.patch_status(agent.name, status)

    async def post_event(
        self, agent: AgentRecord, type_: str, reason: str, message: str, details: dict[str, Any]
    ) -> None:
        text = f"{message} {json.dumps(details, sort_keys=True)}" if details else message
        await self.store.record_event(agent.name, type_, reason, text[:1000])
        log.info("floorboss.event", agent=agent.name, reason=reason, message=message)

    async def set_lifecycle(self, agent: AgentRecord, lifecycle: str) -> None:
        await self.store.set_lifecycle(agent.name, lifecycle)

    async def create_clone(self, agent: AgentRecord, manifest: dict[str, Any]) -> None:
        clone = await self.store.create_clone(manifest)
        log.info("agent.cloned", parent=agent.name, clone=clone)

    async def release(self, agent: AgentRecord) -> None:
        if self.database_logins is not None:
            await self.database_logins.disable(agent.kind, agent.name)

    def shutdown(self) -> None:
        self.processes.stop_all()
        self.instances.clear()
