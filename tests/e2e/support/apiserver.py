"""A strict, in-memory Kubernetes API server for tests, served over HTTPS by aiohttp.

What it does like the real one: discovery (groups, resources, short names, categories), CRDs
registered from the objects applied to it, custom resources pruned, defaulted and validated against
their OpenAPI schema and CEL rules (422), the status subresource, merge and JSON patches (a
strategic-merge patch on a custom resource is 415), resourceVersion preconditions (409), lists,
watches that resume from a resourceVersion (410 when too old), label and field selectors, Table
responses for `kubectl get`, generateName, Secrets' stringData, namespaces that must exist, deletion
with finalizers, Pods that stay Terminating until the kubelet stops them, and owner-reference garbage
collection. What it does not: authentication (every token is accepted), admission webhooks,
server-side apply (415), strategic merge on built-in kinds (treated as a JSON merge patch).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import re
from collections.abc import Callable
from typing import Any

import jsonpatch

from tests.e2e.support import selectors, validation
from tests.e2e.support.resources import BUILTINS, CrdError, ResourceType, from_crd
from tests.e2e.support.store import Store, now

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
CRD_KEY = "apiextensions.k8s.io/v1/customresourcedefinitions"
POD_KEY = "v1/pods"
NS_KEY = "v1/namespaces"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class ApiServer:
    """The API's semantics over a :class:`Store`; ``app()`` is its HTTP face."""

    def __init__(self, store: Store | None = None, evaluate_cel: bool = True) -> None:
        self.store = store or Store()
        # cel-python interprets each rule in milliseconds where the API server runs compiled CEL in
        # microseconds: a benchmark of the operator turns it off so it measures the operator.
        self.evaluate_cel = evaluate_cel
        self.types: dict[str, ResourceType] = {t.key: t for t in BUILTINS}
        self.pod_finalizer: Callable[[dict[str, Any]], None] | None = None  # the kubelet's stop hook
        self._timers: set[asyncio.TimerHandle] = set()
        self._gone_uids: set[str] = set()  # of deleted objects: a dependent naming only these is orphaned
        self.create_namespace("default")
        self.create_namespace("kube-system")

    # --- resource types ---------------------------------------------------------------------------

    def find_type(self, group: str, version: str, plural: str) -> ResourceType:
        key = f"{group}/{version}/{plural}" if group else f"{version}/{plural}"
        rtype = self.types.get(key)
        if rtype is None:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({key})")
        return rtype

    def groups(self) -> dict[str, list[ResourceType]]:
        out: dict[str, list[ResourceType]] = {}
        for rtype in self.types.values():
            out.setdefault(rtype.group_version, []).append(rtype)
        return out

    # --- reads ------------------------------------------------------------------------------------

    def get(self, rtype: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.store.get(rtype.key, namespace if rtype.namespaced else "", name)
        if obj is None:
            raise ApiError(
                404,
                "NotFound",
                f'{self._what(rtype)} "{name}" not found',
                {"name": name, "group": rtype.group, "kind": rtype.plural},
            )
        return obj

    def list(
        self, rtype: ResourceType, namespace: str | None, accepts: selectors.Predicate
    ) -> list[dict[str, Any]]:
        items = self.store.list(rtype.key, namespace if rtype.namespaced else None)
        return sorted(
            (o for o in items if accepts(o)),
            key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]),
        )

    # --- writes -----------------------------------------------------------------------------------

    def create(
        self, rtype: ResourceType, namespace: str | None, body: Any, strict: bool = False
    ) -> tuple[dict[str, Any], list[str]]:
        obj = self._check_body(rtype, body)
        meta = obj.setdefault("metadata", {})
        if rtype.namespaced:
            namespace = namespace or meta.get("namespace") or "default"
            if meta.get("namespace") not in (None, "", namespace):
                raise ApiError(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                )
            meta["namespace"] = namespace
            if rtype.key != NS_KEY:
                ns = self.store.get(NS_KEY, "", namespace)
                if ns is None:
                    raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found')
                if ns["metadata"].get("deletionTimestamp"):
                    raise ApiError(
                        403,
                        "Forbidden",
                        f"unable to create new content in namespace {namespace} because it is being terminated",
                    )
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + self.store.new_uid()[:5]
        name = meta.get("name")
        if not name:
            raise ApiError(
                422,
                "Invalid",
                f"{rtype.kind} is invalid: metadata.name: Required value: name or generateName is required",
            )
        if not DNS_SUBDOMAIN.match(name) or len(name) > 253:
            raise ApiError(
                422,
                "Invalid",
                f"{rtype.kind} \"{name}\" is invalid: metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'",
            )
        existing = self.store.get(rtype.key, meta.get("namespace", ""), name)
        if existing is not None:
            what = "object is being deleted: " if existing["metadata"].get("deletionTimestamp") else ""
            raise ApiError(
                409,
                "AlreadyExists",
                f'{what}{self._what(rtype)} "{name}" already exists',
                {"name": name, "group": rtype.group, "kind": rtype.plural},
            )
        for key in ("uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(key, None)
        meta["uid"] = self.store.new_uid()
        meta["creationTimestamp"] = now()
        if rtype.custom or "spec" in obj:
            meta["generation"] = 1
        if rtype.has_status and rtype.custom:
            obj.pop("status", None)  # a status subresource: create ignores status
        warnings: list[str] = []
        obj = self._admit(rtype, obj, None, strict, warnings)
        if rtype.key == CRD_KEY:
            obj = self._register_crd(obj)
        self.store.put(rtype.key, obj, "ADDED")
        owners = {o.get("uid") for o in meta.get("ownerReferences") or []}
        if owners and owners <= self._gone_uids:
            # Created naming only owners already gone: the garbage collector deletes it, as a real
            # one does on its next pass (e.g. a Pod created by an operator that is being uninstalled).
            self._later(
                0.5, lambda: self._collect_orphan(rtype, meta.get("namespace", ""), name, meta["uid"])
            )
        return obj, warnings

    def _collect_orphan(self, rtype: ResourceType, namespace: str, name: str, uid: str) -> None:
        obj = self.store.get(rtype.key, namespace, name)
        if obj is not None and obj["metadata"]["uid"] == uid:
            with contextlib.suppress(ApiError):
                self.delete(rtype, namespace, name, {})

    def create_namespace(self, name: str) -> None:
        ns_type = self.types[NS_KEY]
        if self.store.get(NS_KEY, "", name) is None:
            self.create(ns_type, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def update(
        self,
        rtype: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        subresource: str | None,
        strict: bool = False,
        precondition: bool = True,
    ) -> tuple[dict[str, Any], list[str]]:
        current = self.get(rtype, namespace, name)
        obj = self._check_body(rtype, body)
        meta = obj.setdefault("metadata", {})
        if meta.get("name", name) != name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        sent_rv = meta.get("resourceVersion")
        if precondition and sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {self._what(rtype)} "{name}": the object has been modified; please apply your changes to the latest version and try again',
                {"name": name, "group": rtype.group, "kind": rtype.plural},
            )
        if subresource == "status":
            new = {**copy.deepcopy(current), "status": obj.get("status")}
            if new["status"] is None:
                new.pop("status")
        else:
            new = obj
            for key in (
                "uid",
                "creationTimestamp",
                "generation",
                "namespace",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
            ):
                if key in current["metadata"]:
                    meta[key] = current["metadata"][key]
                else:
                    meta.pop(key, None)
            meta["name"] = name
            if rtype.has_status:
                if "status" in current:
                    new["status"] = copy.deepcopy(current["status"])
                else:
                    new.pop("status", None)
        warnings: list[str] = []
        new = self._admit(rtype, new, current, strict, warnings)
        if subresource != "status" and "generation" in current["metadata"]:
            changed = {k: v for k, v in new.items() if k not in ("metadata", "status")} != {
                k: v for k, v in current.items() if k not in ("metadata", "status")
            }
            new["metadata"]["generation"] = current["metadata"]["generation"] + int(changed)
        if rtype.key == CRD_KEY:
            new = self._register_crd(new)
        if (
            new["metadata"].get("deletionTimestamp")
            and not new["metadata"].get("finalizers")
            and rtype.key != POD_KEY
        ):
            self._finalize(rtype, new)
            return new, warnings
        self.store.put(rtype.key, new, "MODIFIED")
        return new, warnings

    def patch(
        self,
        rtype: ResourceType,
        namespace: str,
        name: str,
        content_type: str,
        patch: Any,
        subresource: str | None,
        strict: bool = False,
    ) -> tuple[dict[str, Any], list[str]]:
        current = self.get(rtype, namespace, name)
        if content_type == STRATEGIC and rtype.custom:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types include: {JSON_PATCH}, {MERGE}, {APPLY}",
            )
        if content_type == APPLY:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                "server-side apply is not supported by this emulated API server; use client-side kubectl apply",
            )
        if content_type in (MERGE, STRATEGIC):
            if not isinstance(patch, dict):
                raise ApiError(400, "BadRequest", "a merge patch must be a JSON object")
            sent_rv = (patch.get("metadata") or {}).get("resourceVersion")
            if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {self._what(rtype)} "{name}": the object has been modified; please apply your changes to the latest version and try again',
                )
            new = merge_patch(copy.deepcopy(current), patch)
        elif content_type == JSON_PATCH:
            try:
                new = jsonpatch.apply_patch(copy.deepcopy(current), patch)
            except jsonpatch.JsonPatchTestFailed as exc:
                raise ApiError(
                    422, "Invalid", f"the server rejected our request due to an error in our request: {exc}"
                ) from None
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
                raise ApiError(422, "Invalid", f"the server rejected our request: {exc}") from None
        else:
            raise ApiError(415, "UnsupportedMediaType", f"unsupported patch content type {content_type!r}")
        new.setdefault("metadata", {})["resourceVersion"] = current["metadata"]["resourceVersion"]
        return self.update(rtype, namespace, name, new, subresource, strict, precondition=False)

    def delete(
        self, rtype: ResourceType, namespace: str, name: str, options: dict[str, Any]
    ) -> dict[str, Any]:
        obj = copy.deepcopy(self.get(rtype, namespace, name))
        meta = obj["metadata"]
        grace = options.get("gracePeriodSeconds")
        if rtype.key == POD_KEY:
            if grace is None:
                grace = (obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
            finished = (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            if (int(grace) == 0 or finished) and not meta.get("finalizers"):
                self._finalize(rtype, obj)  # nothing left to stop: the Pod goes at once
                return obj
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = now()
                meta["deletionGracePeriodSeconds"] = int(grace)
                self.store.put(rtype.key, obj, "MODIFIED")
                # a Pod no kubelet stops goes away after its grace period, as on a lost node
                self._later(int(grace) + 10, lambda: self._force_pod(namespace, name, meta["uid"]))
            return obj
        if meta.get("finalizers"):
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = now()
                meta["deletionGracePeriodSeconds"] = 0
                self.store.put(rtype.key, obj, "MODIFIED")
            return obj
        self._finalize(rtype, obj)
        return obj

    def pod_stopped(self, namespace: str, name: str, uid: str) -> None:
        """The kubelet has stopped every container of a Terminating Pod: it can go."""
        pod = self.store.get(POD_KEY, namespace, name)
        if (
            pod is not None
            and pod["metadata"]["uid"] == uid
            and pod["metadata"].get("deletionTimestamp")
            and not pod["metadata"].get("finalizers")
        ):
            self._finalize(self.types[POD_KEY], pod)

    def _force_pod(self, namespace: str, name: str, uid: str) -> None:
        pod = self.store.get(POD_KEY, namespace, name)
        if pod is not None and pod["metadata"]["uid"] == uid and not pod["metadata"].get("finalizers"):
            self._finalize(self.types[POD_KEY], pod)

    def _later(self, delay: float, action: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle | None = None

        def run() -> None:
            self._timers.discard(handle)  # type: ignore[arg-type]
            action()

        handle = loop.call_later(delay, run)
        self._timers.add(handle)

    def _finalize(self, rtype: ResourceType, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        namespace = meta.get("namespace", "")
        self.store.remove(rtype.key, namespace, meta["name"])
        if rtype.key == POD_KEY and self.pod_finalizer is not None:
            self.pod_finalizer(obj)
        if rtype.key == CRD_KEY:
            gone = from_crd(obj)
            self.types.pop(gone.key, None)
            for res_obj in self.store.list(gone.key):
                self.store.remove(
                    gone.key, res_obj["metadata"].get("namespace", ""), res_obj["metadata"]["name"]
                )
        if rtype.key == NS_KEY:
            for (res, ns, name), _ in list(self.store.objects.items()):
                if ns == meta["name"] and res in self.types:
                    child = self.store.get(res, ns, name)
                    if child is not None:
                        self.delete(self.types[res], ns, name, {})
        self._gone_uids.add(meta["uid"])
        self._collect_garbage(meta["uid"])

    def _collect_garbage(self, owner_uid: str) -> None:
        """Background propagation: delete every object the deleted one owned."""
        for (res, ns, name), obj in list(self.store.objects.items()):
            owners = obj["metadata"].get("ownerReferences") or []
            if any(o.get("uid") == owner_uid for o in owners) and res in self.types:
                try:
                    self.delete(self.types[res], ns, name, {})
                except ApiError:
                    pass

    # --- admission --------------------------------------------------------------------------------

    def _check_body(self, rtype: ResourceType, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the request body must be a JSON object")
        obj = copy.deepcopy(body)
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if kind not in (None, rtype.kind) or api_version not in (None, rtype.group_version):
            raise ApiError(
                400,
                "BadRequest",
                f"the API version in the data ({api_version}) or kind ({kind}) does not match the expected {rtype.group_version} {rtype.kind}",
            )
        obj["kind"], obj["apiVersion"] = rtype.kind, rtype.group_version
        return obj

    def _admit(
        self,
        rtype: ResourceType,
        obj: dict[str, Any],
        old: dict[str, Any] | None,
        strict: bool,
        warnings: list[str],
    ) -> dict[str, Any]:
        if rtype.key == "v1/secrets":
            string_data = obj.pop("stringData", None) or {}
            data = obj.setdefault("data", {}) or {}
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            obj["data"] = data
            obj.setdefault("type", "Opaque")
        if rtype.key == POD_KEY and old is None:
            self._default_pod(obj)
        if rtype.key == "apps/v1/deployments":
            obj.setdefault("spec", {}).setdefault("replicas", 1)
        if rtype.key == NS_KEY:
            obj.setdefault("status", {"phase": "Active"})
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        if rtype.schema is None:
            return obj
        stored, errors, warns = validation.admit(rtype.schema, obj, old, strict, self.evaluate_cel)
        warnings += warns
        if errors:
            name = obj["metadata"].get("name")
            causes = [
                {"reason": "FieldValueInvalid", "message": e, "field": e.split(":", 1)[0].lstrip(".")}
                for e in errors
            ]
            raise ApiError(
                422,
                "Invalid",
                f'{rtype.kind}.{rtype.group} "{name}" is invalid: '
                + "; ".join(e.lstrip(".") for e in errors),
                {"name": name, "group": rtype.group, "kind": rtype.kind, "causes": causes},
            )
        return stored

    @staticmethod
    def _default_pod(pod: dict[str, Any]) -> None:
        spec = pod.setdefault("spec", {})
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("terminationGracePeriodSeconds", 30)
        spec.setdefault("serviceAccountName", "default")
        spec.setdefault("dnsPolicy", "ClusterFirst")
        if not spec.get("containers"):
            raise ApiError(
                422,
                "Invalid",
                f'Pod "{pod["metadata"].get("name")}" is invalid: spec.containers: Required value',
            )
        spec["nodeName"] = spec.get("nodeName") or "emulated-node"  # the scheduler: one node
        pod["status"] = {
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now()}],
            "qosClass": "Burstable",
        }

    def _register_crd(self, crd: dict[str, Any]) -> dict[str, Any]:
        try:
            rtype = from_crd(crd)
        except CrdError as exc:
            raise ApiError(
                422, "Invalid", f'CustomResourceDefinition "{crd["metadata"].get("name")}" is invalid: {exc}'
            ) from None
        self.types[rtype.key] = rtype
        names = (crd.get("spec") or {}).get("names") or {}
        stamp = now()
        crd["status"] = {
            "acceptedNames": {**names, "singular": names.get("singular", rtype.singular)},
            "storedVersions": [rtype.version],
            "conditions": [
                {
                    "type": "NamesAccepted",
                    "status": "True",
                    "reason": "NoConflicts",
                    "message": "no conflicts found",
                    "lastTransitionTime": stamp,
                },
                {
                    "type": "Established",
                    "status": "True",
                    "reason": "InitialNamesAccepted",
                    "message": "the initial names have been accepted",
                    "lastTransitionTime": stamp,
                },
            ],
        }
        return crd

    @staticmethod
    def _what(rtype: ResourceType) -> str:
        return f"{rtype.plural}.{rtype.group}" if rtype.group else rtype.plural
