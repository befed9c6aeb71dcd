"""The Helm chart: lint, render, Kubernetes schema validation, values schema, RBAC, CRDs, examples."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests.chart.conftest import CHART, NAMESPACE, RELEASE, REPO, find, one
from tests.k8s_schema import load_crd_schema, validate

OPERATOR = f"{RELEASE}-trading-floor-operator"
EXTERNAL = (
    "postgresql.enabled=false",
    "redis.enabled=false",
    "connections.databaseUrl=postgresql://floor:pw@db.example:5432/floor",
    "connections.redisUrl=redis://:pw@cache.example:6379/0",
)
EXISTING = ("postgresql.enabled=false", "redis.enabled=false", "connections.existingSecret=my-connections")


def _env(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


# --- lint and render ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "set_args",
    [(), EXTERNAL, EXISTING, ("liveTrading=true", "rbac.crdScanning=true")],
    ids=["defaults", "external-urls", "existing-secret", "live-with-crd-scanning"],
)
def test_helm_lint_passes(helm, set_args):
    args = ["lint", str(CHART), "--strict", "--namespace", NAMESPACE]
    for expr in set_args:
        args += ["--set", expr]
    result = helm.run(*args)
    assert "0 chart(s) failed" in result.stdout


def test_default_render_has_the_expected_objects(rendered):
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in rendered)
    assert kinds == sorted(
        [
            ("ServiceAccount", OPERATOR),
            ("ServiceAccount", "trading-floor-agent-trader"),
            ("ServiceAccount", "trading-floor-agent-auditor"),
            ("ServiceAccount", "trading-floor-agent-monitor"),
            ("Secret", "trading-floor-connections"),
            ("Secret", f"{RELEASE}-trading-floor-audit-key"),
            ("ConfigMap", f"{RELEASE}-trading-floor-audit-head"),
            ("Secret", f"{RELEASE}-trading-floor-postgresql"),
            ("Secret", f"{RELEASE}-trading-floor-redis"),
            ("Role", OPERATOR),
            *(("Role", f"{RELEASE}-trading-floor-{k}") for k in ("trader", "auditor", "monitor")),
            ("RoleBinding", OPERATOR),
            *(("RoleBinding", f"{RELEASE}-trading-floor-{k}") for k in ("trader", "auditor", "monitor")),
            ("Service", OPERATOR),
            ("Service", f"{RELEASE}-trading-floor-postgresql"),
            ("Service", f"{RELEASE}-trading-floor-redis"),
            ("Deployment", OPERATOR),
            ("StatefulSet", f"{RELEASE}-trading-floor-postgresql"),
            ("StatefulSet", f"{RELEASE}-trading-floor-redis"),
            ("ConfigMap", f"{RELEASE}-trading-floor-dashboard-agent"),
            ("ConfigMap", f"{RELEASE}-trading-floor-dashboard-floor-overview"),
            ("ServiceMonitor", OPERATOR),
            ("PodMonitor", f"{RELEASE}-trading-floor-agents"),
            ("PodMonitor", f"{RELEASE}-trading-floor-collectors"),
            ("PrometheusRule", f"{RELEASE}-trading-floor"),
        ]
    )
    assert all(
        o["metadata"].get("namespace") == NAMESPACE
        for o in rendered
        if o["kind"] not in ("ClusterRole", "ClusterRoleBinding")
    )


def test_operator_deployment(rendered):
    deploy = one(rendered, "Deployment", OPERATOR)
    assert deploy["spec"]["replicas"] == 1
    assert deploy["spec"]["strategy"] == {"type": "Recreate"}
    pod = deploy["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == OPERATOR
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    (container,) = pod["containers"]
    assert container["image"] == "ghcr.io/trading-floor/operator:0.1.0"
    assert container["args"] == [
        "operator",
        "--namespace",
        NAMESPACE,
        "--liveness",
        "http://0.0.0.0:8081/healthz",
    ]
    assert _env(container) == {
        "FLOOR_AGENT_IMAGE": "ghcr.io/trading-floor/agent:0.1.0",
        "FLOOR_IMAGE_PULL_POLICY": "IfNotPresent",
        "FLOOR_CONNECTION_SECRET": "trading-floor-connections",
        "FLOOR_AGENT_SERVICE_ACCOUNT": "trading-floor-agent",
        "FLOOR_AGENT_DB_LOGINS": "true",
        "FLOOR_ALLOW_LIVE_TRADING": "false",
        "FLOOR_ALLOWED_IMAGES": "",
        "FLOOR_CREDENTIALS_LABEL": "tradingfloor.dev/credentials=true",
        "FLOOR_AUDIT_KEY_SECRET": f"{RELEASE}-trading-floor-audit-key",
        "FLOOR_AUDIT_HEAD_CONFIGMAP": f"{RELEASE}-trading-floor-audit-head",
        "FLOOR_OPERATOR_METRICS_PORT": "8080",
        "FLOOR_AGENT_CPU_REQUEST": "100m",
        "FLOOR_AGENT_MEMORY_REQUEST": "192Mi",
        "FLOOR_AGENT_CPU_LIMIT": "1",
        "FLOOR_AGENT_MEMORY_LIMIT": "512Mi",
        "LOG_LEVEL": "INFO",
        "FLOOR_OPERATOR_DEPLOYMENT": OPERATOR,  # the owner of the collector Pods
        "FLOOR_OPERATOR_NAMESPACE": NAMESPACE,
        "FLOOR_STATE_DIR": "/tmp/tradingfloor",
        "DATABASE_URL": None,
        "REDIS_URL": None,
    }
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    assert refs == {
        "DATABASE_URL": {"name": "trading-floor-connections", "key": "DATABASE_URL"},
        "REDIS_URL": {"name": "trading-floor-connections", "key": "REDIS_URL"},
    }
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": 8080, "health": 8081}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]


def test_live_trading_key_reaches_the_operator(helm):
    deploy = one(helm.render("liveTrading=true"), "Deployment", OPERATOR)
    assert _env(deploy["spec"]["template"]["spec"]["containers"][0])["FLOOR_ALLOW_LIVE_TRADING"] == "true"


def test_every_workload_runs_non_root_with_a_read_only_root(rendered):
    for workload in find(rendered, "Deployment") + find(rendered, "StatefulSet"):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, workload["metadata"]["name"]
        assert pod["securityContext"]["runAsUser"] > 0
        for container in pod["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_kubernetes_validate_strict_accepts_every_rendering(helm, tmp_path):
    """Built-in kinds are checked against the Kubernetes 1.34 schemas; only the three Prometheus Operator
    kinds are custom resources it cannot check (they are checked structurally in test_monitoring)."""
    paths = []
    for i, set_args in enumerate(
        [(), EXTERNAL, EXISTING, ("rbac.crdScanning=true", "grafana.dashboards.enabled=false")]
    ):
        path = tmp_path / f"render-{i}.yaml"
        path.write_text(helm.template(*set_args).stdout)
        paths.append(str(path))
    cli = Path(sys.executable).with_name("kubernetes-validate")
    result = subprocess.run(
        [str(cli), "-k", "1.34.0", "--strict", *paths], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = (result.stdout + result.stderr).splitlines()
    problems = [line for line in lines if not line.startswith("INFO") and "passed for resource" not in line]
    unchecked = {
        line.split("for kind ")[1].split(" ")[0]
        for line in problems
        if "Couldn't find schema for kind" in line
    }
    assert unchecked == {"PodMonitor", "PrometheusRule", "ServiceMonitor"}, problems
    assert all("Couldn't find schema for kind" in line for line in problems), problems
    assert sum("passed for resource" in line for line in lines) >= 4 * 10


def test_monitoring_objects_need_the_prometheus_operator_api(helm):
    kinds = {o["kind"] for o in helm.render(monitoring=False)}
    assert not kinds & {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
    assert "Deployment" in kinds


# --- connections: in-chart, external, existing Secret -------------------------------------------------


def test_in_chart_connection_urls_point_at_the_in_chart_services(rendered):
    conn = one(rendered, "Secret", "trading-floor-connections")["stringData"]
    pg_password = one(rendered, "Secret", f"{RELEASE}-trading-floor-postgresql")["stringData"]["password"]
    redis_password = one(rendered, "Secret", f"{RELEASE}-trading-floor-redis")["stringData"]["password"]
    db = urlsplit(conn["DATABASE_URL"])
    assert (db.scheme, db.username, db.password, db.port, db.path) == (
        "postgresql",
        "tradingfloor",
        pg_password,
        5432,
        "/tradingfloor",
    )
    assert db.hostname == f"{RELEASE}-trading-floor-postgresql.{NAMESPACE}.svc"
    redis = urlsplit(conn["REDIS_URL"])
    assert (redis.scheme, redis.password, redis.port, redis.path) == ("redis", redis_password, 6379, "/0")
    assert redis.hostname == f"{RELEASE}-trading-floor-redis.{NAMESPACE}.svc"
    assert len(pg_password) == 32 and len(redis_password) == 32
    service_names = {s["metadata"]["name"] for s in find(rendered, "Service")}
    assert {db.hostname.split(".")[0], redis.hostname.split(".")[0]} <= service_names


def test_given_passwords_are_url_encoded(helm):
    objects = helm.render("postgresql.auth.password=p@ss/w:rd")
    url = one(objects, "Secret", "trading-floor-connections")["stringData"]["DATABASE_URL"]
    assert "p%40ss%2Fw%3Ard@" in url
    assert urlsplit(url).hostname == f"{RELEASE}-trading-floor-postgresql.{NAMESPACE}.svc"


def test_postgresql_statefulset_uses_a_volume_claim_and_its_secret(rendered):
    sts = one(rendered, "StatefulSet", f"{RELEASE}-trading-floor-postgresql")
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "8Gi"
    (container,) = sts["spec"]["template"]["spec"]["containers"]
    assert container["image"].startswith("postgres:")
    password = next(e for e in container["env"] if e["name"] == "POSTGRES_PASSWORD")
    assert password["valueFrom"]["secretKeyRef"] == {
        "name": f"{RELEASE}-trading-floor-postgresql",
        "key": "password",
    }


def test_external_urls_replace_the_in_chart_databases(helm):
    objects = helm.render(*EXTERNAL)
    assert not find(objects, "StatefulSet")
    assert sorted(s["metadata"]["name"] for s in find(objects, "Secret")) == [
        f"{RELEASE}-trading-floor-audit-key",
        "trading-floor-connections",
    ]
    assert one(objects, "Secret", "trading-floor-connections")["stringData"] == {
        "DATABASE_URL": "postgresql://floor:pw@db.example:5432/floor",
        "REDIS_URL": "redis://:pw@cache.example:6379/0",
    }


def test_existing_secret_is_used_and_not_created(helm):
    objects = helm.render(*EXISTING)
    assert [s["metadata"]["name"] for s in find(objects, "Secret")] == [f"{RELEASE}-trading-floor-audit-key"]
    assert not find(objects, "StatefulSet")
    deploy = one(objects, "Deployment", OPERATOR)
    assert (
        _env(deploy["spec"]["template"]["spec"]["containers"][0])["FLOOR_CONNECTION_SECRET"]
        == "my-connections"
    )


@pytest.mark.parametrize(
    "set_args, message",
    [
        (
            ("connections.existingSecret=mine",),
            "connections.existingSecret is set: set postgresql.enabled=false",
        ),
        (("postgresql.enabled=false",), "postgresql.enabled is false: set connections.databaseUrl"),
        (("redis.enabled=false",), "redis.enabled is false: set connections.redisUrl"),
    ],
)
def test_inconsistent_connection_values_fail_with_a_message(helm, set_args, message):
    result = helm.template(*set_args, check=False)
    assert result.returncode != 0
    assert message in result.stderr


# --- values schema ----------------------------------------------------------------------------------

BAD_VALUES = [
    ("replicaCount=2", "/replicaCount"),
    ("image.tag=", "/image/tag"),
    ("agents.image.tag=", "/agents/image/tag"),
    ("unknownKey=1", "additional properties 'unknownKey' not allowed"),
    ("operator.bogus=1", "additional properties 'bogus' not allowed"),
    ("image.pullPolicy=Sometimes", "/image/pullPolicy"),
    ("operator.metricsPort=80", "/operator/metricsPort"),
    ("operator.logLevel=LOUD", "/operator/logLevel"),
    ("alerts.drawdownRatio=1.5", "/alerts/drawdownRatio"),
    ("alerts.heartbeatStaleSeconds=5", "/alerts/heartbeatStaleSeconds"),
    ("alerts.agentDownFor=soon", "/alerts/agentDownFor"),
    ("connections.databaseUrl=mysql://x", "/connections/databaseUrl"),
    ("agents.serviceAccount.name=Not_A_Name", "/agents/serviceAccount/name"),
    ("metrics.prometheusRule.excludeRules={NoSuchAlert}", "/metrics/prometheusRule/excludeRules/0"),
]


@pytest.mark.parametrize("expr, where", BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_schema_rejects_bad_values_in_template_and_lint(helm, expr, where):
    result = helm.template(expr, check=False)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert where in result.stderr
    lint = helm.run("lint", str(CHART), "--set", expr, check=False)
    assert lint.returncode != 0 and where in lint.stdout + lint.stderr


def test_schema_rejects_a_non_boolean_live_trading_flag(helm):
    for flag in ("--set-string", "--set"):
        value = "liveTrading=true" if flag == "--set-string" else "liveTrading=yes"
        result = helm.run("template", RELEASE, str(CHART), flag, value, check=False)
        assert result.returncode != 0
        assert "/liveTrading" in result.stderr and "want boolean" in result.stderr


def test_values_file_documents_every_schema_key():
    schema = yaml.safe_load((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())

    def walk(node: dict, vals: dict, path: str) -> None:
        assert set(vals) <= set(node["properties"]), path
        for key in node.get("required", []):
            assert key in vals, f"{path}.{key} is required by the schema but missing from values.yaml"
        for key, sub in node["properties"].items():
            if key in vals and sub.get("type") == "object" and "properties" in sub:
                walk(sub, vals[key], f"{path}.{key}")

    walk(schema, values, "")


# --- RBAC -------------------------------------------------------------------------------------------


def _rules(objects, kind, name):
    return one(objects, kind, name)["rules"]


def test_rbac_has_no_wildcards(helm):
    for set_args in [(), ("rbac.crdScanning=true",)]:
        objects = helm.render(*set_args)
        for role in find(objects, "Role") + find(objects, "ClusterRole"):
            for rule in role["rules"]:
                for field in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
                    assert "*" not in rule.get(field, []), (role["metadata"]["name"], rule)
                    assert not any("*" in v for v in rule.get(field, [])), (role["metadata"]["name"], rule)


def _grants(rules) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


@pytest.mark.parametrize(
    "kind, plural", [("trader", "traderagents"), ("auditor", "auditors"), ("monitor", "monitors")]
)
def test_each_agent_kind_may_only_read_its_kind_and_patch_its_status(rendered, kind, plural):
    """A trader cannot patch auditors/status or any spec; each kind has its own ServiceAccount."""
    rules = _rules(rendered, "Role", f"{RELEASE}-trading-floor-{kind}")
    floor_rules = [r for r in rules if r["apiGroups"] == ["tradingfloor.dev"]]
    assert _grants(floor_rules) == {
        ("tradingfloor.dev", plural, "get"),
        ("tradingfloor.dev", f"{plural}/status", "patch"),
    }
    others = [r for r in rules if r["apiGroups"] != ["tradingfloor.dev"]]
    if kind == "auditor":  # the exported audit-chain head: that one ConfigMap only
        assert others == [
            {
                "apiGroups": [""],
                "resources": ["configmaps"],
                "resourceNames": [f"{RELEASE}-trading-floor-audit-head"],
                "verbs": ["get", "patch"],
            }
        ]
    else:
        assert others == []
    binding = one(rendered, "RoleBinding", f"{RELEASE}-trading-floor-{kind}")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": f"trading-floor-agent-{kind}", "namespace": NAMESPACE}
    ]


def test_operator_gets_exactly_what_it_uses(rendered):
    grants = _grants(_rules(rendered, "Role", OPERATOR))
    crs = {
        ("tradingfloor.dev", k, v)
        for k in ("traderagents", "auditors", "monitors")
        for v in ("get", "list", "watch", "patch")
    }
    status = {
        ("tradingfloor.dev", f"{k}/status", v)
        for k in ("traderagents", "auditors", "monitors")
        for v in ("get", "patch")
    }
    pods = {("", "pods", v) for v in ("get", "list", "watch", "create", "delete")}
    events = {("", "events", v) for v in ("create", "patch")}
    claims = {("", "persistentvolumeclaims", v) for v in ("get", "create")}  # traders' journal claims
    # secrets/get: the admission check reads the labels of a credentials Secret. Creating Pods that
    # mount Secrets already reaches their data, so this adds no power the operator lacked.
    secrets = {("", "secrets", "get")}
    # secrets/create: each agent's own database login (connections.agentLogins); never update/delete
    secrets.add(("", "secrets", "create"))
    # deployments/get, its own only: the uid of the owner it gives the collector Pods.
    own = {("apps", "deployments", "get")}
    assert grants == crs | status | pods | events | claims | secrets | own | {
        ("tradingfloor.dev", "traderagents", "create")
    }
    (deployments,) = [r for r in _rules(rendered, "Role", OPERATOR) if r["apiGroups"] == ["apps"]]
    assert deployments["resourceNames"] == [OPERATOR]
    # The Floor Boss disables kopf's scanning, so nothing cluster-scoped by default.
    assert not find(rendered, "ClusterRole") and not find(rendered, "ClusterRoleBinding")


def test_crd_scanning_rbac_can_be_turned_on(helm):
    objects = helm.render("rbac.crdScanning=true")
    cluster = _grants(_rules(objects, "ClusterRole", f"{RELEASE}-trading-floor-{NAMESPACE}-operator-crds"))
    assert cluster == {
        ("apiextensions.k8s.io", "customresourcedefinitions", v) for v in ("get", "list", "watch")
    }
    binding = one(objects, "ClusterRoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": OPERATOR, "namespace": NAMESPACE}]


# --- CRDs, examples, the NOTES sample ----------------------------------------------------------------


def test_chart_crds_are_copies_of_the_generated_crds():
    generated = {p.name: p.read_bytes() for p in (REPO / "crds").glob("*.yaml")}
    shipped = {p.name: p.read_bytes() for p in (CHART / "crds").glob("*.yaml")}
    assert len(generated) == 3
    assert shipped.keys() == generated.keys(), (
        "charts/trading-floor/crds/ must hold exactly the files of crds/"
    )
    stale = [name for name in generated if shipped[name] != generated[name]]
    assert not stale, (
        f"charts/trading-floor/crds/ differs from crds/ for {stale}: run `floor crds` (it writes both folders)"
    )


def _crd_schemas() -> dict[str, dict]:
    schemas = {}
    for path in (CHART / "crds").glob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        schemas[crd["spec"]["names"]["kind"]] = load_crd_schema(path)
    return schemas


def test_examples_validate_against_the_chart_crds():
    schemas = _crd_schemas()
    seen = []
    for path in sorted((REPO / "examples").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc:
                continue
            assert doc["apiVersion"] == "tradingfloor.dev/v1alpha1", path
            errors = validate(schemas[doc["kind"]], doc)
            assert errors == [], f"{path.name}: {errors}"
            seen.append(doc["kind"])
    assert sorted(seen) == ["Auditor", "Monitor", "TraderAgent", "TraderAgent", "TraderAgent"]


def test_the_crd_check_rejects_a_bad_manifest():
    """The validator used above is a real check: a wrong mode and an unknown field are refused."""
    schemas = _crd_schemas()
    doc = yaml.safe_load((REPO / "examples" / "momentum-btc.yaml").read_text())
    doc["spec"]["mode"] = "yolo"
    assert any("mode" in e for e in validate(schemas["TraderAgent"], doc))
    doc["spec"]["mode"] = "paper"
    doc["spec"]["leverage"] = 10
    assert any("leverage" in e for e in validate(schemas["TraderAgent"], doc))


def test_notes_print_a_sample_manifest_that_the_crd_accepts(helm, tmp_path):
    notes = (CHART / "templates" / "NOTES.txt").read_text()
    assert 'include "tf.sampleTraderAgent"' in notes and "kubectl apply -f -" in notes
    # `helm template` does not render NOTES.txt; render the same helper through a copy of the chart.
    chart = tmp_path / "trading-floor"
    shutil.copytree(CHART, chart)
    (chart / "templates" / "zz-sample.yaml").write_text('{{ include "tf.sampleTraderAgent" . }}\n')
    (sample,) = helm.render(chart=chart, extra=("--show-only", "templates/zz-sample.yaml"))
    assert sample["kind"] == "TraderAgent" and sample["metadata"]["namespace"] == NAMESPACE
    assert validate(_crd_schemas()["TraderAgent"], sample) == []


def _dashboards(objects):
    return [cm for cm in find(objects, "ConfigMap") if "dashboard" in cm["metadata"]["name"]]


def test_dashboard_configmaps_carry_the_sidecar_label_and_the_json(rendered):
    maps = _dashboards(rendered)
    files = {p.name: p.read_text() for p in (CHART / "dashboards").glob("*.json")}
    assert len(maps) == len(files) == 2
    for cm in maps:
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        ((key, body),) = cm["data"].items()
        assert body.strip() == files[key].strip()


def test_dashboard_label_and_folder_are_configurable(helm):
    objects = helm.render(
        "grafana.dashboards.label=dash",
        "grafana.dashboards.labelValue=yes",
        "grafana.dashboards.annotations.grafana_folder=Trading Floor",
    )
    for cm in _dashboards(objects):
        assert cm["metadata"]["labels"]["dash"] == "yes"
        assert cm["metadata"]["annotations"] == {"grafana_folder": "Trading Floor"}
    assert not _dashboards(helm.render("grafana.dashboards.enabled=false"))
