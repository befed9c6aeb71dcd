"""Where a trader's desired state comes from: a manifest file (local floor) or its custom resource
read in-cluster (Kubernetes). Both give the same validated (name, spec)."""

from __future__ import annotations

from pathlib import Path

from tradingfloor.models.manifests import ManifestError, load_manifests, parse_resource
from tradingfloor.models.trader_agent import PLURAL, TraderAgent, TraderAgentSpec


def from_file(path: Path) -> tuple[str, TraderAgentSpec]:
    agents = [r for r in load_manifests(path) if isinstance(r, TraderAgent)]
    if len(agents) != 1:
        raise ManifestError(f"{path}: expected exactly one TraderAgent, found {len(agents)}")
    return agents[0].metadata["name"], agents[0].spec


async def from_resource(name: str, namespace: str) -> tuple[str, TraderAgentSpec]:
    from kubernetes_asyncio import client, config

    configuration = client.Configuration()
    config.load_incluster_config(client_configuration=configuration)
    async with client.ApiClient(configuration) as api:
        doc = await client.CustomObjectsApi(api).get_namespaced_custom_object(
            "tradingfloor.dev", "v1alpha1", namespace, PLURAL, name)
    resource = parse_resource(doc, source=f"TraderAgent {namespace}/{name}")
    assert isinstance(resource, TraderAgent)
    return name, resource.spec
