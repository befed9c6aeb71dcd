"""The little Kubernetes API I/O the Floor Boss needs, through the floor's one client
(``tradingfloor.kubeclient``: explicit server, KUBECONFIG, or in-cluster with a rotating token).

Creates say whether they created: a 409 means the name is taken (maybe by a Terminating object),
so the caller must not announce a start. 404 on delete and on status patches is fine.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
from kubernetes_asyncio import client

from tradingfloor.decisions.kinds import PLURALS
from tradingfloor.kubeclient import api_client
from tradingfloor.models.common import GROUP, VERSION

MERGE_PATCH = "application/merge-patch+json"


class KubeError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Kubernetes API answered {status}: {message}")
        self.status = status


def resource_path(kind: str, namespace: str, name: str | None = None, subresource: str | None = None) -> str:
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURALS[kind]}"
    if name:
        path += f"/{name}"
    if subresource:
        path += f"/{subresource}"
    return path


class Kube:
    def __init__(self, api: client.ApiClient) -> None:
        self.api = api
        self.core = client.CoreV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.apps = client.AppsV1Api(api)

    @classmethod
    async def connect(cls, server: str | None = None) -> Kube:
        return cls(await api_client(server))

    @property
    def configuration(self) -> client.Configuration:
        return self.api.configuration

    async def close(self) -> None:
        await self.api.close()

    @staticmethod
    async def _call(call: Any, ok: tuple[int, ...] = ()) -> bool:
        """True when the call succeeded, False when it answered one of the ``ok`` statuses.

        Calls are made with ``_preload_content=False``: nothing reads the answer, and turning every
        created Pod or patched resource into the library's models cost a fifth of the operator's CPU.
        """
        try:
            response = await call
        except client.ApiException as exc:
            if exc.status in ok:
                return False
            raise KubeError(exc.status or 0, str(exc.body or exc.reason)[:500]) from None
        if not isinstance(response, aiohttp.ClientResponse):
            return True  # a preloaded answer: ApiException above covered the failures
        try:
            if response.status in ok:
                return False
            if not 200 <= response.status <= 299:
                raise KubeError(response.status, (await response.text())[:500])
        finally:
            response.release()
        return True

    async def create_pod(self, pod: dict[str, Any]) -> bool:
        """True if created (201), False if the name is taken (409)."""
        ns = pod["metadata"]["namespace"]
        return await self._call(self.core.create_namespaced_pod(ns, pod, _preload_content=False), ok=(409,))

    async def delete_pod(self, namespace: str, name: str) -> bool:
        return await self._call(
            self.core.delete_namespaced_pod(name, namespace, _preload_content=False), ok=(404,)
        )

    async def create_pvc(self, pvc: dict[str, Any]) -> bool:
        ns = pvc["metadata"]["namespace"]
        return await self._call(
            self.core.create_namespaced_persistent_volume_claim(ns, pvc, _preload_content=False), ok=(409,)
        )

    async def create_secret(self, secret: dict[str, Any]) -> bool:
        """True if created, False if it exists (an agent's database login: its content is derived,
        so an existing one already holds it; the operator may create Secrets, never change one)."""
        ns = secret["metadata"]["namespace"]
        return await self._call(self.core.create_namespaced_secret(ns, secret), ok=(409,))

    async def patch_status(self, kind: str, namespace: str, name: str, status: dict[str, Any]) -> None:
        await self._call(
            self.custom.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                namespace,
                PLURALS[kind],
                name,
                {"status": status},
                _content_type=MERGE_PATCH,
                _preload_content=False,
            ),
            ok=(404,),
        )

    async def patch_spec(self, kind: str, namespace: str, name: str, spec: dict[str, Any]) -> None:
        await self._call(
            self.custom.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                PLURALS[kind],
                name,
                {"spec": spec},
                _content_type=MERGE_PATCH,
                _preload_content=False,
            ),
            ok=(404,),
        )

    async def create_resource(self, kind: str, namespace: str, manifest: dict[str, Any]) -> bool:
        body = {**manifest, "metadata": {**manifest["metadata"], "namespace": namespace}}
        return await self._call(
            self.custom.create_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURALS[kind], body, _preload_content=False
            ),
            ok=(409,),
        )

    async def deployment_uid(self, namespace: str, name: str) -> str:
        """The uid of a Deployment (KubeError when it cannot be read: 404, or 403 without RBAC)."""
        try:
            deployment = await self.apps.read_namespaced_deployment(name, namespace)
        except client.ApiException as exc:
            raise KubeError(exc.status or 0, str(exc.body or exc.reason)[:500]) from None
        return str(deployment.metadata.uid)

    async def served_kinds(self) -> set[str]:
        """Which of the floor's kinds the API server serves (its CRDs are installed and established)."""
        try:
            found = await self.custom.get_api_resources(GROUP, VERSION)
        except client.ApiException as exc:
            if exc.status == 404:
                return set()
            raise KubeError(exc.status or 0, str(exc.body or exc.reason)[:500]) from None
        served = {r.name for r in found.resources or []}
        return {kind for kind, plural in PLURALS.items() if plural in served}

    async def post_event(
        self,
        involved: dict[str, Any],
        type_: str,
        reason: str,
        message: str,
        annotations: dict[str, str] | None = None,
    ) -> None:
        meta = involved["metadata"]
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            # An explicit unique name: generateName is not needed (nor served by every API emulator).
            "metadata": {
                "name": f"{meta['name']}.{uuid.uuid4().hex[:16]}",
                "namespace": meta["namespace"],
                **({"annotations": annotations} if annotations else {}),
            },
            "involvedObject": {
                "apiVersion": involved["apiVersion"],
                "kind": involved["kind"],
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta.get("uid"),
            },
            "reason": reason,
            "message": message[:1024],
            "type": type_,
            "source": {"component": "floor-boss"},
            "reportingComponent": "floor-boss",
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        await self._call(self.core.create_namespaced_event(meta["namespace"], event, _preload_content=False))
