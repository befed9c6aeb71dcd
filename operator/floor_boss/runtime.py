"""The Kubernetes adapter of the Floor Boss: custom resources and their Pods through the API.

kopf watch events feed two indexes (the newest body of every agent, the Pods each one owns) and
kick a per-agent pass; ``floor_boss.reconciler`` does the pass. One pass per agent at a time.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from floor_boss.admission_kube import admission_refusal
from floor_boss.collector_pods import KubeCollectors
from floor_boss.heartbeats import Heartbeats
from floor_boss.kube import Kube, KubeError
from floor_boss.pods import build_pod, db_login_secret, journal_claim, pod_instance, pod_template
from floor_boss.reconciler import AgentRecord, Key, Reconciler, Roster
from floor_boss.settings import BossSettings
from tradingfloor.decisions import FloorPolicy, FloorSignals
from tradingfloor.decisions.kinds import kind_info
from tradingfloor.models.common import GROUP
from tradingfloor.persistence.logins import DatabaseLogins, DerivedPasswords, LoginsUnavailable
from tradingfloor.structs import ModelError, parse

log = logging.getLogger("floor_boss")
DETAILS_ANNOTATION = f"{GROUP}/details"


def key_of(body: Mapping[str, Any]) -> Key:
    return body["kind"], body["metadata"]["namespace"], body["metadata"]["name"]


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _without_nulls(value: Any) -> Any:
    """A status as a merge patch leaves it: keys patched to null are gone."""
    if isinstance(value, Mapping):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def reports_requested(spec: Mapping[str, Any]) -> list[str]:
    """The report windows a Monitor spec asks for (the model's defaults: hourly and daily)."""
    from tradingfloor.models.monitor import Reports

    try:
        reports = parse(Reports, spec.get("reports") or {})
    except ModelError:
        return []  # an invalid spec is reported by its own pass
    return [w for w in ("hourly", "daily") if getattr(reports, w)]


def record_of(body: Mapping[str, Any]) -> AgentRecord:
    meta = body["metadata"]
    return AgentRecord(
        kind=body["kind"],
        name=meta["name"],
        namespace=meta["namespace"],
        spec=body.get("spec") or {},
        status=body.get("status") or {},
        labels=meta.get("labels") or {},
        generation=int(meta.get("generation") or 1),
        created_at=_time(meta.get("creationTimestamp")),
        ref=body,
    )


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
        self.reconciler = Reconciler(self, policy or parse(FloorPolicy, settings.policy_overrides))
        self.bodies: dict[Key, dict[str, Any]] = {}  # newest body seen per resource
        self.roster = Roster()  # the same, as the reconciler reads them (built once per event)
        self.pods: dict[Key, dict[str, dict[str, Any]]] = defaultdict(dict)  # pod summaries per owner
        self._locks: dict[Key, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._kicks: dict[Key, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # least privilege: each agent's own database login (passwords derived from the owner URL)
        self.db_logins = (
            DatabaseLogins(settings.database_url, DerivedPasswords(settings.database_url))
            if settings.agent_db_logins and settings.database_url
            else None
        )
        self.collectors = KubeCollectors(kube, settings, self.db_logins)
        self._reports_explained: set[tuple[Key, int]] = set()
        self.echo = False  # whether the last remembered event only echoed our own status write

    @property
    def policy(self) -> FloorPolicy:
        return self.reconciler.policy

    @property
    def breakers(self) -> tuple[str, ...]:
        return self.reconciler.breakers

    # --- bookkeeping fed by the kopf handlers ---------------------------------------------------
    def remember(self, body: Mapping[str, Any], deleted: bool = False) -> Key:
        key = key_of(body)
        self.echo = False
        if deleted:
            self.bodies.pop(key, None)
            self.roster.drop(key)
            self.reconciler.forget(key)
            handle = self._kicks.pop(key, None)
            if handle is not None:
                handle.cancel()
        else:
            old = self.roster.get(key)
            self.bodies[key] = dict(body)
            new = record_of(self.bodies[key])
            self.roster.put(new)
            self.echo = self._own_echo(old, new)
        return key

    def _own_echo(self, old: AgentRecord | None, new: AgentRecord) -> bool:
        """True when an event only brings back the status this operator last wrote: nothing new to
        decide, so no pass (every status write used to cost a second, idle pass per agent)."""
        written = self.reconciler.written.get(new.key)
        if old is None or written is None or new.ref["metadata"].get("deletionTimestamp"):
            return False
        if (old.spec, old.labels, old.generation) != (new.spec, new.labels, new.generation):
            return False
        owned = kind_info(new.kind).floor_boss_status_fields
        if {k: v for k, v in old.status.items() if k not in owned} != {
            k: v for k, v in new.status.items() if k not in owned
        }:
            return False  # the agent reported something (performance …)
        return _without_nulls({k: v for k, v in new.status.items() if k in owned}) == _without_nulls(written)

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

    def kick_all(self, kind: str | None = None) -> None:
        for key in list(self.bodies):
            if kind is None or key[0] == kind:
                self.kick(key)

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
        async with self._locks[key]:
            body = self.bodies.get(key, body)
            if body["metadata"].get("deletionTimestamp"):
                return  # ownerReferences let the garbage collector remove the Pods
            agent = self.roster.get(key) or record_of(body)
            # what its Pods are built from now: once per pass, not on every watch event
            agent = replace(agent, template=pod_template(agent.ref, self.settings))
            try:
                outcome = await self.reconciler.reconcile(
                    agent,
                    self.roster,
                    tuple(pod_instance(p) for p in self.pods.get(key, {}).values()),
                    self.heartbeats is not None,
                    await self.heartbeats.last_beat(key[2]) if self.heartbeats is not None else None,
                    datetime.now(UTC),
                )
            except Exception as exc:  # never crash the operator: report, retry on the next kick
                log.exception("reconcile of %s %s/%s failed", *key)
                self.kick(key, min(self.settings.resync_seconds, 10.0))
                if isinstance(exc, KubeError) and exc.status == 401:
                    raise
                return
            if outcome.requeue_after is not None:
                self.kick(key, outcome.requeue_after + 0.05)
            if agent.kind == "Monitor" and outcome.result == "ok":
                await self._explain_reports(agent)

    async def _explain_reports(self, agent: AgentRecord) -> None:
        """``spec.reports`` asks for files the operator cannot keep in a Pod: say so once per generation
        (Event ``ReportsNotScheduled``) and point at the CronJob recipe, instead of silently ignoring it."""
        wanted = reports_requested(agent.spec)
        mark = (agent.key, agent.generation)
        if not wanted or mark in self._reports_explained:
            return
        self._reports_explained.add(mark)
        message = (
            f"spec.reports asks for {' and '.join(wanted)} reports; in Kubernetes the Floor Boss does not "
            "write report files (a Pod has no lasting place for them): schedule `floor report --hourly` / "
            "`--daily` as a CronJob with a volume of your choice (docs/deploy-kubernetes.md, Reports)"
        )
        try:
            await self.kube.post_event(agent.ref, "Normal", "ReportsNotScheduled", message)
        except KubeError as exc:
            log.warning("could not post ReportsNotScheduled for %s: %s", agent.name, exc)

    # --- the Platform verbs -----------------------------------------------------------------------
    async def start_instance(self, agent: AgentRecord, name: str) -> bool:
        refused = await admission_refusal(self.kube, agent.ref, self.settings.agent_image)
        if refused:  # no Pod for a foreign image or an unlabelled Secret (admission.py); retried with backoff
            await self.kube.post_event(agent.ref, "Warning", "AdmissionRefused", refused)
            return True
        if self.settings.journal_storage_size and agent.kind == "TraderAgent":
            await self.kube.create_pvc(journal_claim(agent.ref, self.settings))  # 409: already there
        if self.db_logins is not None:  # the Pod reads DATABASE_URL from this Secret
            try:
                url = await self.db_logins.url_for(agent.kind, agent.name)
            except LoginsUnavailable as exc:  # no Pod on the owner's URL instead: say why, retry later
                await self.kube.post_event(agent.ref, "Warning", "DatabaseLoginRefused", str(exc))
                return True
            await self.kube.create_secret(db_login_secret(agent.ref, url))  # 409: already there
        pod = build_pod(agent.ref, name, self.settings)
        if not await self.kube.create_pod(pod):
            return False
        # Index the new Pod now, as Pending: its watch event can take seconds to arrive on a busy
        # floor, and a pass before it would try the same name again (a 409 and a rewritten status
        # per agent). The event, when it comes, replaces this entry (or came first: then it stays).
        if name not in self.pods[agent.key]:
            self.remember_pod(agent.key, {**pod, "status": {"phase": "Pending"}}, deleted=False)
        return True

    async def stop_instance(self, agent: AgentRecord, name: str, reason: str) -> None:
        await self.kube.delete_pod(agent.namespace, name)

    async def write_status(self, agent: AgentRecord, status: dict[str, Any]) -> None:
        await self.kube.patch_status(agent.kind, agent.namespace, agent.name, status)

    async def post_event(
        self, agent: AgentRecord, type_: str, reason: str, message: str, details: dict[str, Any]
    ) -> None:
        annotations = {DETAILS_ANNOTATION: json.dumps(details, sort_keys=True)} if details else None
        await self.kube.post_event(agent.ref, type_, reason, message, annotations)

    async def set_lifecycle(self, agent: AgentRecord, lifecycle: str) -> None:
        await self.kube.patch_spec(agent.kind, agent.namespace, agent.name, {"lifecycle": lifecycle})

    async def create_clone(self, agent: AgentRecord, manifest: dict[str, Any]) -> None:
        await self.kube.create_resource("TraderAgent", agent.namespace, manifest)

    async def release(self, agent: AgentRecord) -> None:
        await self.release_login(agent.kind, agent.name)

    async def release_login(self, kind: str, name: str) -> None:
        """Retired or deleted: its login may no longer connect (its Secret goes with the resource)."""
        if self.db_logins is not None:
            await self.db_logins.disable(kind, name)

    # --- floor-wide state -----------------------------------------------------------------------
    def floor_signals(self, database_reachable: bool | None, api: tuple[int, int]) -> FloorSignals:
        return self.reconciler.floor_signals(self.roster, database_reachable, api)

    def update_breakers(self, signals: FloorSignals) -> None:
        if self.reconciler.update_breakers(signals):
            self.kick_all("TraderAgent")

    def update_managed_gauge(self) -> None:
        self.reconciler.update_managed_gauge()
