"""The floor's one Kubernetes client: an explicit server, KUBECONFIG, and a clear error when there
is no way to reach a cluster (in-cluster config is exercised by tests/e2e, whose kubelet mounts a
ServiceAccount token)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from aiohttp import web

from floor_boss.kube import Kube, KubeError
from tests.e2e.support.apiserver import ApiServer
from tests.e2e.support.http import HttpApi
from tests.e2e.support.kubelet import free_port
from tests.operator.conftest import apply, trader
from tradingfloor.kubeclient import KubeConfigError, api_client, bearer_token, load_configuration

ROOT = Path(__file__).resolve().parents[2]
CRDS = "apiextensions.k8s.io/v1/customresourcedefinitions"


async def test_explicit_server_reaches_the_api(emulator, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    await apply(emulator, trader("k1"))
    kube = await Kube.connect(str(emulator.url))
    try:
        assert await kube.served_kinds() == {"TraderAgent", "Auditor", "Monitor"}
        await kube.patch_status("TraderAgent", "floor", "k1", {"phase": "Pending"})
    finally:
        await kube.close()


async def test_kubeconfig_is_honoured(emulator, monkeypatch, tmp_path):
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "emu",
        "contexts": [{"name": "emu", "context": {"cluster": "emu", "user": "floor", "namespace": "floor"}}],
        "clusters": [{"name": "emu", "cluster": {"server": str(emulator.url).rstrip("/")}}],
        "users": [{"name": "floor", "user": {"token": "s3cret"}}],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig))
    monkeypatch.delenv("FLOOR_KUBE_SERVER", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(path))
    configuration = await load_configuration()
    assert configuration.host == str(emulator.url).rstrip("/")
    assert await bearer_token(configuration) == "s3cret"
    kube = await Kube.connect()
    try:
        assert "TraderAgent" in await kube.served_kinds()
    finally:
        await kube.close()


async def test_no_cluster_at_all_is_a_clear_error(monkeypatch, tmp_path):
    for name in ("FLOOR_KUBE_SERVER", "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(KubeConfigError, match="FLOOR_KUBE_SERVER.*KUBECONFIG"):
        await load_configuration()


async def test_answers_are_judged_by_status_without_reading_models(monkeypatch):
    """The operator's writes skip the library's response models: success, the statuses a call
    accepts (404 on a status patch, 409 on a create) and a clear error for anything else. Against
    the strict API server of tests/e2e (it validates names as Kubernetes does)."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    api = ApiServer(evaluate_cel=False)
    for crd in sorted((ROOT / "crds").glob("*.yaml")):
        api.create(api.types[CRDS], None, yaml.safe_load(crd.read_text()))
    api.create_namespace("floor")
    runner = web.AppRunner(HttpApi(api).app(), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    kube = await Kube.connect(f"http://127.0.0.1:{port}")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p1", "namespace": "floor"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }
    try:
        await kube.patch_status("TraderAgent", "floor", "nobody", {"phase": "Pending"})  # 404: fine
        assert await kube.create_pod(pod) is True
        assert await kube.create_pod(pod) is False  # 409: the name is taken
        with pytest.raises(KubeError, match="422") as refused:
            await kube.create_pod({**pod, "metadata": {"name": "Not_A_Name", "namespace": "floor"}})
        assert refused.value.status == 422 and "Not_A_Name" in str(refused.value)
    finally:
        await kube.close()
        await runner.cleanup()


async def test_proxy_is_taken_from_the_environment_once(monkeypatch):
    """No per-request environment lookups (they cost two thread hops per call), yet a proxy the
    environment names still applies, and NO_PROXY still exempts a host. No request is made."""
    for name in ("https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    api = await api_client("https://cluster.invalid:6443")
    try:
        assert api.rest_client.proxy == "http://proxy.invalid:3128"
        assert api.rest_client.pool_manager.trust_env is False
    finally:
        await api.close()
    monkeypatch.setenv("NO_PROXY", "cluster.invalid")
    api = await api_client("https://cluster.invalid:6443")
    try:
        assert not api.rest_client.proxy
    finally:
        await api.close()
