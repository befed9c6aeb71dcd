"""The little Kubernetes API I/O the Floor Boss needs, over aiohttp: create/delete Pods, patch
status and spec, create clones, post Events. Idempotent: 409 on create and 404 on delete are fine."""

from __future__ import annotations

import os
import ssl
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from tradingfloor.models.common import GROUP, VERSION

SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
PLURALS = {"TraderAgent": "traderagents", "Auditor": "auditors", "Monitor": "monitors"}


class KubeError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Kubernetes API answered {status}: {message}")
        self.status = status


@dataclass(frozen=True)
class Connection:
    server: str
    token: str | None = None
    ca_path: str | None = None

    @classmethod
    def resolve(cls, explicit_server: str | None) -> Connection:
        """An explicit server (tests, development) or the in-cluster service account."""
        if explicit_server:
            return cls(explicit_server.rstrip("/"))
        host, port = (
            os.environ.get("KUBERNETES_SERVICE_HOST"),
            os.environ.get("KUBERNETES_SERVICE_PORT", "443"),
        )
        if not host or not (SA_DIR / "token").exists():
            raise RuntimeError("not running in a cluster: set FLOOR_KUBE_SERVER to the API server URL")
        return cls(f"https://{host}:{port}", (SA_DIR / "token").read_text().strip(), str(SA_DIR / "ca.crt"))


def resource_path(kind: str, namespace: str, name: str | None = None, subresource: str | None = None) -> str:
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURALS[kind]}"
    if name:
        path += f"/{name}"
    if subresource:
        path += f"/{subresource}"
    return path


class Kube:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        headers = {"Authorization": f"Bearer {conn.token}"} if conn.token else {}
        ssl_ctx: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=conn.ca_path) if conn.ca_path else False
        )
        self.session = aiohttp.ClientSession(
            base_url=conn.server,
            headers=headers,
            connector=aiohttp.TCPConnector(ssl=ssl_ctx, limit=20),
            timeout=aiohttp.ClientTimeout(total=30),
        )

    async def close(self) -> None:
        await self.session.close()

    async def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        ok: tuple[int, ...] = (),
    ) -> dict[str, Any] | None:
        async with self.session.request(
            method, path, json=body, headers={"Content-Type": content_type}
        ) as resp:
            if resp.status in ok:
                return None
            if resp.status >= 400:
                raise KubeError(resp.status, (await resp.text())[:500])
            return await resp.json(content_type=None)

    async def create_pod(self, pod: dict[str, Any]) -> bool:
        """True if created, False if it already existed."""
        ns = pod["metadata"]["namespace"]
        return await self._call("POST", f"/api/v1/namespaces/{ns}/pods", pod, ok=(409,)) is not None

    async def delete_pod(self, namespace: str, name: str) -> bool:
        return (
            await self._call("DELETE", f"/api/v1/namespaces/{namespace}/pods/{name}", ok=(404,)) is not None
        )

    async def patch_status(self, kind: str, namespace: str, name: str, status: dict[str, Any]) -> None:
        await self._call(
            "PATCH",
            resource_path(kind, namespace, name, "status"),
            {"status": status},
            "application/merge-patch+json",
            ok=(404,),
        )

    async def patch_spec(self, kind: str, namespace: str, name: str, spec: dict[str, Any]) -> None:
        await self._call(
            "PATCH",
            resource_path(kind, namespace, name),
            {"spec": spec},
            "application/merge-patch+json",
            ok=(404,),
        )

    async def create_resource(self, kind: str, namespace: str, manifest: dict[str, Any]) -> bool:
        body = {**manifest, "metadata": {**manifest["metadata"], "namespace": namespace}}
        return await self._call("POST", resource_path(kind, namespace), body, ok=(409,)) is not None

    async def post_event(self, involved: dict[str, Any], type_: str, reason: str, message: str) -> None:
        meta = involved["metadata"]
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            # An explicit unique name: generateName is not needed (nor served by every API emulator).
            "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}", "namespace": meta["namespace"]},
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
        await self._call("POST", f"/api/v1/namespaces/{meta['namespace']}/events", event)
