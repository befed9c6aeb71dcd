"""The cluster floor as a user installs it, on an emulated cluster, observed through kubectl only.

`helm template` renders the chart (in-chart PostgreSQL/Redis off, the suite's embedded ones as
external URLs, the market pointed at `floor sim` with momentum persistence at 150x); the real kubectl
applies the CRDs, the chart, examples/ and two test-own traders; the process kubelet runs the
operator from the rendered Deployment (the image's ENTRYPOINT + the chart's args) and every Pod the
operator creates. Then tests/e2e/assertions.py checks collectors, trades, a SIGKILLed agent's
restart, a clone and a retirement, and the printer columns.

What is emulated and why: there is no container engine or kube-apiserver on these machines, so the
API server is tests/e2e/support (strict, in-memory) and containers are local processes.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import yaml

from tests.e2e import assertions
from tests.e2e.conftest import REPO

NAMESPACE = "floor"
CHECK_SECONDS = 300.0  # the checks' shared deadline: reached only when the floor fails to show something


def _helm_template(helm: Path, values: dict[str, object], workdir: Path) -> str:
    import subprocess

    values_file = workdir / "values-run.yaml"
    values_file.write_text(yaml.safe_dump(values))
    env = {**os.environ, "KUBECONFIG": str(workdir / "no-kubeconfig")}
    for name in ("CACHE", "CONFIG", "DATA"):
        env[f"HELM_{name}_HOME"] = str(workdir / f"helm-{name.lower()}")
    result = subprocess.run(
        [
            str(helm),
            "template",
            "tf",
            str(REPO / "charts" / "trading-floor"),
            "--namespace",
            NAMESPACE,
            "-f",
            str(REPO / "tests" / "e2e" / "values-e2e.yaml"),
            "-f",
            str(values_file),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.timeout(480)  # a failure must still report what the floor showed, not be cut off
def test_cluster_floor_end_to_end(
    cluster, kubectl_binary, helm_binary, simulator, db_url, redis_url, tmp_path
):
    started = time.monotonic()
    ws = simulator.replace("http://", "ws://")
    market = {
        "gammaUrl": simulator,
        "clobUrl": simulator,
        "wsUrl": f"{ws}/ws/market",
        "spotWsUrl": f"{ws}/ws/spot",
    }
    values: dict[str, object] = {
        "image": {"repository": "trading-floor-operator", "tag": "e2e"},
        "agents": {"image": {"repository": "trading-floor-agent", "tag": "e2e"}},
        "postgresql": {"enabled": False},
        "redis": {"enabled": False},
        "connections": {"databaseUrl": db_url, "redisUrl": redis_url},
    }
    schema = json.loads((REPO / "charts" / "trading-floor" / "values.schema.json").read_text())
    if "market" in schema.get("properties", {}):
        values["market"] = market
    else:  # a chart from before its `market` values: the same endpoints as operator env
        names = {
            "gammaUrl": "GAMMA_URL",
            "clobUrl": "CLOB_URL",
            "wsUrl": "WS_URL",
            "spotWsUrl": "SPOT_WS_URL",
        }
        env = [{"name": f"POLYMARKET_{names[k]}", "value": v} for k, v in market.items()]
        values["operator"] = {"extraEnv": env}
    rendered = _helm_template(helm_binary, values, tmp_path)
    (tmp_path / "chart.yaml").write_text(rendered)
    kinds = {doc["kind"] for doc in yaml.safe_load_all(rendered) if doc}
    assert {"Deployment", "Secret", "ServiceAccount", "Role", "RoleBinding"} <= kinds, kinds

    k = cluster.kubectl(kubectl_binary, NAMESPACE)
    # --validate=false: this API server publishes no OpenAPI documents for kubectl's client-side checks;
    # it enforces the CRD schemas itself.
    k.run("apply", "--validate=false", "-f", str(REPO / "crds"))
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    k.run("apply", "--validate=false", "-f", "-", stdin=json.dumps(namespace))
    k.run("apply", "--validate=false", "-f", str(tmp_path / "chart.yaml"))

    deadline = assertions.Deadline(60)
    deadline.wait(
        lambda: any((d.get("status") or {}).get("readyReplicas") for d in k.items("deployments")),
        "the operator Deployment to be ready",
    )
    k.run("apply", "--validate=false", "-f", str(REPO / "examples"))
    k.run("apply", "--validate=false", "-f", str(REPO / "tests" / "e2e" / "manifests"))
    assert "traderagent.tradingfloor.dev/e2e-momentum" in k.run("get", "tradingfloor", "-o", "name").stdout

    report = assertions.run_all(k, assertions.kill_from_pid_file(cluster.workdir / "pids"), CHECK_SECONDS)
    state, logs = k.run("get", "pods,traderagents", check=False).stdout, operator_log(k)
    # What `helm uninstall` does: delete every object of the release. The agents' Pods stay with
    # their TraderAgents (the user's resources); the collectors go with the operator's Deployment.
    k.run("delete", "--wait=false", "-f", str(tmp_path / "chart.yaml"))
    try:
        assert assertions.check_uninstalled(k, assertions.Deadline(90)) > 0, "no collector to uninstall"
    except AssertionError as exc:
        report.failures.append(f"uninstall: {exc}")
    line = report.line(time.monotonic() - started)
    print(line)
    if os.environ.get("E2E_SUMMARY"):
        Path(os.environ["E2E_SUMMARY"]).write_text(line + "\n")
    if report.failures:
        raise AssertionError(
            "\n".join(
                ["the cluster floor did not show:", *report.failures, line, state, "operator log:", logs]
            )
        )


def operator_log(k) -> str:
    operator = next(
        (p["metadata"]["name"] for p in k.items("pods") if "operator" in p["metadata"]["name"]), None
    )
    return k.run("logs", operator, "--tail", "30", check=False).stdout if operator else ""
