"""The Floor Boss refuses foreign images and unlabelled credentials Secrets (pure rules), and the
per-kind access of agent Pods (ServiceAccount, the Auditor's key)."""

from __future__ import annotations

import pytest

from floor_boss.admission import AdmissionPolicy, refusal
from floor_boss.agent_access import extra_env, service_account
from floor_boss.pods import build_pod
from floor_boss.settings import BossSettings

DEFAULT = "ghcr.io/trading-floor/agent:0.1.0"
LABELLED = {"tradingfloor.dev/credentials": "true"}


def policy(*allowed: str) -> AdmissionPolicy:
    return AdmissionPolicy.from_env(DEFAULT, {"FLOOR_ALLOWED_IMAGES": ",".join(allowed)})


@pytest.mark.parametrize(
    "image, allowed, ok",
    [
        (None, (), True),
        (DEFAULT, (), True),
        ("evil.example/miner:latest", (), False),
        ("ghcr.io/trading-floor/agent:0.2.0", ("ghcr.io/trading-floor/agent:*",), True),
        ("ghcr.io/trading-floor/agent-evil:1", ("ghcr.io/trading-floor/agent:*",), False),
        ("registry.local/agent@sha256:abc", ("registry.local/agent@sha256:abc",), True),
        ("registry.local/agent@sha256:abd", ("registry.local/agent@sha256:abc",), False),
    ],
)
def test_image_allow_list(image, allowed, ok):
    spec = {"strategy": "momentum", "image": image} if image else {"strategy": "momentum"}
    problem = refusal("TraderAgent", spec, None, policy(*allowed))
    assert (problem is None) == ok, problem
    if not ok:
        assert "spec.image" in problem and "not in the allowed images" in problem


@pytest.mark.parametrize(
    "labels, ok",
    [
        (LABELLED, True),
        ({}, False),
        ({"tradingfloor.dev/credentials": "false"}, False),
        (None, False),  # the Secret does not exist
    ],
)
def test_credentials_secret_must_be_labelled_for_the_floor(labels, ok):
    spec = {"mode": "live", "credentialsSecretRef": {"name": "polymarket-keys"}}
    problem = refusal("TraderAgent", spec, labels, policy())
    assert (problem is None) == ok, problem
    if not ok:
        assert "polymarket-keys" in problem


def test_label_is_configurable_and_checked():
    custom = AdmissionPolicy.from_env(DEFAULT, {"FLOOR_CREDENTIALS_LABEL": "team/keys=floor"})
    spec = {"credentialsSecretRef": {"name": "k"}}
    assert refusal("TraderAgent", spec, {"team/keys": "floor"}, custom) is None
    assert refusal("TraderAgent", spec, LABELLED, custom) is not None
    with pytest.raises(ValueError, match="FLOOR_CREDENTIALS_LABEL"):
        AdmissionPolicy.from_env(DEFAULT, {"FLOOR_CREDENTIALS_LABEL": "no-equals-sign"})


def test_both_problems_are_named_together():
    spec = {"image": "x/y:z", "credentialsSecretRef": {"name": "k"}}
    problem = refusal("TraderAgent", spec, {}, policy())
    assert "spec.image" in problem and "credentialsSecretRef" in problem


@pytest.mark.parametrize(
    "kind, suffix", [("TraderAgent", "trader"), ("Auditor", "auditor"), ("Monitor", "monitor")]
)
def test_each_kind_runs_as_its_own_service_account(kind, suffix, monkeypatch):
    monkeypatch.setenv("FLOOR_AUDIT_KEY_SECRET", "audit-key")
    monkeypatch.setenv("FLOOR_AUDIT_HEAD_CONFIGMAP", "audit-head")
    resource = {
        "apiVersion": "tradingfloor.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": "a", "namespace": "n", "uid": "u"},
        "spec": {},
    }
    pod = build_pod(resource, "a-0", BossSettings(agent_service_account="floor-agent"))
    assert (
        pod["spec"]["serviceAccountName"] == service_account("floor-agent", kind) == f"floor-agent-{suffix}"
    )
    names = {e["name"] for e in pod["spec"]["containers"][0]["env"]}
    assert ("AUDIT_HMAC_KEY" in names) == (kind == "Auditor")
    assert ("AUDIT_HEAD_CONFIGMAP" in names) == (kind == "Auditor")


def test_audit_key_comes_from_its_secret():
    (key, head) = extra_env("Auditor", {"FLOOR_AUDIT_KEY_SECRET": "s", "FLOOR_AUDIT_HEAD_CONFIGMAP": "c"})
    assert key == {"name": "AUDIT_HMAC_KEY", "valueFrom": {"secretKeyRef": {"name": "s", "key": "key"}}}
    assert head == {"name": "AUDIT_HEAD_CONFIGMAP", "value": "c"}
