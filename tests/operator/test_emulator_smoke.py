"""The emulator subclass serves what kopf relies on."""

from tests.operator.conftest import AGENTS, NS, apply, trader


async def test_stamps_and_rejects_failed_json_patch_tests(emulator):
    created = await apply(emulator, trader("a1"))
    meta = created["metadata"]
    assert meta["uid"] and meta["resourceVersion"] and meta["creationTimestamp"] and meta["generation"] == 1
    path = f"/apis/tradingfloor.dev/v1alpha1/namespaces/{NS}/traderagents/a1"
    bad = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "nope"},
        {"op": "add", "path": "/metadata/finalizers", "value": ["x"]},
    ]
    async with emulator.patch(
        path, json=bad, headers={"Content-Type": "application/json-patch+json"}
    ) as resp:
        assert resp.status == 422
    async with emulator.patch(
        path, json={"spec": {"lifecycle": "Paused"}}, headers={"Content-Type": "application/merge-patch+json"}
    ) as resp:
        body = await resp.json()
    assert (
        body["metadata"]["generation"] == 2 and body["metadata"]["resourceVersion"] != meta["resourceVersion"]
    )
    async with emulator.get("/apis/tradingfloor.dev/v1alpha1/traderagents") as resp:
        listed = await resp.json()
    assert listed["kind"] == "TraderAgentList" and listed["metadata"]["resourceVersion"].isdigit()
    async with emulator.get("/api/v1") as resp:
        assert (await resp.json())["groupVersion"] == "v1"
    assert emulator.objects[AGENTS, NS, "a1"]["spec"]["lifecycle"] == "Paused"
