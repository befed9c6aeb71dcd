"""Manifests: the examples are accepted and bad ones rejected, by the models and by the generated
CRDs (schema + CEL, as the API server would), each with a message naming the field."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.k8s_schema import load_crd_schema, validate
from tradingfloor.models.crd import RESOURCES, stale_crds
from tradingfloor.models.manifests import ManifestError, load_manifests, parse_resource
from tradingfloor.models.transitions import check_update
from tradingfloor.structs import dump, parse

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def crd_schema(kind: str) -> dict:
    return load_crd_schema(ROOT / "crds" / RESOURCES[kind].filename)


def momentum() -> dict:
    return yaml.safe_load((ROOT / "examples" / "momentum-btc.yaml").read_text())


def test_generated_crds_are_up_to_date():
    assert stale_crds(ROOT / "crds") == []
    result = subprocess.run(
        [sys.executable, "-m", "tradingfloor.cli", "crds", "--check", "--out", str(ROOT / "crds")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_crds_check_fails_on_drift(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "tradingfloor.cli", "crds", "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    path = tmp_path / RESOURCES["TraderAgent"].filename
    path.write_text(path.read_text().replace("maxRestartsPerHour", "maxRestartsPerDay"))
    result = subprocess.run(
        [sys.executable, "-m", "tradingfloor.cli", "crds", "--check", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert RESOURCES["TraderAgent"].filename in result.stderr


def test_examples_hold_the_seed_agents():
    resources = [r for path in EXAMPLES for r in load_manifests(path)]
    agents = {(r.spec.strategy, r.spec.market.asset) for r in resources if r.kind == "TraderAgent"}
    assert agents == {("momentum", "BTC"), ("meanReversion", "BTC"), ("volumeSpike", "ETH")}
    assert sorted(r.kind for r in resources if r.kind != "TraderAgent") == ["Auditor", "Monitor"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_is_accepted_by_its_crd(path):
    for doc in yaml.safe_load_all(path.read_text()):
        assert validate(crd_schema(doc["kind"]), doc) == []


def test_crd_defaults_match_model_defaults():
    """Defaults applied by the API server and by the models agree, so both runtimes see one spec."""
    from tests.k8s_schema import apply_defaults

    doc = {
        "apiVersion": "tradingfloor.dev/v1alpha1",
        "kind": "TraderAgent",
        "metadata": {"name": "x"},
        "spec": {"strategy": "orderFlow", "market": {"asset": "ETH"}},
    }
    defaulted = apply_defaults(crd_schema("TraderAgent"), copy.deepcopy(doc))["spec"]
    model = dump(parse_resource(doc).spec, exclude_none=True)
    assert defaulted == model


BAD_CASES = {
    "unknown strategy": (lambda s: s.update(strategy="astrology"), "strategy"),
    "negative risk": (lambda s: s["risk"].update(riskPerTradeBps=-5), "riskPerTradeBps"),
    "negative capital": (lambda s: s["risk"].update(capital="-100"), "capital"),
    "unknown param key": (lambda s: s["params"].update(lookbackMinutes=5), "params"),
    "live without credentials": (lambda s: s.update(mode="live"), "credentialsSecretRef"),
    "unknown spec field": (lambda s: s.update(leverage=10), "leverage"),
    "price out of range": (lambda s: s["params"].update(maxEntryPrice="1.50"), "maxEntryPrice"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_manifest_is_rejected_naming_the_field(case):
    mutate, field = BAD_CASES[case]
    doc = momentum()
    mutate(doc["spec"])
    with pytest.raises(ManifestError) as raised:
        parse_resource(doc, "bad.yaml")
    assert field in str(raised.value)
    assert "momentum-btc" in str(raised.value)
    api_errors = validate(crd_schema("TraderAgent"), doc)
    assert api_errors, f"the CRD accepted a manifest with {case}"
    assert any(field in e for e in api_errors), api_errors


def test_live_with_credentials_is_accepted():
    doc = momentum()
    doc["spec"].update(mode="live", credentialsSecretRef={"name": "polymarket-keys"})
    assert parse_resource(doc).spec.mode == "live"
    assert validate(crd_schema("TraderAgent"), doc) == []


@pytest.mark.parametrize("new_lifecycle", ["Active", "Paused"])
def test_retired_never_returns(new_lifecycle):
    old = momentum()
    old["spec"]["lifecycle"] = "Retired"
    new = copy.deepcopy(old)
    new["spec"]["lifecycle"] = new_lifecycle
    errors = validate(crd_schema("TraderAgent"), new, old=old)
    assert errors == [".spec.lifecycle: a Retired agent cannot return to Active or Paused"]
    with pytest.raises(ManifestError, match="spec.lifecycle"):
        check_update("TraderAgent", "momentum-btc", old["spec"], new["spec"])
    # the other way round is fine
    assert validate(crd_schema("TraderAgent"), old, old=new) == []
    check_update("TraderAgent", "momentum-btc", new["spec"], old["spec"])


def test_strategy_is_immutable():
    old = momentum()
    new = copy.deepcopy(old)
    new["spec"]["strategy"] = "meanReversion"
    new["spec"]["params"] = {}
    assert any(e.startswith(".spec.strategy") for e in validate(crd_schema("TraderAgent"), new, old=old))
    with pytest.raises(ManifestError, match="immutable"):
        check_update("TraderAgent", "momentum-btc", old["spec"], new["spec"])


def test_malformed_files_give_clear_errors(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: TraderAgent\nspec: [unclosed\n")
    with pytest.raises(ManifestError, match="cannot read YAML"):
        list(load_manifests(broken))
    wrong_kind = tmp_path / "wrong.yaml"
    wrong_kind.write_text("apiVersion: tradingfloor.dev/v1alpha1\nkind: Robot\nmetadata: {name: r}\n")
    with pytest.raises(ManifestError, match="kind 'Robot'"):
        list(load_manifests(wrong_kind))
    no_name = tmp_path / "noname.yaml"
    no_name.write_text("apiVersion: tradingfloor.dev/v1alpha1\nkind: Monitor\nspec: {}\n")
    with pytest.raises(ManifestError, match="metadata.name"):
        list(load_manifests(no_name))


def test_status_round_trips_as_strings():
    from tradingfloor.models.trader_agent import TraderAgentStatus

    status = parse(
        TraderAgentStatus,
        {
            "phase": "Running",
            "performance": {"trades": 12, "winRate": "0.58", "pnl": "12.34"},
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "AgentHealthy",
                    "lastTransitionTime": "2026-11-22T00:00:00Z",
                }
            ],
        },
    )
    dumped = dump(status, exclude_none=True)
    assert dumped["performance"]["pnl"] == "12.34"
    assert validate(crd_schema("TraderAgent"), {**momentum(), "status": dumped}) == []
