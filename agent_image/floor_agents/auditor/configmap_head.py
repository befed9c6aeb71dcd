"""The exported chain head in a Kubernetes ConfigMap (the chart's ``audit.headConfigMap``)."""

from __future__ import annotations

from typing import Any

from kubernetes_asyncio import client

from tradingfloor.audit.heads import ChainHead
from tradingfloor.kubeclient import load_configuration

DATA_KEY = "head.json"


class ConfigMapHeadStore:
    def __init__(self, name: str, namespace: str, configuration: Any = None) -> None:
        self.name, self.namespace = name, namespace
        self._configuration = configuration

    async def _api(self) -> client.ApiClient:
        if self._configuration is None:  # in-cluster (the Auditor), or KUBECONFIG (floor audit verify)
            self._configuration = await load_configuration()
        return client.ApiClient(self._configuration)

    async def read(self) -> ChainHead | None:
        async with await self._api() as api:
            try:
                cm = await client.CoreV1Api(api).read_namespaced_config_map(self.name, self.namespace)
            except client.ApiException as exc:
                if exc.status == 404:
                    return None
                raise
        text = (cm.data or {}).get(DATA_KEY)
        return ChainHead.parse(text, f"ConfigMap {self.namespace}/{self.name}") if text else None

    async def write(self, head: ChainHead) -> None:
        body = {"data": {DATA_KEY: head.to_json()}}
        async with await self._api() as api:
            await client.CoreV1Api(api).patch_namespaced_config_map(self.name, self.namespace, body)
