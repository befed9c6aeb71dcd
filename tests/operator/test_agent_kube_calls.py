"""The agents' own Kubernetes calls (``tradingfloor.kube_rest``, no generated client in their Pods)
against the Kubernetes API emulator the operator's tests run on: a trader reads its custom resource
and merge-patches its status; the Auditor reads and writes its chain head in a ConfigMap."""

from __future__ import annotations

from floor_agents.auditor.configmap_head import DATA_KEY, ConfigMapHeadStore
from tests.operator.conftest import AGENTS, NS, apply, trader
from tradingfloor import kube_rest
from tradingfloor.audit.heads import ChainHead
from tradingfloor.kube_rest import KubeEndpoint
from tradingfloor.status.kubernetes import KubernetesStatusSink

CM = "tf-audit-head"


def endpoint(emulator) -> KubeEndpoint:
    return KubeEndpoint(host=str(emulator.url).rstrip("/"), verify=False)


async def test_a_trader_reads_its_resource_and_patches_only_its_status_keys(emulator):
    await apply(emulator, trader("a1"))
    ep = endpoint(emulator)
    doc = await kube_rest.get_custom_object(ep, "tradingfloor.dev", "v1alpha1", NS, "traderagents", "a1")
    assert doc["spec"]["strategy"] == "momentum" and doc["metadata"]["name"] == "a1"

    stored = emulator.objects[AGENTS, NS, "a1"]
    stored["status"] = {"phase": "Running"}  # what the Floor Boss wrote
    sink = KubernetesStatusSink(NS, api=ep)
    await sink.patch_status("TraderAgent", "a1", {"performance": {"trades": 3, "winRate": "0.67"}})
    status = emulator.objects[AGENTS, NS, "a1"]["status"]
    assert status == {"phase": "Running", "performance": {"trades": 3, "winRate": "0.67"}}
    assert emulator.objects[AGENTS, NS, "a1"]["spec"] == doc["spec"]  # the spec is not the agent's to touch


async def test_the_auditor_keeps_its_chain_head_in_a_config_map(emulator):
    ep = endpoint(emulator)
    store = ConfigMapHeadStore(CM, NS, api=ep)
    assert await store.read() is None  # not created yet: nothing exported
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CM}, "data": {"note": "kept"}}
    async with emulator.post(f"/api/v1/namespaces/{NS}/configmaps", json=body) as resp:
        assert resp.status in (200, 201), await resp.text()
    assert await store.read() is None  # created by the chart, no head yet

    head = ChainHead(7, "ab" * 32)
    await store.write(head)
    assert await ConfigMapHeadStore(CM, NS, api=ep).read() == head
    data = emulator.objects["v1/configmaps", NS, CM]["data"]
    assert data == {"note": "kept", DATA_KEY: head.to_json()}  # other keys left as they were

    await store.write(ChainHead(8, "cd" * 32))
    assert (await store.read()) == ChainHead(8, "cd" * 32)
