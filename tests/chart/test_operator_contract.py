"""The chart and the Floor Boss agree: what the chart's Deployment tells the operator is what the
operator's code reads, and the Pods the operator builds from it fit the chart's ServiceAccount, Secret,
RBAC, PodMonitor and the agent image."""

from __future__ import annotations

import re
import tomllib

import pytest
import typer

from tests.chart.conftest import NAMESPACE, RELEASE, REPO, find, one

OPERATOR = f"{RELEASE}-trading-floor-operator"


def _operator_container(objects: list[dict]) -> dict:
    return one(objects, "Deployment", OPERATOR)["spec"]["template"]["spec"]["containers"][0]


def _settings_from(container: dict, monkeypatch):
    """BossSettings as the operator process would read them from the rendered container env."""
    from floor_boss.settings import BossSettings

    for env in container["env"]:
        # Secret references are resolved by the kubelet; any URL stands in for them here.
        monkeypatch.setenv(env["name"], env.get("value", f"stand-in-{env['name'].lower()}"))
    return BossSettings.from_env()


def test_operator_reads_what_the_chart_sets(rendered, monkeypatch):
    settings = _settings_from(_operator_container(rendered), monkeypatch)
    assert settings.agent_image == "ghcr.io/trading-floor/agent:0.1.0"
    assert settings.image_pull_policy == "IfNotPresent"
    assert settings.connection_secret == "trading-floor-connections"
    assert settings.agent_service_account == "trading-floor-agent"
    assert settings.metrics_port == 8080
    assert (settings.cpu_request, settings.memory_request, settings.cpu_limit, settings.memory_limit) == (
        "100m",
        "192Mi",
        "1",
        "512Mi",
    )
    assert settings.database_url and settings.redis_url


def test_operator_command_line_parses(rendered):
    from tradingfloor.cli import app

    args = _operator_container(rendered)["args"]
    group = typer.main.get_command(app)
    command = group.commands[args[0]]
    ctx = command.make_context(args[0], list(args[1:]))
    assert list(ctx.params["namespace"]) == [NAMESPACE]
    assert ctx.params["liveness"] == "http://0.0.0.0:8081/healthz"
    health = {p["name"]: p["containerPort"] for p in _operator_container(rendered)["ports"]}["health"]
    assert f":{health}/healthz" in ctx.params["liveness"]


def test_policy_overrides_reach_the_decision_core(helm, monkeypatch):
    from tradingfloor.decisions.policy import FloorPolicy
    from tradingfloor.structs import parse

    objects = helm.render(
        extra=("--set-json", 'operator.policy={"floor_daily_loss": 0.03, "min_trades_clone": 200}')
    )
    settings = _settings_from(_operator_container(objects), monkeypatch)
    policy = parse(FloorPolicy, settings.policy_overrides)
    assert (policy.floor_daily_loss, policy.min_trades_clone) == (0.03, 200)


def test_a_policy_the_decision_core_refuses_stops_the_operator_at_start(helm, monkeypatch):
    objects = helm.render(
        extra=("--set-json", 'operator.policy={"floor_daily_loss": 3, "min_trade_clone": 2}')
    )
    with pytest.raises(ValueError, match=r"^FLOOR_POLICY_JSON: floor_daily_loss: Expected `float` <= 1"):
        _settings_from(_operator_container(objects), monkeypatch)


@pytest.mark.parametrize("kind", ["TraderAgent", "Auditor", "Monitor"])
def test_agent_pods_fit_the_chart(rendered, monkeypatch, kind):
    from floor_agents.entry import parser as agent_parser
    from floor_boss.pods import build_pod, db_login_secret

    settings = _settings_from(_operator_container(rendered), monkeypatch)
    resource = {
        "apiVersion": "tradingfloor.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": "momentum-btc", "namespace": NAMESPACE, "uid": "u-1"},
        "spec": {},
    }
    pod = build_pod(resource, "momentum-btc-0", settings)

    # ServiceAccount: the chart's one for this kind, bound to that kind's Role.
    suffix = {"TraderAgent": "trader", "Auditor": "auditor", "Monitor": "monitor"}[kind]
    binding = one(rendered, "RoleBinding", f"{RELEASE}-trading-floor-{suffix}")
    assert pod["spec"]["serviceAccountName"] == binding["subjects"][0]["name"]
    assert one(rendered, "ServiceAccount", pod["spec"]["serviceAccountName"])

    # Secrets: the chart's, with the keys the Pod asks for (the audit key only in Auditor Pods).
    (container,) = pod["spec"]["containers"]
    secrets = {s["metadata"]["name"]: s for s in find(rendered, "Secret")}
    assert settings.agent_db_logins  # the chart's default: the operator creates the agent's own login
    own = db_login_secret(resource, "postgresql://tf_login:pw@db:5432/tradingfloor")
    secrets[own["metadata"]["name"]] = own
    for env in container["env"]:
        ref = env.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            secret = secrets[ref["name"]]
            assert ref["key"] in (secret.get("stringData") or secret.get("data")), env
    audit_env = {e["name"] for e in container["env"]} & {"AUDIT_HMAC_KEY", "AUDIT_HEAD_CONFIGMAP"}
    assert audit_env == ({"AUDIT_HMAC_KEY", "AUDIT_HEAD_CONFIGMAP"} if kind == "Auditor" else set())

    # Scraping: the PodMonitor selects the Pod and finds its port by name.
    monitor = one(rendered, "PodMonitor", f"{RELEASE}-trading-floor-agents")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["metrics"] == 9100
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"

    # Image: the command runs the image's `floor-agent` (a script of the wheel), as the image's user.
    assert container["image"] == settings.agent_image
    dockerfile = (REPO / "Dockerfile.agent").read_text()
    uid = int(re.search(r"^USER (\d+):(\d+)$", dockerfile, re.M).group(1))
    assert pod["spec"]["securityContext"]["runAsUser"] == uid
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert container["command"][0] == "floor-agent" and scripts["floor-agent"] == "floor_agents.entry:main"
    args = agent_parser().parse_args(container["command"][1:])
    assert (args.kind, args.resource, args.namespace) == (suffix, "momentum-btc", NAMESPACE)


def test_the_agent_roles_allow_what_each_agent_does(rendered):
    """Each kind reads its own resource and patches its status: exactly what its Role grants."""
    for suffix, plural in (("trader", "traderagents"), ("auditor", "auditors"), ("monitor", "monitors")):
        role = one(rendered, "Role", f"{RELEASE}-trading-floor-{suffix}")
        grants = {(r, v) for rule in role["rules"] for r in rule["resources"] for v in rule["verbs"]}
        assert (plural, "get") in grants and (f"{plural}/status", "patch") in grants


def test_floor_capital_reaches_the_operator_and_its_agent_pods(helm, monkeypatch):
    from floor_boss.pods import build_pod

    objects = helm.render(extra=("--set", "floorCapital=25000"))
    settings = _settings_from(_operator_container(objects), monkeypatch)
    assert settings.floor_capital == "25000"
    resource = {
        "apiVersion": "tradingfloor.dev/v1alpha1",
        "kind": "TraderAgent",
        "metadata": {"name": "a", "namespace": NAMESPACE, "uid": "u1"},
        "spec": {"strategy": "momentum", "market": {"asset": "BTC"}},
    }
    env = build_pod(resource, "a-0", settings)["spec"]["containers"][0]["env"]
    assert {"name": "FLOOR_CAPITAL", "value": "25000"} in env
    # unset by default: no floor-wide cap is claimed that nobody configured
    monkeypatch.delenv("FLOOR_CAPITAL")
    assert _settings_from(_operator_container(helm.render()), monkeypatch).floor_capital is None
