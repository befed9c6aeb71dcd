"""The operator's collectors: one Pod per (namespace, series) that an Active trader needs, removed
when none does, recreated with backoff when it fails (``floor_boss.collectors`` decides).

Who owns a collector: the operator's Deployment (``FLOOR_OPERATOR_DEPLOYMENT``, set by the chart),
so ``helm uninstall`` deleting the Deployment lets the cluster's garbage collector delete the
collectors too. Why that owner: a collector serves every trader of its series, and TraderAgents are
the user's resources (the release does not delete them), so owning it by them would outlive the
release; the Deployment is the release's own object and keeps its uid across upgrades and rollouts
(a ReplicaSet or the operator's Pod would not). Kubernetes forbids owners in another namespace (a
dependent whose owner is elsewhere counts as orphaned and is deleted), so only collectors in the
Deployment's namespace get it: the chart's operator watches just that namespace. An operator run
by hand, or one watching other namespaces, leaves those collectors unowned, as before.

A collector in that namespace without the owner (made by a Floor Boss from before owners, or run
by hand) is replaced by an owned one, once: otherwise an upgraded release would leave it running
after `helm uninstall`. Replacing rather than patching keeps the operator's Role without `patch`
on Pods; the series misses a few seconds of market data, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from floor_boss.collectors import (
    LABEL_SERIES,
    CollectorBook,
    Running,
    Series,
    collector_login_secret,
    collector_pod,
    deployment_owner,
    series_of_spec,
)
from floor_boss.kube import Kube, KubeError
from floor_boss.pods import pod_instance
from floor_boss.settings import BossSettings
from tradingfloor.persistence.logins import DatabaseLogins

log = logging.getLogger("floor_boss.collectors")
IDLE_SECONDS = 5.0


def series_of(slug: str) -> Series | None:
    asset, _, interval = slug.partition("-")
    return Series(asset.upper(), interval) if asset and interval else None


class KubeCollectors:
    def __init__(self, kube: Kube, settings: BossSettings, db_logins: DatabaseLogins | None = None) -> None:
        self.kube = kube
        self.settings = settings
        self.db_logins = db_logins  # least privilege: the collectors' own login
        self.pods: dict[tuple[str, Series], Running] = {}
        self.owner_uids: dict[tuple[str, Series], set[str]] = {}  # each collector Pod's owners
        self.books: dict[str, CollectorBook] = defaultdict(CollectorBook)
        self._wake = asyncio.Event()
        self._spec_series: dict[tuple[str, str, str], tuple[dict[str, Any], Series | None]] = {}
        self.owner: dict[str, Any] | None = None  # the operator's Deployment, once find_owner read it
        self.owner_namespace: str | None = None

    async def find_owner(self) -> None:
        """Read the uid of the operator's Deployment; without it collectors stay unowned (logged)."""
        name, namespace = self.settings.owner_deployment, self.settings.operator_namespace
        if not name or not namespace:
            return
        try:
            uid = await self.kube.deployment_uid(namespace, name)
        except KubeError as exc:
            log.warning(
                "cannot read Deployment %s/%s (%s): collectors will not be owned by it and will "
                "outlive the release",
                namespace,
                name,
                exc,
            )
            return
        self.owner, self.owner_namespace = deployment_owner(name, uid), namespace

    def owner_in(self, namespace: str) -> dict[str, Any] | None:
        """The owner a collector in ``namespace`` may have (owners cannot be in another namespace)."""
        return self.owner if namespace == self.owner_namespace else None

    def wake(self) -> None:
        self._wake.set()

    def remember_pod(self, pod: Mapping[str, Any], deleted: bool) -> None:
        meta = pod["metadata"]
        series = series_of((meta.get("labels") or {}).get(LABEL_SERIES, ""))
        if series is None:
            return
        key = (meta["namespace"], series)
        if deleted:
            self.pods.pop(key, None)
            self.owner_uids.pop(key, None)
        else:
            self.owner_uids[key] = {ref.get("uid") for ref in meta.get("ownerReferences") or ()}
            inst = pod_instance({"metadata": dict(meta), "status": dict(pod.get("status") or {})})
            started: datetime | None = inst.started_at
            self.pods[key] = Running(inst.state, started.timestamp() if started else None, inst.deleting)
        self.wake()

    def note_trader(self, key: tuple[str, str, str], body: Mapping[str, Any] | None) -> None:
        """A TraderAgent event (``body`` None: deleted). Its series is worked out once per spec, and
        the sync loop is woken only when it changes: status events (most of them) cost nothing.
        Validating every trader's spec on every event made each event O(agents)."""
        if body is None or body["metadata"].get("deletionTimestamp"):
            gone = self._spec_series.pop(key, None)
            if gone is not None and gone[1] is not None:
                self.wake()
            return
        spec = body.get("spec") or {}
        cached = self._spec_series.get(key)
        if cached is not None and cached[0] == spec:
            return
        series = series_of_spec(spec)
        self._spec_series[key] = (spec, series)
        if cached is None or cached[1] != series:
            self.wake()

    def needed(self) -> dict[str, set[Series]]:
        needed: dict[str, set[Series]] = defaultdict(set)
        for (_, ns, _), (_, series) in self._spec_series.items():
            if series is not None:
                needed[ns].add(series)
        return dict(needed)

    async def sync(self) -> float | None:
        """One pass over every namespace; returns seconds until a backed-off start is due."""
        needed = self.needed()
        namespaces = set(needed) | {ns for ns, _ in self.pods}
        waits = []
        for ns in sorted(namespaces):
            await self._replace_unowned(ns)
            running = {s: r for (pns, s), r in self.pods.items() if pns == ns}
            plan = self.books[ns].plan(needed.get(ns, set()), running)
            for series in plan.stop:
                seen = self.pods.get((ns, series))
                if seen is not None:  # counted once: the next pass waits for it to go
                    self.pods[(ns, series)] = Running(seen.state, seen.started_at, deleting=True)
                await self.kube.delete_pod(ns, series.pod_name)
                log.info("collector %s/%s stopped", ns, series.pod_name)
            if plan.start and self.db_logins is not None:  # the Pods read DATABASE_URL from it
                url = await self.db_logins.url_for("collector")
                await self.kube.create_secret(
                    collector_login_secret(ns, url, self.owner_in(ns))
                )  # 409: there
            for series in plan.start:
                if await self.kube.create_pod(collector_pod(series, ns, self.settings, self.owner_in(ns))):
                    log.info("collector %s/%s started", ns, series.pod_name)
                    self.pods.setdefault((ns, series), Running("pending"))
            if plan.retry_in is not None:
                waits.append(plan.retry_in)
        return min(waits) if waits else None

    async def _replace_unowned(self, ns: str) -> None:
        owner = self.owner_in(ns)
        if owner is None:
            return
        for (pns, series), seen in list(self.pods.items()):
            if pns != ns or seen.deleting or owner["uid"] in self.owner_uids.get((pns, series), ()):
                continue
            self.pods[(pns, series)] = Running(seen.state, seen.started_at, deleting=True)
            await self.kube.delete_pod(ns, series.pod_name)
            log.warning(
                "collector %s/%s had no owner (an earlier Floor Boss made it): replaced by one the "
                "release owns",
                ns,
                series.pod_name,
            )

    async def run(self) -> None:
        while True:
            wait = IDLE_SECONDS
            try:
                retry = await self.sync()
                if retry is not None:
                    wait = min(wait, retry + 0.05)
            except KubeError as exc:
                log.warning("collector sync failed: %s", exc)
            except Exception:
                log.exception("collector sync failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()
