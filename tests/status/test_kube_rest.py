"""The agents' light Kubernetes calls (``tradingfloor.kube_rest``): where to connect, the rotating
in-cluster token, reading a custom resource and the API server's errors.

A small aiohttp server stands in for the API server here (plain HTTP; it records the requests so the
test can check them). The in-cluster path over TLS with the cluster CA runs in tests/e2e, whose
kubelet mounts a ServiceAccount into every agent Pod.
"""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tradingfloor import kube_rest
from tradingfloor.kube_rest import KubeApiError, KubeEndpoint
from tradingfloor.kubeclient import KubeConfigError

PATH = "/apis/tradingfloor.dev/v1alpha1/namespaces/floor/traderagents/{name}"


@pytest.fixture
async def apiserver():
    seen: list[dict] = []

    async def get(request: web.Request) -> web.Response:
        seen.append({"path": request.path, "authorization": request.headers.get("Authorization")})
        name = request.match_info["name"]
        if name == "missing":
            return web.json_response(
                {"kind": "Status", "code": 404, "message": f'traderagents "{name}" not found'}, status=404
            )
        return web.json_response({"kind": "TraderAgent", "metadata": {"name": name}, "status": {"x": 1}})

    app = web.Application()
    app.router.add_get(PATH, get)
    async with TestServer(app, host="127.0.0.1") as server:
        yield str(server.make_url("")).rstrip("/"), seen


def _service_account(tmp_path, token: str = "t1"):
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(token + "\n")
    (account / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    return account


def test_in_cluster_from_the_pod_environment(tmp_path, monkeypatch):
    account = _service_account(tmp_path)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    ep = kube_rest.in_cluster(account)
    assert ep is not None
    assert (ep.host, ep.ca_file, ep.verify) == ("https://10.96.0.1:443", str(account / "ca.crt"), True)
    assert ep.bearer() == "t1"
    (account / "token").write_text("t2")  # the kubelet rotated the projected token
    assert ep.bearer() == "t2"
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    assert kube_rest.in_cluster(account).host == "https://[fd00::1]:443"


def test_not_in_a_pod(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert kube_rest.in_cluster(_service_account(tmp_path)) is None
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    assert kube_rest.in_cluster(tmp_path / "no-such-account") is None


async def test_explicit_server_first(monkeypatch):
    monkeypatch.setenv("FLOOR_KUBE_SERVER", "http://127.0.0.1:8001/")
    ep = await kube_rest.endpoint()
    assert (ep.host, ep.verify, ep.bearer()) == ("http://127.0.0.1:8001", False, None)


async def test_no_cluster_at_all_is_a_clear_error(monkeypatch, tmp_path):
    for name in ("FLOOR_KUBE_SERVER", "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(KubeConfigError, match="FLOOR_KUBE_SERVER.*KUBECONFIG"):
        await kube_rest.endpoint()


async def test_reads_a_resource_with_the_current_token(apiserver, tmp_path):
    host, seen = apiserver
    account = _service_account(tmp_path, "first")
    ep = KubeEndpoint(host=host, token_file=account / "token")
    doc = await kube_rest.get_custom_object(ep, "tradingfloor.dev", "v1alpha1", "floor", "traderagents", "a1")
    assert doc["metadata"]["name"] == "a1" and doc["status"] == {"x": 1}
    (account / "token").write_text("second")
    await kube_rest.get_custom_object(ep, "tradingfloor.dev", "v1alpha1", "floor", "traderagents", "a1")
    assert [s["authorization"] for s in seen] == ["Bearer first", "Bearer second"]
    assert seen[0]["path"] == PATH.format(name="a1")


async def test_an_error_names_the_status_and_the_reason(apiserver):
    host, _ = apiserver
    with pytest.raises(KubeApiError, match='HTTP 404: traderagents "missing" not found') as caught:
        await kube_rest.get_custom_object(
            KubeEndpoint(host=host), "tradingfloor.dev", "v1alpha1", "floor", "traderagents", "missing"
        )
    assert caught.value.status == 404
