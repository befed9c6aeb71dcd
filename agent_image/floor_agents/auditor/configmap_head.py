"""The exported chain head in a Kubernetes ConfigMap (the chart's ``audit.headConfigMap``), over the
agents' light API calls (:mod:`tradingfloor.kube_rest`: no generated client in the Auditor's Pod)."""

from __future__ import annotations

from tradingfloor import kube_rest
from tradingfloor.audit.heads import ChainHead
from tradingfloor.kube_rest import KubeApiError, KubeEndpoint

DATA_KEY = "head.json"


class ConfigMapHeadStore:
    def __init__(self, name: str, namespace: str, api: KubeEndpoint | None = None) -> None:
        self.name, self.namespace = name, namespace
        self._api = api

    async def _endpoint(self) -> KubeEndpoint:
        if self._api is None:  # in-cluster (the Auditor), or KUBECONFIG (floor audit verify)
            self._api = await kube_rest.endpoint()
        return self._api

    async def read(self) -> ChainHead | None:
        try:
            cm = await kube_rest.get_config_map(await self._endpoint(), self.namespace, self.name)
        except KubeApiError as exc:
            if exc.status == 404:
                return None
            raise
        text = (cm.get("data") or {}).get(DATA_KEY)
        return ChainHead.parse(text, f"ConfigMap {self.namespace}/{self.name}") if text else None

    async def write(self, head: ChainHead) -> None:
        await kube_rest.merge_patch_config_map_data(
            await self._endpoint(), self.namespace, self.name, {DATA_KEY: head.to_json()}
        )
