"""The Floor Boss's observe → decide → act loop, once, for both runtimes.

A platform adapter (Kubernetes Pods through the API: ``floor_boss.runtime``; OS processes on one
machine: ``floor_boss.local.supervisor``) gathers what it knows about one agent into an
``AgentRecord`` plus its instances and heartbeat, and carries out five verbs: start/stop an instance,
write status, post an event, change the lifecycle, create a clone. Everything else happens here:
validation (same status shape for an invalid spec), the decision core, family and floor signals,
breakers, and the metrics (same labels in both runtimes).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from tradingfloor.decisions import (
    CreateClone,
    Event,
    FamilyMember,
    FloorPolicy,
    FloorSignals,
    Instance,
    Observation,
    Plan,
    SetLifecycle,
    StartInstance,
    StopInstance,
    decide,
    floor_signals,
    open_breakers,
)
from tradingfloor.decisions.circuit_breakers import BREAKERS
from tradingfloor.decisions.evolution import LABEL_PARENT, LABEL_ROOT, root_from_labels
from tradingfloor.decisions.kinds import kind_info
from tradingfloor.decisions.lifecycle import TEMPLATE_CHANGED
from tradingfloor.decisions.performance import family_sharpe
from tradingfloor.decisions.status import EXHAUSTED, is_true, set_condition
from tradingfloor.models.common import GROUP, Condition
from tradingfloor.models.trader_agent import TraderAgentSpec, TraderAgentStatus
from tradingfloor.observability import metrics
from tradingfloor.structs import ModelError, dump, parse

log = logging.getLogger("floor_boss")
Key = tuple[str, str, str]  # kind, namespace ("" on the local floor), name
ANNOUNCES_START = ("Started", "Restarted")  # events that claim an instance was created


@dataclass(frozen=True)
class AgentRecord:
    """One stored agent as the platform has it (a custom resource, or a row of the agents table)."""

    kind: str
    name: str
    spec: Mapping[str, Any]
    status: Mapping[str, Any]
    labels: Mapping[str, str] = field(default_factory=dict)
    generation: int = 1
    created_at: datetime | None = None
    namespace: str = ""
    parent: str | None = None  # lineage parent when the platform stores it outside the spec
    template: str | None = None  # digest of the instance a start would build now (None: not tracked)
    ref: Any = None  # the platform's own object, for its adapter

    @property
    def key(self) -> Key:
        return self.kind, self.namespace, self.name


class Platform(Protocol):
    """What a runtime must be able to do; nothing in it decides."""

    async def start_instance(self, agent: AgentRecord, name: str) -> bool:
        """Create instance ``name``; False when the name is still taken (nothing was started)."""

    async def stop_instance(self, agent: AgentRecord, name: str, reason: str) -> None: ...

    async def write_status(self, agent: AgentRecord, status: dict[str, Any]) -> None: ...

    async def post_event(
        self, agent: AgentRecord, type_: str, reason: str, message: str, details: dict[str, Any]
    ) -> None: ...

    async def set_lifecycle(self, agent: AgentRecord, lifecycle: str) -> None: ...

    async def create_clone(self, agent: AgentRecord, manifest: dict[str, Any]) -> None: ...

    async def release(self, agent: AgentRecord) -> None:
        """The agent is Retired: give back what only a running agent needs (its database login)."""


@dataclass(frozen=True)
class Outcome:
    result: str  # ok | invalid
    phase: str
    requeue_after: float | None = None


def event_details(event: Event) -> dict[str, Any]:
    """Whatever an event carries beyond type/reason/message (e.g. a decision's evidence), JSON-ready."""
    extra = {k: v for k, v in dataclasses.asdict(event).items() if k not in ("type", "reason", "message")}
    return json.loads(json.dumps(extra, default=str)) if extra else {}


def clone_labels(parent: Mapping[str, str], manifest: Mapping[str, Any]) -> dict[str, str]:
    """A clone keeps its parent's own labels (team, purpose …); the floor's labels are set afresh."""
    own = {k: v for k, v in parent.items() if not k.startswith(f"{GROUP}/")}
    return {**own, **(manifest.get("metadata", {}).get("labels") or {})}


def validated_trader(agent: AgentRecord) -> tuple[TraderAgentSpec, TraderAgentStatus | None] | None:
    try:
        spec = parse(TraderAgentSpec, agent.spec)
    except ModelError:
        return None  # reported as InvalidSpec by its own pass; no part in the floor's signals
    try:
        status = parse(TraderAgentStatus, agent.status or {})
    except ModelError:
        status = None
    return spec, status


class Reconciler:
    def __init__(self, platform: Platform, policy: FloorPolicy) -> None:
        self.platform = platform
        self.policy = policy
        self.breakers: tuple[str, ...] = ()
        self.last_template_roll: datetime | None = None  # an upgrade moves one agent per interval
        self.written: dict[Key, dict[str, Any]] = {}  # operator-owned status as last written
        self.phases: dict[Key, str] = {}
        self.released: set[Key] = set()  # Retired agents whose login was given back
        self._validated_traders: dict[
            Key, tuple[AgentRecord, tuple[TraderAgentSpec, TraderAgentStatus | None] | None]
        ] = {}

    def _template_roll_allowed(self, now: datetime) -> bool:
        last = self.last_template_roll
        return last is None or (now - last).total_seconds() >= self.policy.template_roll_interval_seconds

    def forget(self, key: Key) -> None:
        self.written.pop(key, None)
        self.phases.pop(key, None)
        self.released.discard(key)
        self._validated_traders.pop(key, None)

    # --- floor-wide -------------------------------------------------------------------------------
    def floor_signals(
        self, agents: Iterable[AgentRecord], database_reachable: bool | None, api: tuple[int, int]
    ) -> FloorSignals:
        traders = [t for a in agents if a.kind == "TraderAgent" and (t := self._validated(a)) is not None]
        return floor_signals(traders, database_reachable, api[0], api[1])

    def _validated(self, agent: AgentRecord) -> tuple[TraderAgentSpec, TraderAgentStatus | None] | None:
        # Every floor check read every trader: validate a record once (a new event brings a new record).
        cached = self._validated_traders.get(agent.key)
        if cached is None or cached[0] is not agent:
            cached = (agent, validated_trader(agent))
            self._validated_traders[agent.key] = cached
        return cached[1]

    def update_breakers(self, signals: FloorSignals) -> bool:
        """Open/close the floor breakers; True when the set changed (every trader needs a pass)."""
        opened = open_breakers(signals, self.policy)
        for breaker in BREAKERS:
            metrics.CIRCUIT_BREAKER_OPEN.labels(breaker).set(1 if breaker in opened else 0)
        if opened == self.breakers:
            return False
        log.warning("floor circuit breakers now open: %s", ", ".join(opened) or "none")
        self.breakers = opened
        return True

    def update_managed_gauge(self) -> None:
        counts: dict[tuple[str, str], int] = {}
        for (kind, _, _), phase in self.phases.items():
            counts[(kind, phase)] = counts.get((kind, phase), 0) + 1
        metrics.MANAGED.clear()
        for (kind, phase), n in counts.items():
            metrics.MANAGED.labels(kind, phase).set(n)

    @staticmethod
    def family(agent: AgentRecord, agents: Iterable[AgentRecord]) -> tuple[FamilyMember, ...]:
        """Traders sharing the agent's lineage root (lineage labels, else the stored parent chain)."""
        roster = agents if isinstance(agents, Roster) else Roster(agents)
        return roster.family(agent)

    # --- one agent --------------------------------------------------------------------------------
    async def reconcile(
        self,
        agent: AgentRecord,
        agents: Iterable[AgentRecord],
        instances: tuple[Instance, ...],
        heartbeats_enabled: bool,
        heartbeat_at: datetime | None,
        now: datetime,
    ) -> Outcome:
        started = time.perf_counter()
        info = kind_info(agent.kind)
        raw_status = dict(agent.status or {})
        raw_status.update(self.written.get(agent.key, {}))  # we are the only writer of the owned fields
        try:
            try:
                spec = parse(info.spec, agent.spec or {})
                status = parse(info.status, raw_status)
            except ModelError as exc:
                await self._report_invalid(agent, raw_status, instances, exc, now)
                outcome = Outcome("invalid", "Invalid")
            else:
                if status.phase == "Invalid":  # the spec was fixed: the old complaint goes
                    status.message = None
                obs = Observation(
                    kind=info.kind,
                    name=agent.name,
                    spec=spec,
                    status=status,
                    generation=agent.generation,
                    labels=dict(agent.labels),
                    instances=instances,
                    heartbeats_enabled=heartbeats_enabled,
                    heartbeat_at=heartbeat_at,
                    family=self.family(agent, agents) if agent.kind == "TraderAgent" else (),
                    breakers=self.breakers,
                    template=agent.template,
                    template_roll_allowed=self._template_roll_allowed(now),
                )
                plan = decide(obs, self.policy, now)
                if any(e.reason == TEMPLATE_CHANGED for e in plan.events):
                    self.last_template_roll = now  # set before any await: no other pass can slip in
                requeue = await self._carry_out(agent, plan)
                await self._release_if_retired(agent, plan.status.get("phase"))
                current = {k: v for k, v in dump(status).items() if k in info.floor_boss_status_fields}
                if plan.status != current:  # most passes change nothing: skip the write
                    await self.platform.write_status(agent, plan.status)
                self.written[agent.key] = plan.status
                metrics.BUDGET_EXHAUSTED.labels(agent.kind, agent.name).set(
                    1 if is_true(parse(info.status, plan.status).conditions, EXHAUSTED) else 0
                )
                wait = plan.requeue_after
                if requeue is not None:
                    wait = requeue if wait is None else min(wait, requeue)
                outcome = Outcome("ok", plan.status.get("phase") or "Pending", wait)
        except Exception:
            metrics.RECONCILES.labels(agent.kind, "error").inc()
            raise
        finally:
            metrics.RECONCILE_DURATION.labels(agent.kind).observe(time.perf_counter() - started)
        metrics.RECONCILES.labels(agent.kind, outcome.result).inc()
        self.phases[agent.key] = outcome.phase
        return outcome

    async def _release_if_retired(self, agent: AgentRecord, phase: str | None) -> None:
        if phase != "Retired":
            self.released.discard(agent.key)
        elif agent.key not in self.released:
            try:
                await self.platform.release(agent)
            except Exception as exc:  # the database away: the next pass tries again
                log.warning("could not release %s's login: %s", agent.name, exc)
            else:
                self.released.add(agent.key)

    async def _carry_out(self, agent: AgentRecord, plan: Plan) -> float | None:
        """Act on the plan; returns a retry delay when a start found its name still taken."""
        refused: set[str] = set()
        for action in plan.actions:
            if isinstance(action, StopInstance):
                await self.platform.stop_instance(agent, action.name, action.reason)
            elif isinstance(action, StartInstance):
                if not await self.platform.start_instance(agent, action.name):
                    refused.add(action.name)
                    log.info("instance name %s still taken; retrying shortly", action.name)
            elif isinstance(action, SetLifecycle):
                await self.platform.set_lifecycle(agent, action.lifecycle)
            elif isinstance(action, CreateClone):
                manifest = dict(action.manifest)
                manifest["metadata"] = {
                    **manifest["metadata"],
                    "labels": clone_labels(agent.labels, manifest),
                }
                await self.platform.create_clone(agent, manifest)
        for decision in plan.decisions:
            metrics.DECISIONS.labels(decision.action).inc()
            if decision.action == "restart":
                metrics.RESTARTS.labels(agent.kind, decision.reason).inc()
        for event in plan.events:
            if refused and event.reason in ANNOUNCES_START:
                continue  # "Started" only after the platform really created the instance
            try:
                await self.platform.post_event(
                    agent, event.type, event.reason, event.message, event_details(event)
                )
            except Exception as exc:  # an Event is best effort; the status carries the facts
                log.warning("could not post event %s for %s: %s", event.reason, agent.name, exc)
        return 1.0 if refused else None

    async def _report_invalid(
        self,
        agent: AgentRecord,
        raw_status: dict[str, Any],
        instances: tuple[Instance, ...],
        exc: ModelError,
        now: datetime,
    ) -> None:
        """One status shape in both runtimes: phase Invalid, Ready=False/InvalidSpec, the message."""
        message = f"invalid {agent.kind}: {exc.path or 'spec'}: {exc.problem}"[:1000]
        for inst in instances:  # a spec that cannot be read cannot be supervised
            if not inst.deleting:
                await self.platform.stop_instance(agent, inst.name, "InvalidSpec")
        if raw_status.get("phase") == "Invalid" and raw_status.get("message") == message:
            return
        conditions = []
        for c in raw_status.get("conditions") or []:
            try:
                conditions.append(parse(Condition, c))
            except ModelError:
                continue  # drop a malformed condition rather than fail on it
        conditions = set_condition(conditions, "Ready", False, "InvalidSpec", message, now, agent.generation)
        status = {
            "phase": "Invalid",
            "observedGeneration": agent.generation,
            "message": message,
            "conditions": [dump(c) for c in conditions],
        }
        await self.platform.write_status(agent, status)
        self.written[agent.key] = status
        await self.platform.post_event(agent, "Warning", "InvalidSpec", message, {})
        log.error("invalid spec for %s %s: %s", agent.kind, agent.name, message)


class Roster:
    """The agents a platform knows, with the lineage index a trader's family is read from.

    Kept up to date one agent at a time (``put``/``drop``), so a family costs its own size rather
    than the floor's: rebuilding it from every agent on every pass made a pass O(agents), and the
    Kubernetes adapter runs a pass per agent event. Roots follow lineage labels, else the parent
    chain through the traders listed here (``root_from_parents``), exactly as before.
    """

    def __init__(self, agents: Iterable[AgentRecord] = ()) -> None:
        self._agents: dict[Key, AgentRecord] = {}
        self._parents: dict[str, dict[str, str | None]] = defaultdict(dict)  # ns -> trader -> parent
        self._children: dict[tuple[str, str], set[str]] = defaultdict(set)  # (ns, name) -> its children
        self._roots: dict[tuple[str, str], str] = {}  # (ns, trader) -> lineage root
        self._members: dict[tuple[str, str], dict[str, None]] = defaultdict(dict)  # (ns, root) -> traders
        for agent in agents:
            self.put(agent)

    def __len__(self) -> int:
        return len(self._agents)

    def __iter__(self) -> Iterator[AgentRecord]:
        return iter(list(self._agents.values()))

    def get(self, key: Key) -> AgentRecord | None:
        return self._agents.get(key)

    def put(self, agent: AgentRecord) -> None:
        old = self._agents.get(agent.key)
        self._agents[agent.key] = agent
        if agent.kind != "TraderAgent" or (old is not None and _lineage(old) == _lineage(agent)):
            return  # most updates are status: the lineage index stands
        ns, name = agent.namespace, agent.name
        self._unlink(ns, name)
        parent = _parent(agent)
        self._parents[ns][name] = parent
        if parent:
            self._children[(ns, parent)].add(name)
        self._reroot(ns, [name])

    def drop(self, key: Key) -> None:
        agent = self._agents.pop(key, None)
        if agent is None or agent.kind != "TraderAgent":
            return
        ns, name = agent.namespace, agent.name
        self._unlink(ns, name)
        self._parents[ns].pop(name, None)
        root = self._roots.pop((ns, name), None)
        if root is not None:
            self._leave(ns, root, name)
        self._reroot(ns, list(self._children.get((ns, name), ())))  # their chains now end here

    def family(self, agent: AgentRecord) -> tuple[FamilyMember, ...]:
        ns = agent.namespace
        root = self._roots.get((ns, agent.name)) if agent.key in self._agents else None
        if root is None:  # not listed: its root as the listed traders see it
            root = self._root_of(agent, ns)
        parents = self._parents.get(ns, {})
        listed = [self._agents[("TraderAgent", ns, m)] for m in self._members.get((ns, root), {})]
        return tuple(
            FamilyMember(
                name=a.name,
                parent=parents.get(a.name),
                created_at=a.created_at,
                sharpe=family_sharpe((a.status or {}).get("performance")),  # per-trade track, for the DSR
            )
            for a in listed
        )

    # --- the lineage index ------------------------------------------------------------------------
    def _root_of(self, agent: AgentRecord, ns: str) -> str:
        if agent.labels.get(LABEL_ROOT):
            return root_from_labels(agent.name, dict(agent.labels))
        return root_from_parents(agent.name, self._parents.get(ns, {}))

    def _unlink(self, ns: str, name: str) -> None:
        parent = self._parents.get(ns, {}).get(name)
        if parent:
            self._children[(ns, parent)].discard(name)
            if not self._children[(ns, parent)]:
                del self._children[(ns, parent)]

    def _leave(self, ns: str, root: str, name: str) -> None:
        members = self._members.get((ns, root))
        if members is not None:
            members.pop(name, None)
            if not members:
                del self._members[(ns, root)]

    def _reroot(self, ns: str, start: list[str]) -> None:
        """Recompute the roots of ``start`` and of every trader whose parent chain runs through them."""
        todo, done = list(start), set()
        while todo:
            name = todo.pop()
            if name in done:
                continue
            done.add(name)
            agent = self._agents.get(("TraderAgent", ns, name))
            if agent is not None:
                new, old = self._root_of(agent, ns), self._roots.get((ns, name))
                if new != old:
                    if old is not None:
                        self._leave(ns, old, name)
                    self._roots[(ns, name)] = new
                    self._members[(ns, new)][name] = None
            todo.extend(self._children.get((ns, name), ()))


def root_from_parents(name: str, parents: Mapping[str, str | None]) -> str:
    """Follow stored parents up to the lineage root (a cycle ends instead of looping)."""
    seen = set()
    while (parent := parents.get(name)) and name not in seen:
        seen.add(name)
        name = parent
    return name


def _lineage(agent: AgentRecord) -> tuple[str | None, str | None]:
    """What a trader's place in the lineage index depends on."""
    return _parent(agent), agent.labels.get(LABEL_ROOT)


def _parent(agent: AgentRecord) -> str | None:
    return agent.parent or (agent.spec.get("lineage") or {}).get("parent") or agent.labels.get(LABEL_PARENT)
