"""Chart hardening: the NetworkPolicy option, the audit key and head, no password on a command line."""

from __future__ import annotations

import json

from tests.chart.conftest import RELEASE, find, one


def test_network_policies_are_off_by_default(rendered):
    assert not find(rendered, "NetworkPolicy")


def test_agents_reach_only_the_databases_dns_api_and_venue(helm):
    objects = helm.render(
        "networkPolicy.enabled=true",
        "networkPolicy.apiServerCIDRs={10.96.0.1/32}",
        "networkPolicy.venueCIDRs={104.18.0.0/16}",
    )
    agents = one(objects, "NetworkPolicy", f"{RELEASE}-trading-floor-agents")
    assert agents["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "trading-floor-agent"}}
    assert agents["spec"]["policyTypes"] == ["Ingress", "Egress"]
    egress = agents["spec"]["egress"]
    components = [
        r["to"][0].get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component")
        for r in egress
    ]
    assert components[:2] == ["postgresql", "redis"]
    assert egress[2]["to"][0]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
    cidrs = [[t["ipBlock"]["cidr"] for t in r["to"]] for r in egress[3:]]
    assert cidrs == [["10.96.0.1/32"], ["104.18.0.0/16"]]
    assert len(egress) == 5  # nothing else leaves an agent Pod
    for component in ("postgresql", "redis"):
        db = one(objects, "NetworkPolicy", f"{RELEASE}-trading-floor-{component}")
        peers = [p["podSelector"]["matchLabels"] for p in db["spec"]["ingress"][0]["from"]]
        assert {"app.kubernetes.io/name": "trading-floor-agent"} in peers
        assert db["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == component


def test_without_venue_cidrs_agents_cannot_reach_the_venue(helm):
    objects = helm.render("networkPolicy.enabled=true")
    egress = one(objects, "NetworkPolicy", f"{RELEASE}-trading-floor-agents")["spec"]["egress"]
    assert not any("ipBlock" in t for r in egress for t in r["to"])


def test_audit_key_is_generated_and_long(rendered):
    secret = one(rendered, "Secret", f"{RELEASE}-trading-floor-audit-key")
    assert len(secret["data"]["key"]) >= 64  # base64 of 48 random characters
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_existing_audit_key_secret_is_used(helm):
    objects = helm.render("audit.existingKeySecret=my-audit-key", "audit.headConfigMap.enabled=false")
    assert not find(objects, "Secret", f"{RELEASE}-trading-floor-audit-key")
    assert not find(objects, "ConfigMap", f"{RELEASE}-trading-floor-audit-head")
    env = {
        e["name"]: e.get("value")
        for e in one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["FLOOR_AUDIT_KEY_SECRET"] == "my-audit-key" and "FLOOR_AUDIT_HEAD_CONFIGMAP" not in env


def test_allowed_images_reach_the_operator(helm):
    objects = helm.render("agents.allowedImages={ghcr.io/trading-floor/agent:*,registry.local/a@sha256:x}")
    env = {
        e["name"]: e.get("value")
        for e in one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["FLOOR_ALLOWED_IMAGES"] == "ghcr.io/trading-floor/agent:*,registry.local/a@sha256:x"


def test_redis_password_is_not_on_the_command_line(rendered):
    redis = one(rendered, "StatefulSet", f"{RELEASE}-trading-floor-redis")
    (container,) = redis["spec"]["template"]["spec"]["containers"]
    script = container["command"][-1]
    assert "--requirepass" not in json.dumps(container["command"])
    assert "redis-server /data/redis.conf" in script and "printf" in script


def _operator_env(objects: list[dict]) -> dict[str, str | None]:
    containers = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value") for e in containers[0]["env"]}


def _operator_secret_verbs(objects: list[dict]) -> set[str]:
    role = one(objects, "Role", f"{RELEASE}-trading-floor-operator")
    return {v for rule in role["rules"] if "secrets" in rule["resources"] for v in rule["verbs"]}


def test_agents_get_their_own_database_logins_by_default(rendered):
    assert _operator_env(rendered)["FLOOR_AGENT_DB_LOGINS"] == "true"
    # the operator creates each agent's login Secret; it can never change or delete a Secret
    assert _operator_secret_verbs(rendered) == {"get", "create"}


def test_agent_logins_off_leaves_the_operator_unable_to_create_secrets(helm):
    objects = helm.render("connections.agentLogins=false")
    assert _operator_env(objects)["FLOOR_AGENT_DB_LOGINS"] == "false"
    assert _operator_secret_verbs(objects) == {"get"}
