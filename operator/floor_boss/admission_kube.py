"""The Floor Boss's admission check against the API: look up the credentials Secret's labels
(only its labels are used) and apply the pure rules of ``floor_boss.admission``."""

from __future__ import annotations

from typing import Any

from kubernetes_asyncio import client

from floor_boss.admission import AdmissionPolicy, credentials_secret_name, refusal
from floor_boss.kube import Kube, KubeError


async def secret_labels(kube: Kube, namespace: str, name: str) -> dict[str, str] | None:
    try:
        secret = await kube.core.read_namespaced_secret(name, namespace)
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise KubeError(exc.status or 0, str(exc.reason)[:200]) from None
    return dict(secret.metadata.labels or {})


async def admission_refusal(kube: Kube, body: dict[str, Any], default_image: str) -> str | None:
    kind, spec = body["kind"], body.get("spec") or {}
    policy = AdmissionPolicy.from_env(default_image)
    name = credentials_secret_name(kind, spec)
    labels = await secret_labels(kube, body["metadata"]["namespace"], name) if name else None
    return refusal(kind, spec, labels, policy)
