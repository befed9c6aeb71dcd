"""Dockerfiles, .dockerignore and the opt-in kind end-to-end script.

No container engine runs here, so the images are checked by reading the Dockerfiles, and the kind
script is run against stand-in docker/kind/kubectl/helm commands that record what they are asked to
do and play a cluster whose operator recreates a deleted agent Pod (or, in the failure case, not).
"""

from __future__ import annotations

import fnmatch
import json
import re
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.chart.conftest import REPO

DOCKERFILES = ["Dockerfile.operator", "Dockerfile.agent"]
SCRIPT = REPO / "scripts" / "kind-e2e.sh"


# --- Dockerfiles ------------------------------------------------------------------------------------


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages(path: Path) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for ins in instructions(path):
        if ins[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(ins)
    return result


@pytest.mark.parametrize("name", DOCKERFILES)
def test_dockerfile_is_multi_stage_slim_and_non_root(name):
    path = REPO / name
    builder, final = stages(path)
    args = dict(a[1].split("=", 1) for a in instructions(path) if a[0] == "ARG" and "=" in a[1])
    assert args["PYTHON_IMAGE"].startswith("python:3.11-slim")
    assert builder[0] == ("FROM", "${PYTHON_IMAGE} AS builder")
    assert final[0] == ("FROM", "${PYTHON_IMAGE}")
    users = [a for i, a in final if i == "USER"]
    assert users == ["10001:10001"], "numeric non-root user, so runAsNonRoot can verify it"
    final_runs = " ".join(a for i, a in final if i == "RUN")
    for tool in ("apt-get install", "build-essential", "gcc", "pip install", "uv "):
        assert tool not in final_runs, f"{tool!r} in the final stage of {name}"
    copies = [a for i, a in final if i in ("COPY", "ADD")]
    assert copies == ["--from=builder /opt/venv /opt/venv"], "the final stage gets the venv and nothing else"
    entry = [a for i, a in final if i == "ENTRYPOINT"]
    assert entry == ['["floor"]']


@pytest.mark.parametrize("name", DOCKERFILES)
def test_builder_installs_the_wheel_with_runtime_dependencies_only(name):
    builder = stages(REPO / name)[0]
    runs = " ".join(a for i, a in builder if i == "RUN")
    assert "uv build --wheel" in runs
    assert "uv pip install --python /opt/venv/bin/python /dist/*.whl" in runs
    assert "-e " not in runs and "[test]" not in runs, "not editable, no test extra"
    sources = {s for i, a in builder if i == "COPY" for s in a.split()[:-1]}
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    package_roots = set(pyproject["tool"]["setuptools"]["packages"]["find"]["where"]) - {"."}
    top_packages = {"tradingfloor"}
    readme = pyproject["project"]["readme"]
    assert {"pyproject.toml", readme} | package_roots | top_packages <= sources, sources


def test_images_differ_only_where_they_should():
    operator, agent = (stages(REPO / n) for n in DOCKERFILES)
    assert operator[0] == agent[0], "both images build the same wheel the same way"
    op_cmd = [a for i, a in operator[1] if i == "CMD"]
    ag_cmd = [a for i, a in agent[1] if i == "CMD"]
    assert op_cmd == ['["operator"]'] and ag_cmd == ['["agent", "--help"]']
    assert ("EXPOSE", "8080 8081") in operator[1] and ("EXPOSE", "9100") in agent[1]


def _ignored(path: str, patterns: list[str]) -> bool:
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(
            fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p, pattern.replace("**/", "")) for p in prefixes
        ):
            ignored = not negate
    return ignored


def test_dockerignore_keeps_the_build_context_small_but_complete():
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for heavy in (".venv", ".git", "tests", "var", "tradingfloor/__pycache__/x.pyc"):
        assert _ignored(heavy, patterns), heavy
    for name in DOCKERFILES:
        for i, args in stages(REPO / name)[0]:
            if i == "COPY":
                for source in args.split()[:-1]:
                    assert not _ignored(source, patterns), (
                        f"{name} copies {source}, which .dockerignore drops"
                    )
    for needed in (
        "tradingfloor/cli.py",
        "operator/floor_boss/__init__.py",
        "agent_image/floor_agents/__init__.py",
    ):
        assert not _ignored(needed, patterns), needed


# --- the kind end-to-end script ----------------------------------------------------------------------


def test_kind_script_is_strict_bash_and_opt_in():
    text = SCRIPT.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
    assert SCRIPT.stat().st_mode & stat.S_IXUSR
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)
    makefile = (REPO / "Makefile").read_text()
    assert "kind-e2e" not in makefile, "the kind script is opt-in, not part of make test"


FAKE_TOOL = r'''#!{python}
"""Stand-in for docker/kind/kubectl/helm: records argv, plays a tiny cluster."""
import json, os, sys
from pathlib import Path
state = Path(os.environ["FAKE_STATE"])
tool, args = Path(sys.argv[0]).name, sys.argv[1:]
with open(state / "calls.log", "a") as log:
    log.write(json.dumps([tool, *args]) + "\n")
gens = json.loads((state / "pods.json").read_text()) if (state / "pods.json").exists() else {{}}
def save():
    (state / "pods.json").write_text(json.dumps(gens))
if tool == "kind" and args[:1] == ["get"]:
    sys.exit(0)  # no clusters yet
if tool == "kubectl" and args[:1] == ["-n"]:
    args = args[2:]
if tool == "kubectl" and args[:2] == ["get", "pods"] and "-l" in args:
    agent = args[args.index("-l") + 1].split("=", 1)[1]
    if agent in gens:
        print(f"uid-{{agent}}-{{gens[agent]}} True ")
    sys.exit(0)
if tool == "kubectl" and args[:1] == ["apply"]:
    for name in ("auditor", "mean-reversion-btc", "momentum-btc", "monitor", "volume-spike-eth"):
        gens[name] = 0
    save()
if tool == "kubectl" and args[:2] == ["delete", "pod"]:
    agent = args[args.index("-l") + 1].split("=", 1)[1]
    if os.environ.get("FAKE_OPERATOR_RECREATES") == "1":
        gens[agent] += 1
    else:
        gens.pop(agent)
    save()
'''


def _run_script(tmp_path: Path, recreate: bool) -> tuple[subprocess.CompletedProcess, list[list[str]]]:
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    for tool in ("docker", "kind", "kubectl", "helm", "python"):
        path = bin_dir / tool
        path.write_text(FAKE_TOOL.format(python=sys.executable))
        path.chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "FAKE_STATE": str(state),
        "TIMEOUT_SECONDS": "1",
        "FAKE_OPERATOR_RECREATES": "1" if recreate else "0",
        "E2E_PYTHON": str(bin_dir / "python"),  # the shared kubectl-only checks, recorded not run
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    calls = [json.loads(line) for line in (state / "calls.log").read_text().splitlines()]
    return result, calls


def _index(calls: list[list[str]], *prefix: str) -> int:
    for i, call in enumerate(calls):
        if call[: len(prefix)] == list(prefix):
            return i
    raise AssertionError(f"{' '.join(prefix)} was never called; calls: {calls}")


def test_kind_script_flow_against_stand_in_tools(tmp_path):
    result, calls = _run_script(tmp_path, recreate=True)
    assert result.returncode == 0, result.stdout + result.stderr
    order = [
        _index(calls, "kind", "create", "cluster", "--name", "trading-floor-e2e"),
        _index(
            calls,
            "docker",
            "build",
            "-f",
            str(REPO / "Dockerfile.operator"),
            "-t",
            "trading-floor-operator:e2e",
        ),
        _index(
            calls, "docker", "build", "-f", str(REPO / "Dockerfile.agent"), "-t", "trading-floor-agent:e2e"
        ),
        _index(calls, "kind", "load", "docker-image", "trading-floor-operator:e2e"),
        _index(calls, "kind", "load", "docker-image", "trading-floor-agent:e2e"),
        _index(calls, "helm", "install", "trading-floor", str(REPO / "charts" / "trading-floor")),
        _index(calls, "kubectl", "-n", "trading-floor", "apply", "-f"),
        _index(
            calls,
            "kubectl",
            "-n",
            "trading-floor",
            "delete",
            "pod",
            "-l",
            "tradingfloor.dev/agent=momentum-btc",
        ),
        _index(calls, "python", "-m", "tests.e2e.assertions", "--namespace", "trading-floor"),
        _index(calls, "kubectl", "-n", "trading-floor", "get", "traderagents"),
        _index(calls, "kind", "delete", "cluster", "--name", "trading-floor-e2e"),
    ]
    assert order == sorted(order)
    helm_call = calls[order[5]]
    for expected in (
        "image.repository=trading-floor-operator",
        "image.tag=e2e",
        "image.pullPolicy=Never",
        "agents.image.repository=trading-floor-agent",
        "agents.image.tag=e2e",
    ):
        assert expected in helm_call, helm_call
    assert "momentum-btc came back: pod uid uid-momentum-btc-0 -> uid-momentum-btc-1" in result.stdout
    assert "PASSED" in result.stdout


def test_kind_script_fails_and_still_cleans_up_when_the_pod_never_returns(tmp_path):
    result, calls = _run_script(tmp_path, recreate=False)
    assert result.returncode != 0
    assert "no Ready Pod for agent momentum-btc" in result.stderr
    assert "PASSED" not in result.stdout
    assert calls[-1] == ["kind", "delete", "cluster", "--name", "trading-floor-e2e"]


def test_deploy_doc_explains_the_script_and_that_it_cannot_run_here():
    doc = (REPO / "docs" / "deploy-kubernetes.md").read_text()
    assert "scripts/kind-e2e.sh" in doc
    assert "no container engine" in doc
    for key in (
        "FLOOR_AGENT_IMAGE",
        "FLOOR_CONNECTION_SECRET",
        "FLOOR_AGENT_SERVICE_ACCOUNT",
        "FLOOR_ALLOW_LIVE_TRADING",
        "FLOOR_OPERATOR_METRICS_PORT",
        "FLOOR_IMAGE_PULL_POLICY",
        "--liveness",
    ):
        assert key in doc, key
