"""kmock's KubernetesEmulator with the fixes kopf needs (see research/test-infrastructure.md):
uid/resourceVersion/creationTimestamp/generation stamping, 422 on a failed JSON-patch test,
watches subscribed before their snapshot and honouring ?resourceVersion=, lists with kind/apiVersion/
resourceVersion, /api/v1 reporting groupVersion v1, and watch streams served as application/json.

It also keeps only in-flight requests in kmock's request log: kmock matches every request against its
whole history, which makes a long run quadratic (500 agents would take minutes in the emulator alone).

Pods can stay Terminating for a grace period (``pod_grace_seconds``): a deleted Pod gets a
deletionTimestamp, its name answers 409 to a create until the grace period ends, then it goes — as
a kubelet stopping a container does. ``pod_create_conflicts`` counts those 409s.

Still not a real API server: no label selectors, no garbage collection, no generateName, no schema.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import uuid
from datetime import UTC, datetime
from typing import Any

import jsonpatch
import kmock
from kmock._internal import enums, rendering

from tradingfloor.models.common import GROUP, VERSION

WRITES = (enums.action.CREATE, enums.action.UPDATE, enums.action.DELETE)
GRACE_FINALIZER = "emulator.tradingfloor.dev/grace-period"  # holds a deleted Pod while it terminates


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class FloorEmulator(kmock.KubernetesEmulator):
    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._rv = itertools.count(1)
        self._write_lock = asyncio.Lock()
        self._inflight: set[int] = set()
        self.pod_grace_seconds = 0.0
        self.pod_create_conflicts = 0
        self._graces: set[asyncio.Task[None]] = set()
        # Higher priority than the inherited fallback: same generator, JSON content type.
        (
            (self.fallback**1)[enums.action.WATCH]
            << kmock.headers({"Content-Type": "application/json"})
            << self._serve_watch
        )
        for plural, kind in (
            ("traderagents", "TraderAgent"),
            ("auditors", "Auditor"),
            ("monitors", "Monitor"),
        ):
            self.resources[f"{GROUP}/{VERSION}/{plural}"] = {
                "kind": kind,
                "namespaced": True,
                "subresources": {"status"},
                "verbs": ["get", "list", "watch", "create", "patch", "delete"],
            }
        for plural, kind in (
            ("pods", "Pod"),
            ("events", "Event"),
            ("namespaces", "Namespace"),
            ("configmaps", "ConfigMap"),
        ):
            self.resources[f"v1/{plural}"] = {
                "kind": kind,
                "namespaced": True,
                "verbs": ["get", "list", "watch", "create", "patch", "delete"],
            }

    def _stored(self, request: rendering.Request) -> Any:
        key = (request.resource, request.namespace, request.name)
        try:
            obj = self.objects[key]
        except KeyError:
            return None
        return None if obj.deleted else obj

    async def _handle(self, request: rendering.Request):
        self._inflight.add(id(request))
        self._requests[:] = [r for r in self._requests if id(r) in self._inflight]
        try:
            return await self._handle_tracked(request)
        finally:
            self._inflight.discard(id(request))

    async def _handle_tracked(self, request: rendering.Request):
        if request.resource is None or request.action not in WRITES:
            return await super()._handle(request)
        if (
            request.resource.plural == "pods"
            and request.name is None
            and request.action == enums.action.CREATE
        ):
            name = (request.data or {}).get("metadata", {}).get("name")
            if self._stored_at(request.resource, request.namespace, name) is not None:
                self.pod_create_conflicts += 1
        if (
            request.resource.plural == "pods"
            and request.action == enums.action.DELETE
            and self.pod_grace_seconds
        ):
            await self._begin_grace(request)
        async with self._write_lock:
            if request.action == enums.action.CREATE and isinstance(request.data, dict):
                meta = request.data.setdefault("metadata", {})
                meta.setdefault("namespace", request.namespace)
                meta.update(
                    uid=str(uuid.uuid4()),
                    resourceVersion=str(next(self._rv)),
                    creationTimestamp=_now(),
                    generation=1,
                )
            elif request.action == enums.action.UPDATE and request.name is not None:
                current = self._stored(request)
                if current is not None:
                    self._stamp_update(request, current.raw)
            return await super()._handle(request)

    def _stored_at(self, resource: Any, namespace: str | None, name: str | None) -> Any:
        try:
            obj = self.objects[resource, namespace, name]
        except KeyError:
            return None
        return None if obj.deleted else obj

    async def _begin_grace(self, request: rendering.Request) -> None:
        """Hold the Pod with a finalizer (kmock then marks it Terminating) and release it later."""
        async with self._lock:
            obj = self._stored_at(request.resource, request.namespace, request.name)
            if obj is None or obj.get("metadata", {}).get("deletionTimestamp"):
                return
            obj.patch({"metadata": {"finalizers": [GRACE_FINALIZER]}})
        path = f"/api/v1/namespaces/{request.namespace}/pods/{request.name}"
        task = asyncio.create_task(self._end_grace(path))
        self._graces.add(task)
        task.add_done_callback(self._graces.discard)

    async def _end_grace(self, path: str) -> None:
        await asyncio.sleep(self.pod_grace_seconds)
        async with self.patch(
            path,
            json={"metadata": {"finalizers": None}},
            headers={"Content-Type": "application/merge-patch+json"},
        ):
            pass  # no finalizer left and a deletionTimestamp set: kmock removes the Pod

    def _stamp_update(self, request: rendering.Request, current: dict[str, Any]) -> None:
        rv = str(next(self._rv))
        meta = current.get("metadata", {})
        status_only = request.subresource == "status"
        if isinstance(request.data, list):  # JSON patch: tests must hold, or the server answers 422
            try:
                patched = jsonpatch.apply_patch(copy.deepcopy(current), request.data)
            except (jsonpatch.JsonPatchConflict, jsonpatch.JsonPatchTestFailed) as exc:
                raise kmock.KubernetesError(status=422, reason="Invalid", message=str(exc)) from None
            spec_changed = patched.get("spec") != current.get("spec")
            request.data.append({"op": "add", "path": "/metadata/resourceVersion", "value": rv})
            if spec_changed and not status_only:
                request.data.append(
                    {"op": "add", "path": "/metadata/generation", "value": meta.get("generation", 1) + 1}
                )
        elif isinstance(request.data, dict):
            if status_only:  # the status subresource changes nothing but status
                for key in list(request.data):
                    if key != "status":
                        del request.data[key]
            elif "status" in request.data and GROUP in str(request.resource):
                del request.data["status"]  # with a status subresource, the main resource ignores status
            patch_meta = request.data.setdefault("metadata", {})
            patch_meta["resourceVersion"] = rv
            if "spec" in request.data and not status_only:
                patch_meta["generation"] = meta.get("generation", 1) + 1

    async def _serve_list(self, request: rendering.Request) -> rendering.Payload:
        listed = await super()._serve_list(request)
        kind = (
            self.resources[request.resource].kind if request.resource in self.resources else None
        ) or "Object"
        group_version = (
            request.resource.version
            if not request.resource.group
            else f"{request.resource.group}/{request.resource.version}"
        )
        return {
            "apiVersion": group_version,
            "kind": f"{kind}List",
            "metadata": {"resourceVersion": str(self._current_rv())},
            "items": listed["items"],
        }

    def _current_rv(self) -> int:
        rv = next(self._rv)  # itertools.count has no peek: consume one, it only needs to grow
        return rv

    async def _serve_watch(self, request: rendering.Request):
        yield b""
        since = int(request.params.get("resourceVersion") or 0)
        bus = self._buses[request.resource]
        mark = await bus.mark()  # subscribe first, so nothing between snapshot and stream is lost
        try:
            async with self._lock:
                snapshot = [
                    obj.raw
                    for (res, ns, _), obj in self.objects.items()
                    if res == request.resource and not obj.deleted and self._ns_ok(request, ns)
                ]
            for raw in snapshot:
                if int(raw.get("metadata", {}).get("resourceVersion") or 0) > since:
                    yield {"type": "ADDED" if not since else "MODIFIED", "object": raw}
            async for event in bus.stream(since=mark):
                ns = event.get("object", {}).get("metadata", {}).get("namespace")
                if self._ns_ok(request, ns):
                    yield event
        finally:
            await bus.unmark(mark)

    @staticmethod
    def _ns_ok(request: rendering.Request, namespace: str | None) -> bool:
        return request.namespace is None or namespace == request.namespace

    async def _serve_version(self, request: rendering.Request) -> rendering.Payload:
        served = await super()._serve_version(request)
        if request.resource is not None and not request.resource.group:
            served["groupVersion"] = request.resource.version
        return served
