"""KubernetesStatusSink against a small aiohttp server standing in for the API server.

This is a stand-in for what cannot run here (no Kubernetes API server in the test environment):
it records the request so the test can check the path, content type and body the sink sends.
"""

from __future__ import annotations

import json

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tradingfloor.kube_rest import KubeEndpoint
from tradingfloor.status.kubernetes import KubernetesStatusSink
from tradingfloor.status.sink import StatusOwnershipError, StatusTargetMissing


@pytest.fixture
async def fake_apiserver():
    seen: list[dict] = []

    async def patch_status(request: web.Request) -> web.Response:
        body = await request.text()
        seen.append(
            {
                "method": request.method,
                "path": request.path,
                "content_type": request.headers.get("Content-Type"),
                "body": json.loads(body),
            }
        )
        if request.match_info["name"] == "missing":
            return web.json_response({"kind": "Status", "code": 404, "reason": "NotFound"}, status=404)
        return web.json_response(
            {
                "apiVersion": "tradingfloor.dev/v1alpha1",
                "kind": "Auditor",
                "metadata": {"name": request.match_info["name"]},
            }
        )

    app = web.Application()
    app.router.add_patch(
        "/apis/tradingfloor.dev/v1alpha1/namespaces/{ns}/{plural}/{name}/status", patch_status
    )
    async with TestServer(app, host="127.0.0.1") as server:
        yield str(server.make_url("")).rstrip("/"), seen


async def test_merge_patch_on_the_status_subresource(fake_apiserver):
    host, seen = fake_apiserver
    sink = KubernetesStatusSink("floor", KubeEndpoint(host=host))
    try:
        await sink.patch_status("Auditor", "auditor-1", {"audit": {"tradesChecked": 7, "violations": 1}})
        await sink.patch_status("TraderAgent", "alpha", {"performance": {"pnl": "1.5", "trades": 3}})
        with pytest.raises(StatusTargetMissing, match="floor/missing"):
            await sink.patch_status("Monitor", "missing", {"floor": {"agents": 2}})
        with pytest.raises(StatusOwnershipError, match="conditions"):
            await sink.patch_status("Auditor", "auditor-1", {"conditions": []})
    finally:
        await sink.close()
    assert [r["path"] for r in seen] == [
        "/apis/tradingfloor.dev/v1alpha1/namespaces/floor/auditors/auditor-1/status",
        "/apis/tradingfloor.dev/v1alpha1/namespaces/floor/traderagents/alpha/status",
        "/apis/tradingfloor.dev/v1alpha1/namespaces/floor/monitors/missing/status",
    ]
    assert {r["method"] for r in seen} == {"PATCH"}
    assert {r["content_type"] for r in seen} == {"application/merge-patch+json"}
    assert seen[0]["body"] == {"status": {"audit": {"tradesChecked": 7, "violations": 1}}}
    assert seen[1]["body"] == {"status": {"performance": {"pnl": "1.5", "trades": 3}}}
