"""The Floor Boss runtime: turns one resource plus what the indexes know into an Observation,
asks the decision core for a Plan and carries it out through the API. One pass per agent at a time."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from floor_boss.heartbeats import Heartbeats
from floor_boss.kube import Kube, KubeError
from floor_boss.pods import build_pod, pod_instance
from floor_boss.settings import BossSettings
from tradingfloor.decisions import (
    CreateClone,
    FamilyMember,
    FloorPolicy,
    FloorSignals,
    Observation,
    SetLifecycle,
    StartInstance,
    StopInstance,
    decide,
    floor_pnl,
    open_breakers,
)
from tradingfloor.decisions.circuit_breakers import BREAKERS
from tradingfloor.decisions.draft import OWNED_STATUS_FIELDS
from tradingfloor.decisions.evolution import LABEL_ROOT, root_from_labels
from tradingfloor.decisions.performance import number
from tradingfloor.decisions.status import EXHAUSTED, is_true, set_condition
from tradingfloor.models.manifests import KINDS, SPEC_AND_STATUS
from tradingfloor.observability import metrics

log = logging.getLogger("floor_boss")
Key = tuple[str, str, str]  # kind, namespace, name


def key_of(body: Mapping[str, Any]) -> Key:
    return body["kind"], body["metadata"]["namespace"], body["metadata"]["name"]


class FloorBoss:
    def __init__(
        self,
        settings: BossSettings,
        kube: Kube,
        heartbeats: Heartbeats | None = None,
        policy: FloorPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.kube = kube
        self.heartbeats = heartbeats
        self.policy = policy or FloorPolicy(**settings.policy_overrides)
        self.bodies: dict[Key, dict[str, Any]] = {}  # newest body seen per resource
        self.pods: dict[Key, dict[str, dict[str, Any]]] = defaultdict(dict)  # pod summaries per owner
        self.written: dict[Key, dict[str, Any]] = {}  # operator-owned status as last written
        self.breakers: tuple[str, ...] = ()
        self._locks: dict[Key, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._kicks: dict[Key, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task] = set()

    # --- bookkeeping fed by the kopf handlers ---------------------------------------------------
    def remember(self, body: Mapping[str, Any], deleted: bool = False) -> Key:
        key = key_of(body)
        if deleted:
            self.bodies.pop(key, None)
            self.written.pop(key, None)
            handle = self._kicks.pop(key, None)
            if handle is not None:
                handle.cancel()
        else:
            self.bodies[key] = dict(body)
        return key

    def remember_pod(self, owner: Key, pod: Mapping[str, Any], deleted: bool) -> None:
        name = pod["metadata"]["name"]
        if deleted:
            self.pods[owner].pop(name, None)
        else:
            self.pods[owner][name] = {
                "metadata": dict(pod["metadata"]),
                "status": dict(pod.get("status") or {}),
            }

    def kick(self, key: Key, delay: float = 0.0) -> None:
        """Reconcile ``key`` after ``delay`` seconds (coalesced: the earliest pending kick wins)."""
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        pending = self._kicks.get(key)
        if pending is not None and not pending.cancelled() and pending.when() <= when:
            return
        if pending is not None:
            pending.cancel()
        self._kicks[key] = loop.call_at(when, self._run_kick, key)

    def _run_kick(self, key: Key) -> None:
        self._kicks.pop(key, None)
        task = asyncio.get_running_loop().create_task(self.reconcile_key(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for handle in self._kicks.values():
            handle.cancel()
        self._kicks.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- one reconcile pass ---------------------------------------------------------------------
    async def reconcile_key(self, key: Key) -> None:
        body = self.bodies.get(key)
        if body is not None:
            await self.reconcile(body)

    async def reconcile(self, body: Mapping[str, Any]) -> None:
        key = key_of(body)
        kind = key[0]
        async with self._locks[key]:
            body = self.bodies.get(key, body)
            if body["metadata"].get("deletionTimestamp"):
                return  # ownerReferences let the garbage collector remove the Pods
            started = time.perf_counter()
            result = "ok"
            try:
                result = await self._reconcile(kind, key, body)
            except Exception as exc:  # never crash the operator: report, retry on the next kick
                result = "error"
                log.exception("reconcile of %s %s/%s failed", *key)
                self.kick(key, min(self.settings.resync_seconds, 10.0))
                if isinstance(exc, KubeError) and exc.status == 401:
                    raise
            finally:
                metrics.RECONCILES.labels(kind, result).inc()
                metrics.RECONCILE_DURATION.labels(kind).observe(time.perf_counter() - started)

    async def _reconcile(self, kind: str, key: Key, body: Mapping[str, Any]) -> str:
        spec_model, status_model = SPEC_AND_STATUS[kind]
        raw_status = dict(body.get("status") or {})
        raw_status.update(self.written.get(key, {}))  # we are the only writer of the owned fields
        now = datetime.now(UTC)
        try:
            spec = spec_model.model_validate(body.get("spec") or {})
            status = status_model.model_validate(raw_status)
        except ValidationError as exc:
            await self._report_invalid(kind, key, body, raw_status, exc, now)
            return "invalid"
        meta = body["metadata"]
        obs = Observation(
            kind=KINDS[kind],
            name=key[2],
            spec=spec,
            status=status,
            generation=int(meta.get("generation") or 1),
            labels=dict(meta.get("labels") or {}),
            instances=tuple(pod_instance(p) for p in self.pods.get(key, {}).values()),
            heartbeats_enabled=self.heartbeats is not None,
            heartbeat_at=await self.heartbeats.last_beat(key[2]) if self.heartbeats is not None else None,
            family=self._family(key, body) if kind == "TraderAgent" else (),
            breakers=self.breakers,
        )
        plan = decide(obs, self.policy, now)
        await self._apply(kind, key, body, plan)
        if plan.status != {
            k: v for k, v in status.model_dump(mode="json").items() if k in OWNED_STATUS_FIELDS
        }:
            await self.kube.patch_status(kind, key[1], key[2], plan.status)
        self.written[key] = plan.status
        metrics.BUDGET_EXHAUSTED.labels(kind, key[2]).set(
            1 if is_true(status_model.model_validate(plan.status).conditions, EXHAUSTED) else 0
        )
        if plan.requeue_after is not None:
            self.kick(key, plan.requeue_after + 0.05)
        return "ok"

    async def _apply(self, kind: str, key: Key, body: Mapping[str, Any], plan) -> None:
        _, namespace, name = key
        for action in plan.actions:
            if isinstance(action, StopInstance):
                await self.kube.delete_pod(namespace, action.name)
            elif isinstance(action, StartInstance):
                await self.kube.create_pod(build_pod(dict(body), action.name, self.settings))
            elif isinstance(action, SetLifecycle):
                await self.kube.patch_spec(kind, namespace, name, {"lifecycle": action.lifecycle})
            elif isinstance(action, CreateClone):
                await self.kube.create_resource("TraderAgent", namespace, action.manifest)
        for decision in plan.decisions:
            metrics.DECISIONS.labels(decision.action).inc()
            if decision.action == "restart":
                metrics.RESTARTS.labels(kind, decision.reason).inc()
        for event in plan.events:
            try:
                await self.kube.post_event(dict(body), event.type, event.reason, event.message)
            except KubeError as exc:  # an Event is best effort; the status carries the facts
                log.warning("could not post event %s for %s/%s: %s", event.reason, namespace, name, exc)

    async def _report_invalid(
        self,
        kind: str,
        key: Key,
        body: Mapping[str, Any],
        raw_status: dict,
        exc: ValidationError,
        now: datetime,
    ) -> None:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'spec'}: {e['msg']}" for e in exc.errors()
        )
        message = f"invalid {kind}: {problems}"
        old = [c for c in raw_status.get("conditions") or [] if isinstance(c, dict)]
        if any(
            c.get("type") == "Ready" and c.get("reason") == "InvalidSpec" and c.get("message") == message
            for c in old
        ):
            return
        from tradingfloor.models.common import Condition

        conditions = []
        for c in old:
            try:
                conditions.append(Condition.model_validate(c))
            except ValidationError:
                continue  # drop a malformed condition rather than fail on it
        conditions = set_condition(
            conditions,
            "Ready",
            False,
            "InvalidSpec",
            message,
            now,
            int(body["metadata"].get("generation") or 1),
        )
        status = {
            "phase": "Invalid",
            "observedGeneration": int(body["metadata"].get("generation") or 1),
            "conditions": [c.model_dump(mode="json") for c in conditions],
        }
        await self.kube.patch_status(kind, key[1], key[2], status)
        self.written[key] = status
        await self.kube.post_event(dict(body), "Warning", "InvalidSpec", message)

    # --- family and floor-wide state ------------------------------------------------------------
    def _family(self, key: Key, body: Mapping[str, Any]) -> tuple[FamilyMember, ...]:
        root = root_from_labels(key[2], (body["metadata"].get("labels") or {}))
        members = []
        for (kind, ns, name), other in self.bodies.items():
            if kind != "TraderAgent" or ns != key[1]:
                continue
            labels = other["metadata"].get("labels") or {}
            if labels.get(LABEL_ROOT, name) != root:
                continue
            spec, perf = other.get("spec") or {}, (other.get("status") or {}).get("performance") or {}
            created = other["metadata"].get("creationTimestamp")
            members.append(
                FamilyMember(
                    name=name,
                    parent=(spec.get("lineage") or {}).get("parent"),
                    created_at=datetime.fromisoformat(created.replace("Z", "+00:00")) if created else None,
                    sharpe=number(perf.get("sharpe")),
                )
            )
        return tuple(members)

    def floor_signals(self, database_reachable: bool | None, api: tuple[int, int]) -> FloorSignals:
        traders = []
        for (kind, _, _), body in self.bodies.items():
            if kind == "TraderAgent" and (body.get("spec") or {}).get("lifecycle", "Active") == "Active":
                capital = (
                    number(str(((body.get("spec") or {}).get("risk") or {}).get("capital", "1000"))) or 0.0
                )
                daily = number(((body.get("status") or {}).get("performance") or {}).get("dailyPnl"))
                traders.append((capital, daily))
        pnl, capital = floor_pnl(traders)
        return FloorSignals(
            daily_pnl=pnl,
            capital=capital,
            api_requests=api[0],
            api_errors=api[1],
            database_reachable=database_reachable,
        )

    def update_breakers(self, signals: FloorSignals) -> None:
        opened = open_breakers(signals, self.policy)
        for breaker in BREAKERS:
            metrics.CIRCUIT_BREAKER_OPEN.labels(breaker).set(1 if breaker in opened else 0)
        if opened != self.breakers:
            log.warning("floor circuit breakers now open: %s", ", ".join(opened) or "none")
            self.breakers = opened
            for key in list(self.bodies):
                if key[0] == "TraderAgent":
                    self.kick(key)

    def update_managed_gauge(self) -> None:
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for key in self.bodies:
            counts[(key[0], (self.written.get(key) or {}).get("phase") or "Pending")] += 1
        metrics.MANAGED.clear()
        for (kind, phase), n in counts.items():
            metrics.MANAGED.labels(kind, phase).set(n)


Probe = Callable[[], "asyncio.Future[bool | None]"]
