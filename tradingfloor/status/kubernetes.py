"""Status sink for Kubernetes: a JSON merge patch on the custom resource's ``/status`` subresource."""

from __future__ import annotations

from typing import Any

from kubernetes_asyncio import client

from tradingfloor.decisions.kinds import PLURALS
from tradingfloor.kubeclient import load_configuration
from tradingfloor.models.common import GROUP, VERSION
from tradingfloor.status.sink import StatusTargetMissing, check_ownership

MERGE_PATCH = "application/merge-patch+json"


class KubernetesStatusSink:
    """Patches only the agent's own key (a merge patch leaves the operator's conditions alone)."""

    def __init__(self, namespace: str, configuration: client.Configuration | None = None) -> None:
        self.namespace = namespace
        self._configuration = configuration
        self._api: client.ApiClient | None = None

    async def _client(self) -> client.ApiClient:
        if self._api is None:
            if self._configuration is None:  # in-cluster (token re-read as it rotates), KUBECONFIG, explicit
                self._configuration = await load_configuration()
            self._api = client.ApiClient(self._configuration)
        return self._api

    async def patch_status(self, kind: str, name: str, patch: dict[str, Any]) -> None:
        check_ownership(kind, patch)
        api = client.CustomObjectsApi(await self._client())
        try:
            await api.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                self.namespace,
                PLURALS[kind],
                name,
                {"status": patch},
                _content_type=MERGE_PATCH,
            )
        except client.ApiException as exc:
            if exc.status == 404:
                raise StatusTargetMissing(f"{kind} {self.namespace}/{name} not found") from None
            raise

    async def close(self) -> None:
        if self._api is not None:
            await self._api.close()
            self._api = None
