"""The local Floor Boss: the operator's reconcile loop, with OS processes instead of Pods.

Each pass observes every stored agent (its process, heartbeat, status and family), asks the shared
decision core for a plan, and carries the plan out: start/stop processes, write status, record
events, change lifecycles, create clones. Nothing here decides; ``tradingfloor.decisions`` does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from floor_boss.local.processes import AgentProcesses, ProcessState
from floor_boss.local.store import LocalStore, write_manifest
from tradingfloor.bus import api_health
from tradingfloor.bus.api_health import ApiHealth
from tradingfloor.bus.heartbeats import read_heartbeats
from tradingfloor.decisions import (
    CreateClone,
    FamilyMember,
    FloorPolicy,
    FloorSignals,
    Instance,
    Observation,
    SetLifecycle,
    StartInstance,
    StopInstance,
    decide,
    floor_pnl,
    open_breakers,
)
from tradingfloor.models.manifests import KINDS, SPEC_AND_STATUS
from tradingfloor.observability.logging import get_logger
from tradingfloor.observability.metrics import CIRCUIT_BREAKER_OPEN, DECISIONS, MANAGED, RECONCILES, RESTARTS
from tradingfloor.persistence.repositories import AgentRow
from tradingfloor.services.embedded import free_port

log = get_logger("floor_boss.local")


def _utc(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, UTC) if ts is not None else None


def instance_of(state: ProcessState) -> Instance:
    if state.exit_code is None:
        return Instance(state.name, "running", _utc(state.started_at))
    return Instance(
        state.name,
        "succeeded" if state.exit_code == 0 else "failed",
        _utc(state.started_at),
        detail=f"exit code {state.exit_code}",
    )


def root_from_parents(name: str, parents: dict[str, str | None]) -> str:
    """The lineage root found by walking the parent links (local agents carry no labels); a cycle
    in the links ends the walk instead of looping."""
    seen = set()
    while (parent := parents.get(name)) and name not in seen:
        seen.add(name)
        name = parent
    return name


def _float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@dataclass
class LocalSupervisor:
    store: LocalStore
    processes: AgentProcesses
    redis: Any  # redis.asyncio client, for heartbeats
    manifests_dir: Path
    policy: FloorPolicy = field(default_factory=FloorPolicy)
    instances: dict[str, set[str]] = field(default_factory=dict)  # agent → its instance (process) names
    invalid: dict[str, str] = field(default_factory=dict)  # agent → why its stored spec cannot be used
    breakers: tuple[str, ...] = ()
    written: dict[str, dict] = field(default_factory=dict)  # agent → the status it was last given

    async def heartbeats(self, names: list[str]) -> dict[str, datetime]:
        """The last beat of each agent that has a live heartbeat (``tradingfloor.bus.heartbeats``)."""
        beats = await read_heartbeats(self.redis, names)
        return {name: at for name, info in beats.items() if (at := _utc(info.ts)) is not None}

    async def api_health(self) -> ApiHealth:
        """The floor's venue calls and failures over the last minutes (``tradingfloor.bus.api_health``)."""
        return await api_health.read(self.redis) if self.redis is not None else ApiHealth()

    def _floor_signals(
        self, agents: list[AgentRow], database_reachable: bool, api: ApiHealth
    ) -> FloorSignals:
        traders = [a for a in agents if a.kind == "TraderAgent" and a.spec.get("lifecycle") != "Retired"]
        pnl, capital = floor_pnl(
            (
                _float((a.spec.get("risk") or {}).get("capital")) or 0.0,
                _float(((a.status or {}).get("performance") or {}).get("dailyPnl")),
            )
            for a in traders
        )
        return FloorSignals(
            daily_pnl=pnl,
            capital=capital,
            api_requests=api.requests,
            api_errors=api.errors,
            database_reachable=database_reachable,
        )

    def observe(self, agent: AgentRow, agents: list[AgentRow], beats: dict[str, datetime]) -> Observation:
        spec_model, status_model = SPEC_AND_STATUS[agent.kind]
        spec = spec_model.model_validate(agent.spec)
        status = status_model.model_validate(agent.status or {})
        states = self.processes.poll()
        instances = tuple(
            instance_of(states[i]) for i in sorted(self.instances.get(agent.name, ())) if i in states
        )
        parents = {a.name: a.parent for a in agents}
        root = root_from_parents(agent.name, parents)
        family = tuple(
            FamilyMember(
                a.name,
                a.parent,
                a.created_at,
                _float(((a.status or {}).get("performance") or {}).get("sharpe")),
            )
            for a in agents
            if a.kind == "TraderAgent" and root_from_parents(a.name, parents) == root
        )
        return Observation(
            kind=KINDS[agent.kind],
            name=agent.name,
            spec=spec,
            status=status,
            generation=agent.spec_generation,
            labels=agent.labels,
            instances=instances,
            heartbeats_enabled=True,
            heartbeat_at=beats.get(agent.name),
            family=family,
            breakers=self.breakers,
        )

    async def reconcile(self, now: datetime | None = None) -> float:
        """One pass over every agent; returns seconds until the next pass is needed."""
        now = now or datetime.now(UTC)
        agents = await self.store.agents()
        signals = self._floor_signals(agents, True, await self.api_health())
        self.breakers = open_breakers(signals, self.policy)
        for breaker in ("DailyLoss", "ApiErrorRate", "DatabaseUnreachable"):
            CIRCUIT_BREAKER_OPEN.labels(breaker).set(1 if breaker in self.breakers else 0)
        beats = await self.heartbeats([a.name for a in agents])
        wait = 1.0
        phases: dict[tuple[str, str], int] = {}
        for agent in agents:
            started = time.perf_counter()
            try:
                obs = self.observe(agent, agents, beats)
            except ValueError as exc:  # a stored spec that no longer validates: report, never crash
                await self._report_invalid(agent, str(exc))
                RECONCILES.labels(agent.kind, "invalid").inc()
                continue
            self.invalid.pop(agent.name, None)
            plan = decide(obs, self.policy, now)
            await self._carry_out(agent, plan)
            phase = plan.status.get("phase") or "Pending"
            phases[(agent.kind, phase)] = phases.get((agent.kind, phase), 0) + 1
            if plan.requeue_after is not None:
                wait = min(wait, max(0.05, plan.requeue_after))
            RECONCILES.labels(agent.kind, "ok").inc()
            log.debug("reconciled", agent=agent.name, took=time.perf_counter() - started)
        MANAGED.clear()
        for (kind, phase), count in phases.items():
            MANAGED.labels(kind, phase).set(count)
        return wait

    async def _report_invalid(self, agent: AgentRow, message: str) -> None:
        if self.invalid.get(agent.name) == message:
            return
        self.invalid[agent.name] = message
        for instance in self.instances.pop(agent.name, set()):
            self.processes.stop(instance)
            self.processes.forget(instance)
        await self.store.patch_status(agent.name, {"phase": "Invalid", "message": message[:1000]})
        await self.store.record_event(agent.name, "Warning", "InvalidSpec", message[:1000])
        log.error("agent.invalid_spec", agent=agent.name, error=message)

    async def _carry_out(self, agent: AgentRow, plan) -> None:
        for action in plan.actions:
            if isinstance(action, StopInstance):
                self.processes.stop(action.name)
                self.processes.forget(action.name)
                self.instances.get(agent.name, set()).discard(action.name)
            elif isinstance(action, StartInstance):
                manifest = write_manifest(agent, self.manifests_dir)
                self.processes.start(action.name, agent.name, agent.kind, manifest, free_port())
                self.instances.setdefault(agent.name, set()).add(action.name)
            elif isinstance(action, SetLifecycle):
                await self.store.set_lifecycle(agent.name, action.lifecycle)
                DECISIONS.labels(action.lifecycle.lower()).inc()
            elif isinstance(action, CreateClone):
                clone = await self.store.create_clone(action.manifest)
                DECISIONS.labels("clone").inc()
                log.info("agent.cloned", parent=agent.name, clone=clone)
        for decision in plan.decisions:
            if decision.action == "restart":
                RESTARTS.labels(agent.kind, decision.reason).inc()
        if self.written.get(agent.name) != plan.status:  # most passes change nothing: skip the write
            await self.store.patch_status(agent.name, plan.status)
            self.written[agent.name] = plan.status
        for event in plan.events:
            await self.store.record_event(agent.name, event.type, event.reason, event.message)
            log.info("floorboss.event", agent=agent.name, reason=event.reason, message=event.message)

    def shutdown(self) -> None:
        self.processes.stop_all()
        self.instances.clear()
