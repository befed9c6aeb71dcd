"""The emulated cluster behaves like a strict API server and a kubelet, as seen by the real kubectl:
the end-to-end test relies on each of these behaviours."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.conftest import REPO

NS = "strict"


@pytest.fixture(scope="module")
def k(cluster, kubectl_binary):
    kubectl = cluster.kubectl(kubectl_binary, NS)
    kubectl.run("apply", "--validate=false", "-f", str(REPO / "crds"))
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}
    kubectl.run("apply", "--validate=false", "-f", "-", stdin=json.dumps(ns))
    return kubectl


def apply(k, manifest: dict, check: bool = True):
    return k.run("apply", "--validate=false", "-f", "-", stdin=json.dumps(manifest), check=check)


def trader(name: str, **spec) -> dict:
    return {
        "apiVersion": "tradingfloor.dev/v1alpha1",
        "kind": "TraderAgent",
        "metadata": {"name": name},
        "spec": {"strategy": "momentum", "market": {"asset": "BTC"}, **spec},
    }


def wait_for(check, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_discovery_serves_short_names_and_the_category(k):
    apply(k, trader("discovered"))
    assert (
        k.run("get", "ta", "discovered", "-o", "name").stdout.strip()
        == "traderagent.tradingfloor.dev/discovered"
    )
    assert "traderagent.tradingfloor.dev/discovered" in k.run("get", "tradingfloor", "-o", "name").stdout


def test_custom_resources_are_defaulted_pruned_and_validated(k):
    manifest = trader("defaulted")
    manifest["spec"]["notAField"] = 1
    apply(k, manifest)
    stored = k.json("get", "ta", "defaulted")
    assert "notAField" not in stored["spec"]  # pruned, as without --validate=strict
    assert stored["spec"]["lifecycle"] == "Active" and stored["spec"]["market"]["interval"] == "15m"
    assert stored["metadata"]["generation"] == 1

    rejected = apply(k, trader("bad-strategy", strategy="astrology"), check=False)
    assert rejected.returncode != 0 and "strategy" in rejected.stderr and "astrology" in rejected.stderr
    live = apply(k, trader("live-without-keys", mode="live"), check=False)  # a CEL rule of the CRD
    assert live.returncode != 0 and "credentialsSecretRef" in live.stderr, live.stderr


def test_strategic_merge_patch_on_a_custom_resource_is_415(k):
    apply(k, trader("patched"))
    result = k.run(
        "patch", "ta", "patched", "-p", '{"spec":{"mode":"paper"}}', check=False
    )  # strategic by default
    assert result.returncode != 0, result.stdout
    # kubectl's wording of the API server's 415 UnsupportedMediaType
    assert "strategic-merge-patch+json is not supported" in result.stderr, result.stderr
    k.run("patch", "ta", "patched", "--type", "merge", "-p", '{"spec":{"lifecycle":"Paused"}}')
    assert k.json("get", "ta", "patched")["metadata"]["generation"] == 2


def test_status_is_a_subresource(k):
    apply(k, trader("with-status"))
    k.run("patch", "ta", "with-status", "--type", "merge", "-p", '{"status":{"phase":"Running"}}')
    assert "status" not in k.json("get", "ta", "with-status")  # the main resource ignores status
    k.run(
        "patch",
        "ta",
        "with-status",
        "--subresource",
        "status",
        "--type",
        "merge",
        "-p",
        '{"status":{"phase":"Running"},"spec":{"mode":"live"}}',
    )
    stored = k.json("get", "ta", "with-status")
    assert stored["status"]["phase"] == "Running" and stored["spec"]["mode"] == "paper"
    assert stored["metadata"]["generation"] == 1
    table = k.run("get", "ta", "with-status").stdout.splitlines()
    assert table[0].split()[:6] == ["NAME", "STRATEGY", "MARKET", "MODE", "PHASE", "PNL"], table[0]
    assert table[1].split()[:6] == ["with-status", "momentum", "BTC", "paper", "Running", "0"], table[1]


def test_kubelet_resolves_env_and_reports_exit_codes(k):
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "conn"},
        "stringData": {"URL": "redis://x"},
    }
    apply(k, secret)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "env-check", "labels": {"app": "env"}},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "main",
                    "image": "busybox",
                    "command": [
                        "sh",
                        "-c",
                        'echo "$URL $ME $NS $TMPDIR_OK"; test -f /var/run/secrets/kubernetes.io/serviceaccount/token; exit 3',
                    ],
                    "env": [
                        {"name": "URL", "valueFrom": {"secretKeyRef": {"name": "conn", "key": "URL"}}},
                        {"name": "ME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                        {"name": "TMPDIR_OK", "value": "$(ME)-ok"},
                    ],
                }
            ],
        },
    }
    apply(k, pod)
    done = wait_for(
        lambda: (k.json("get", "pod", "env-check").get("status") or {}).get("phase") == "Failed",
        "the Pod to fail",
    )
    assert done
    status = k.json("get", "pod", "env-check")["status"]["containerStatuses"][0]
    assert status["state"]["terminated"]["exitCode"] == 3
    assert k.run("logs", "env-check").stdout.strip() == f"redis://x env-check {NS} env-check-ok"
    assert "env-check" in k.run("get", "pods", "-l", "app=env", "-o", "name").stdout
    assert "env-check" not in k.run("get", "pods", "-l", "app!=env", "-o", "name").stdout


def test_a_deleted_pod_stays_terminating_for_its_grace_period_then_is_killed(k):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "stubborn"},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 2,
            "containers": [
                {
                    "name": "main",
                    "image": "busybox",
                    "command": ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"],
                }
            ],
        },
    }
    apply(k, pod)
    wait_for(
        lambda: (k.json("get", "pod", "stubborn").get("status") or {}).get("phase") == "Running", "Running"
    )
    k.run("delete", "pod", "stubborn", "--wait=false")
    terminating = k.run("get", "pod", "stubborn").stdout
    assert "Terminating" in terminating, terminating
    # the name is not free while the old Pod terminates
    again = k.run("create", "--validate=false", "-f", "-", stdin=json.dumps(pod), check=False)
    assert again.returncode != 0 and "being deleted" in again.stderr, again.stderr
    wait_for(
        lambda: k.run("get", "pod", "stubborn", check=False).returncode != 0, "the Pod to go", timeout=15
    )
    reasons = {e["reason"] for e in k.items("events", "--field-selector", "involvedObject.name=stubborn")}
    assert {"Scheduled", "Started", "Killing"} <= reasons


def test_a_deployment_runs_a_pod_from_its_template_and_deleting_it_collects_the_pod(k):
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "60"]}]},
            },
        },
    }
    apply(k, deploy)
    wait_for(
        lambda: (k.json("get", "deployment", "web").get("status") or {}).get("readyReplicas") == 1, "ready"
    )
    assert len(k.items("pods", "-l", "app=web")) == 1
    k.run("delete", "deployment", "web")
    wait_for(lambda: not k.items("pods", "-l", "app=web"), "the Deployment's Pod to be collected")
