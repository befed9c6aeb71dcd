"""The operator's collectors: one Pod per (namespace, series) that an Active trader needs, removed
when none does, recreated with backoff when it fails (``floor_boss.collectors`` decides)."""

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
    series_needed,
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
    def __init__(
        self,
        bodies: Mapping[tuple[str, str, str], dict[str, Any]],
        kube: Kube,
        settings: BossSettings,
        db_logins: DatabaseLogins | None = None,
    ) -> None:
        self.bodies = bodies  # the runtime's index of agents, read on every pass
        self.kube = kube
        self.settings = settings
        self.db_logins = db_logins  # least privilege: the collectors' own login
        self.pods: dict[tuple[str, Series], Running] = {}
        self.books: dict[str, CollectorBook] = defaultdict(CollectorBook)
        self._wake = asyncio.Event()

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
        else:
            inst = pod_instance({"metadata": dict(meta), "status": dict(pod.get("status") or {})})
            started: datetime | None = inst.started_at
            self.pods[key] = Running(inst.state, started.timestamp() if started else None, inst.deleting)
        self.wake()

    def needed(self) -> dict[str, set[Series]]:
        specs: dict[str, list[Any]] = defaultdict(list)
        for (kind, ns, _), body in list(self.bodies.items()):
            if kind == "TraderAgent" and not body["metadata"].get("deletionTimestamp"):
                specs[ns].append(body.get("spec") or {})
        return {ns: series_needed(raw) for ns, raw in specs.items()}

    async def sync(self) -> float | None:
        """One pass over every namespace; returns seconds until a backed-off start is due."""
        needed = self.needed()
        namespaces = set(needed) | {ns for ns, _ in self.pods}
        waits = []
        for ns in sorted(namespaces):
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
                await self.kube.create_secret(collector_login_secret(ns, url))  # 409: already there
            for series in plan.start:
                if await self.kube.create_pod(collector_pod(series, ns, self.settings)):
                    log.info("collector %s/%s started", ns, series.pod_name)
                    self.pods.setdefault((ns, series), Running("pending"))
            if plan.retry_in is not None:
                waits.append(plan.retry_in)
        return min(waits) if waits else None

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
