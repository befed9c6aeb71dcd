"""The floor's one Kubernetes client: an explicit server, KUBECONFIG, and a clear error when there
is no way to reach a cluster (in-cluster config is exercised by tests/e2e, whose kubelet mounts a
ServiceAccount token)."""

from __future__ import annotations

import pytest
import yaml

from floor_boss.kube import Kube
from tests.operator.conftest import apply, trader
from tradingfloor.kubeclient import KubeConfigError, bearer_token, load_configuration


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
