"""Fixtures of the end-to-end tests: the real kubectl and helm, an emulated cluster in its own process
(tests/e2e/support/cluster.py: strict API server + process kubelet), and the simulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.support.kubelet import free_port
from tests.e2e.support.tools import Kubectl, layer_tool

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the worktree's .venv/bin: `floor` in every Pod comes from here
IMAGES = {"trading-floor-operator": "Dockerfile.operator", "trading-floor-agent": "Dockerfile.agent"}


@pytest.fixture(scope="session")
def tool_cache(request) -> Path:
    return Path(request.config.cache.mkdir("e2e-tools"))


@pytest.fixture(scope="session")
def kubectl_binary(tool_cache) -> Path:
    return layer_tool("kubectl", tool_cache)


@pytest.fixture(scope="session")
def helm_binary(tool_cache) -> Path:
    return layer_tool("helm", tool_cache)


class Cluster:
    def __init__(self, workdir: Path, process: subprocess.Popen[bytes]) -> None:
        self.workdir, self.process = workdir, process
        self.kubeconfig = workdir / "kubeconfig"

    def kubectl(self, binary: Path, namespace: str) -> Kubectl:
        return Kubectl(binary, self.kubeconfig, namespace, self.workdir / "kube-cache")

    def log_tail(self, lines: int = 40) -> str:
        text = (self.workdir / "cluster.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def start_cluster(workdir: Path) -> Iterator[Cluster]:
    workdir.mkdir(parents=True, exist_ok=True)
    args = [
        sys.executable,
        "-m",
        "tests.e2e.support.cluster",
        "--workdir",
        str(workdir),
        "--bin-dir",
        str(BIN),
    ]
    for repository, dockerfile in IMAGES.items():
        args += ["--image", f"{repository}={dockerfile}"]
    with open(workdir / "cluster.log", "wb") as log:
        process = subprocess.Popen(args, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    cluster = Cluster(workdir, process)
    try:
        deadline = time.monotonic() + 120  # a loaded machine imports slowly
        while not cluster.kubeconfig.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the emulated cluster did not start:\n{cluster.log_tail()}")
            time.sleep(0.1)
        yield cluster
    finally:
        process.send_signal(signal.SIGTERM)  # stops every Pod's process first
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    yield from start_cluster(tmp_path_factory.mktemp("cluster"))


@pytest.fixture
def simulator(tmp_path) -> Iterator[str]:
    """``floor sim`` on a momentum market at 150x: a 15-minute round every 6 s."""
    port = free_port()
    with open(tmp_path / "sim.log", "wb") as log:
        process = subprocess.Popen(
            [
                str(BIN / "floor"),
                "sim",
                "--port",
                str(port),
                "--pattern",
                "momentum",
                "--speed",
                "150",
                "--seed",
                "2",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ},
        )
    try:
        deadline = time.monotonic() + 120  # a loaded machine imports slowly
        import socket

        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"floor sim did not start: {(tmp_path / 'sim.log').read_text()}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
