"""Status sink for Kubernetes: a JSON merge patch on the custom resource's ``/status`` subresource
(:mod:`tradingfloor.kube_rest`: the standard library's HTTP client, not kubernetes_asyncio's, so an
agent Pod does not load the generated API models)."""

from __future__ import annotations

from typing import Any

from tradingfloor.decisions.kinds import PLURALS
from tradingfloor.kube_rest import KubeApiError, KubeEndpoint, endpoint, merge_patch_status
from tradingfloor.models.common import GROUP, VERSION
from tradingfloor.status.sink import StatusTargetMissing, check_ownership


class KubernetesStatusSink:
    """Patches only the agent's own key (a merge patch leaves the operator's conditions alone)."""

    def __init__(self, namespace: str, api: KubeEndpoint | None = None) -> None:
        self.namespace = namespace
        self._api = api

    async def patch_status(self, kind: str, name: str, patch: dict[str, Any]) -> None:
        check_ownership(kind, patch)
        if self._api is None:  # in-cluster (token re-read as it rotates), KUBECONFIG, explicit
            self._api = await endpoint()
        try:
            await merge_patch_status(self._api, GROUP, VERSION, self.namespace, PLURALS[kind], name, patch)
        except KubeApiError as exc:
            if exc.status == 404:
                raise StatusTargetMissing(f"{kind} {self.namespace}/{name} not found") from None
            raise

    async def close(self) -> None:
        """Nothing held open between calls (one connection per call, a few times a minute)."""
