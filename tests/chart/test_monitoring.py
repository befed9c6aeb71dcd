"""Observability assets: Prometheus alerts (promtool check + promtool unit tests), runbooks, scrape
objects, Grafana dashboards, and that every metric they query is one the code exports."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

import tradingfloor.observability.metrics as exported
from tests.chart.conftest import CHART, NAMESPACE, RELEASE, REPO, one

ALERTS = {
    "AgentDown",
    "HeartbeatStale",
    "RestartBudgetExhausted",
    "DrawdownHigh",
    "CircuitBreakerOpen",
    "FloorBossDown",
}
RUNBOOK_BASE = "https://github.com/trading-floor/trading-floor/blob/main/docs/runbooks"
OPERATOR_JOB = f"{RELEASE}-trading-floor-operator"
AGENT_JOB = "trading-floor-agent"
PROMETHEUS_BUILTINS = {"up"}  # series Prometheus itself writes for every target
DASHBOARDS = sorted((CHART / "dashboards").glob("*.json"))


# --- what the code exports, and what an expression uses -------------------------------------------------


def exported_series() -> set[str]:
    """Every series name the floor's metrics module can produce, suffixes included."""
    names = set()
    for value in vars(exported).values():
        if not isinstance(value, MetricWrapperBase):
            continue
        base, kind = value._name, value._type
        if kind == "counter":
            names |= {f"{base}_total", f"{base}_created"}
        elif kind == "histogram":
            names |= {f"{base}_bucket", f"{base}_sum", f"{base}_count", f"{base}_created"}
        elif kind == "summary":
            names |= {base, f"{base}_sum", f"{base}_count", f"{base}_created"}
        else:
            names.add(base)
    return names


_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
}


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (functions, keywords, labels and Grafana variables excluded)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    expr = re.sub(r"\{[^{}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range / subquery selectors
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", "", expr)  # Grafana variables left outside matchers
    names = set()
    for match in re.finditer(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*", expr):
        if expr[match.end() :].lstrip().startswith("("):
            continue  # a function or aggregation
        if match.group().lower() not in _KEYWORDS:
            names.add(match.group())
    return names


def grafana_query_metrics(query: str) -> set[str]:
    """Metric names in a Grafana Prometheus variable query (label_values(metric, label) or PromQL)."""
    match = re.fullmatch(r"\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*", query)
    return metric_names(match.group(1)) if match else metric_names(query)


@pytest.mark.parametrize(
    "expr, expected",
    [
        ('sum by (agent) (rate(foo_total{job="x", a=~"$agent"}[$__rate_interval])) * 60', {"foo_total"}),
        ("histogram_quantile(0.99, sum by (le) (rate(lat_seconds_bucket[5m])))", {"lat_seconds_bucket"}),
        ('time() - hb_seconds{namespace="$namespace"} > 120', {"hb_seconds"}),
        ('up == 0 or on() (absent(up{job="j"}) and on() sum(m{phase!~"A|B"}) > 0)', {"up", "m"}),
        ("sum(x) or vector(0)", {"x"}),
        ("a / ignoring(kind) group_left b offset 5m", {"a", "b"}),
    ],
)
def test_metric_name_extraction(expr, expected):
    assert metric_names(expr) == expected


def test_exported_series_include_suffixes():
    names = exported_series()
    assert {
        "tradingfloor_orders_total",
        "tradingfloor_pnl_usd",
        "tradingfloor_decision_latency_seconds_bucket",
        "floorboss_restart_budget_exhausted",
        "floorboss_circuit_breaker_open",
    } <= names
    assert "tradingfloor_orders" not in names


# --- alerts ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rule(rendered):
    return one(rendered, "PrometheusRule")


@pytest.fixture(scope="module")
def alert_rules(rule) -> dict[str, dict]:
    (group,) = rule["spec"]["groups"]
    return {r["alert"]: r for r in group["rules"]}


def test_every_alert_is_shipped_once(alert_rules):
    assert set(alert_rules) == ALERTS
    assert {p.stem for p in (CHART / "rules").glob("*.yaml")} == ALERTS


def test_alerts_have_severity_summary_description_and_runbook(alert_rules):
    for name, r in alert_rules.items():
        assert r["labels"]["severity"] in ("critical", "warning"), name
        assert r["annotations"]["summary"].strip() and r["annotations"]["description"].strip(), name
        assert r["annotations"]["runbook_url"] == f"{RUNBOOK_BASE}/{name}.md"
        assert re.fullmatch(r"\d+[smh]", r["for"]), name


def test_every_runbook_exists_and_covers_its_alert(alert_rules):
    runbooks = {p.stem for p in (REPO / "docs" / "runbooks").glob("*.md")}
    assert runbooks == ALERTS, "one runbook per alert, named <AlertName>.md"
    for name, r in alert_rules.items():
        path = REPO / "docs" / "runbooks" / f"{name}.md"
        assert r["annotations"]["runbook_url"].endswith("/" + path.relative_to(REPO).as_posix())
        text = path.read_text()
        assert text.startswith(f"# {name}\n"), path
        for section in ("## Meaning", "## Impact", "## Diagnosis", "## Mitigation"):
            assert section in text, f"{path.name} lacks {section}"


def test_alert_thresholds_come_from_values(helm):
    # --set keeps 0.35 a string (helm only converts integers); --set-json gives the schema a number.
    objects = helm.render(
        "alerts.heartbeatStaleSeconds=300",
        "alerts.agentDownFor=10m",
        "metrics.prometheusRule.excludeRules={CircuitBreakerOpen}",
        "metrics.prometheusRule.additionalLabels.release=kps",
        extra=("--set-json", "alerts.drawdownRatio=0.35"),
    )
    rule = one(objects, "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kps"
    rules = {r["alert"]: r for r in rule["spec"]["groups"][0]["rules"]}
    assert set(rules) == ALERTS - {"CircuitBreakerOpen"}
    assert rules["DrawdownHigh"]["expr"].endswith("> 0.35")
    assert rules["HeartbeatStale"]["expr"].endswith("> 300")
    assert rules["AgentDown"]["for"] == "10m"


def test_alerts_query_only_exported_metrics(alert_rules):
    known = exported_series() | PROMETHEUS_BUILTINS
    for name, r in alert_rules.items():
        used = metric_names(r["expr"])
        assert used, name
        assert used <= known, (
            f"{name} queries {used - known}, which tradingfloor/observability/metrics.py does not export"
        )


def _write_rules(path: Path, spec: dict) -> Path:
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_promtool_check_rules(rule, promtool, tmp_path):
    result = subprocess.run(
        [promtool, "check", "rules", str(_write_rules(tmp_path / "rules.yaml", rule["spec"]))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout


def _series(name: str, values: str, **labels: str) -> dict:
    body = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{body}}}", "values": values}


def _alert(alertname: str, eval_time: str, *label_sets: dict) -> dict:
    return {
        "eval_time": eval_time,
        "alertname": alertname,
        "exp_alerts": [{"exp_labels": labels} for labels in label_sets],
    }


def test_promtool_unit_tests_fire_each_alert(rule, promtool, tmp_path):
    """Real Prometheus rule evaluation: each alert fires for the bad series, not for the healthy ones,
    and not before its `for:` has passed. (Annotations are checked by `promtool check rules`; they are
    stripped here so the expected alerts only name labels.)"""
    spec = json.loads(json.dumps(rule["spec"]))
    for r in spec["groups"][0]["rules"]:
        r.pop("annotations")
    _write_rules(tmp_path / "rules.yaml", spec)
    ns = {"namespace": NAMESPACE}
    agent_a = {
        "job": AGENT_JOB,
        **ns,
        "agent": "momentum-btc",
        "agent_kind": "TraderAgent",
        "pod": "momentum-btc",
    }
    agent_b = {
        "job": AGENT_JOB,
        **ns,
        "agent": "volume-spike-eth",
        "agent_kind": "TraderAgent",
        "pod": "volume-spike-eth",
    }
    boss = {"job": OPERATOR_JOB, **ns}
    tests = [
        {  # a target that stops answering; the other stays up
            "interval": "1m",
            "input_series": [_series("up", "1 1 0x12", **agent_a), _series("up", "1x14", **agent_b)],
            "alert_rule_test": [
                _alert("AgentDown", "5m"),
                _alert("AgentDown", "10m", {"severity": "critical", **agent_a}),
            ],
        },
        {  # no agent target at all although the Floor Boss manages active agents
            "interval": "1m",
            "input_series": [
                _series("floorboss_managed_agents", "3x10", **boss, kind="TraderAgent", phase="Running")
            ],
            "alert_rule_test": [_alert("AgentDown", "8m", {"severity": "critical", "job": AGENT_JOB, **ns})],
        },
        {  # ... but Retired, Paused or Failed agents have no Pods (Failed is RestartBudgetExhausted's job)
            "interval": "1m",
            "input_series": [
                _series("floorboss_managed_agents", "3x10", **boss, kind="TraderAgent", phase=phase)
                for phase in ("Retired", "Paused", "Failed")
            ],
            "alert_rule_test": [_alert("AgentDown", "8m")],
        },
        {  # a heartbeat frozen at t=0 while the other agent keeps beating every minute
            "interval": "1m",
            "input_series": [
                _series("tradingfloor_heartbeat_timestamp_seconds", "0x10", **agent_a),
                _series("tradingfloor_heartbeat_timestamp_seconds", "0+60x10", **agent_b),
            ],
            "alert_rule_test": [
                _alert("HeartbeatStale", "2m"),
                _alert("HeartbeatStale", "5m", {"severity": "warning", **agent_a}),
            ],
        },
        {
            "interval": "1m",
            "input_series": [
                _series(
                    "floorboss_restart_budget_exhausted",
                    "0 0 1x8",
                    **boss,
                    kind="TraderAgent",
                    agent="momentum-btc",
                ),
                _series(
                    "floorboss_restart_budget_exhausted", "0x10", **boss, kind="Auditor", agent="auditor"
                ),
            ],
            "alert_rule_test": [
                _alert(
                    "RestartBudgetExhausted",
                    "6m",
                    {"severity": "critical", **boss, "kind": "TraderAgent", "agent": "momentum-btc"},
                )
            ],
        },
        {
            "interval": "1m",
            "input_series": [
                _series("tradingfloor_drawdown_ratio", "0.25x10", **agent_a),
                _series("tradingfloor_drawdown_ratio", "0.1x10", **agent_b),
            ],
            "alert_rule_test": [
                _alert("DrawdownHigh", "3m"),
                _alert("DrawdownHigh", "8m", {"severity": "warning", **agent_a}),
            ],
        },
        {
            "interval": "1m",
            "input_series": [
                _series("floorboss_circuit_breaker_open", "1x10", **boss, breaker="DailyLoss"),
                _series("floorboss_circuit_breaker_open", "0x10", **boss, breaker="ApiErrorRate"),
            ],
            "alert_rule_test": [
                _alert("CircuitBreakerOpen", "5m", {"severity": "critical", **boss, "breaker": "DailyLoss"})
            ],
        },
        {
            "interval": "1m",
            "input_series": [_series("up", "1 0x10", **boss)],
            "alert_rule_test": [_alert("FloorBossDown", "8m", {"severity": "critical", **boss})],
        },
        {  # the operator was never scraped at all
            "interval": "1m",
            "input_series": [_series("up", "1x10", **agent_a)],
            "alert_rule_test": [_alert("FloorBossDown", "8m", {"severity": "critical", **boss})],
        },
    ]
    tested = {t["alertname"] for group in tests for t in group["alert_rule_test"]}
    assert tested == ALERTS
    unit = tmp_path / "unit.yaml"
    unit.write_text(
        yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests})
    )
    result = subprocess.run(
        [promtool, "test", "rules", str(unit)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


# --- scrape objects -----------------------------------------------------------------------------------


def test_service_monitor_scrapes_the_operator_metrics_port(rendered):
    monitor = one(rendered, "ServiceMonitor")
    service = one(rendered, "Service", OPERATOR_JOB)
    labels = service["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("metrics", "/metrics")
    (port,) = service["spec"]["ports"]
    assert port["name"] == "metrics" and port["targetPort"] == "metrics"
    deploy = one(rendered, "Deployment", OPERATOR_JOB)
    assert service["spec"]["selector"].items() <= deploy["spec"]["template"]["metadata"]["labels"].items()
    container_ports = {p["name"] for p in deploy["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert "metrics" in container_ports
    # FloorBossDown looks for the job Prometheus derives from the Service name.
    rules = {r["alert"]: r for r in one(rendered, "PrometheusRule")["spec"]["groups"][0]["rules"]}
    assert f'job="{OPERATOR_JOB}"' in rules["FloorBossDown"]["expr"]


def test_pod_monitor_selects_the_agent_pods_the_operator_creates(rendered):
    from floor_boss.pods import METRICS_PORT, agent_labels

    monitor = one(rendered, "PodMonitor", f"{RELEASE}-trading-floor-agents")
    for kind in ("TraderAgent", "Auditor", "Monitor"):
        assert monitor["spec"]["selector"]["matchLabels"].items() <= agent_labels(kind, "x").items(), kind
    agent_pod_labels = agent_labels("TraderAgent", "momentum-btc")
    assert METRICS_PORT == 9100
    # job = the value of the Pod label named by jobLabel: what AgentDown filters on.
    assert agent_pod_labels[monitor["spec"]["jobLabel"]] == AGENT_JOB
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("metrics", "/metrics")
    relabel = {r["targetLabel"]: r["sourceLabels"] for r in endpoint["relabelings"]}

    def meta(label: str) -> str:  # how Prometheus names a Pod label in service discovery
        return "__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", label)

    assert relabel == {
        "agent": [meta("tradingfloor.dev/agent")],
        "agent_kind": [meta("tradingfloor.dev/kind")],
    }


def test_pod_monitor_selects_the_collector_pods_the_operator_creates(rendered):
    from floor_boss.collectors import Series, collector_pod
    from floor_boss.settings import BossSettings

    monitor = one(rendered, "PodMonitor", f"{RELEASE}-trading-floor-collectors")
    pod = collector_pod(Series("BTC", "15m"), NAMESPACE, BossSettings())
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] in {p["name"] for p in pod["spec"]["containers"][0]["ports"]}


# --- dashboards ----------------------------------------------------------------------------------------


def _dashboards() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in DASHBOARDS}


def _panels(dashboard: dict):
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def _exprs(dashboard: dict) -> list[str]:
    return [t["expr"] for p in _panels(dashboard) for t in p.get("targets", [])]


def test_dashboards_are_valid_json_with_a_datasource_variable():
    dashboards = _dashboards()
    assert {d["uid"] for d in dashboards.values()} == {"trading-floor-overview", "trading-floor-agent"}
    for name, d in dashboards.items():
        assert d["id"] is None and "trading-floor" in d["tags"], name
        assert "__inputs" not in d, "sidecar provisioning does not resolve __inputs"
        variables = {v["name"]: v for v in d["templating"]["list"]}
        assert (
            variables["datasource"]["type"] == "datasource"
            and variables["datasource"]["query"] == "prometheus"
        )
        for v in variables.values():
            if v["type"] == "query":
                assert v["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, (name, v["name"])
        ids = [p["id"] for p in _panels(d)]
        assert len(ids) == len(set(ids)), name
        for panel in _panels(d):
            assert panel["gridPos"]["x"] >= 0 and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, (
                name,
                panel["title"],
            )
            assert panel["targets"], (name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "${datasource}"
        # no hard-coded datasource anywhere
        uids = re.findall(r'"uid":\s*"([^"]*)"', json.dumps(d))
        assert set(uids) == {d["uid"], "${datasource}"}, name


def test_dashboards_query_only_exported_metrics():
    known = exported_series() | PROMETHEUS_BUILTINS
    used_everywhere = set()
    for name, d in _dashboards().items():
        for expr in _exprs(d):
            used = metric_names(expr)
            assert used, f"{name}: no metric in {expr!r}"
            assert used <= known, (
                f"{name}: {expr!r} queries {used - known}, not exported by tradingfloor/observability/metrics.py"
            )
            used_everywhere |= used
        for v in d["templating"]["list"]:
            if v["type"] == "query":
                used = grafana_query_metrics(v["query"]["query"])
                assert used and used <= known, (name, v["name"], used - known)
    assert len(used_everywhere) >= 20


def _series_owner() -> dict[str, str]:
    """Series name (suffixes included) → the variable in tradingfloor/observability/metrics.py."""
    owner = {}
    for var, value in vars(exported).items():
        if isinstance(value, MetricWrapperBase):
            for suffix in ("", "_total", "_created", "_bucket", "_sum", "_count"):
                owner[f"{value._name}{suffix}"] = var
    return owner


def _is_set_in_code(var: str, sources: str) -> bool:
    """Some code outside metrics.py updates the metric (``VAR.labels(…).inc/set/observe(…)`` or
    ``VAR.inc/set/observe(…)``); declaring it is not enough for a panel to show anything."""
    call = r"\s*\.\s*(?:inc|dec|set|observe)\("
    labels = r"\s*\.\s*labels\((?:[^()]|\([^()]*\))*\)"
    if re.search(rf"\b{var}\b(?:{labels})?{call}", sources):
        return True
    # a child kept in a variable: ``h = VAR.labels(…)`` … ``h.observe(…)``
    return any(
        re.search(rf"\b{re.escape(alias)}{call}", sources)
        for alias in re.findall(rf"(\w+)\s*=\s*{var}{labels}", sources)
    )


def test_every_dashboard_panel_queries_a_metric_the_code_sets():
    owner = _series_owner()
    sources = "\n".join(
        path.read_text()
        for folder in ("tradingfloor", "operator", "agent_image")
        for path in (REPO / folder).rglob("*.py")
        if path.name != "metrics.py" or path.parent.name != "observability"
    )
    unset = set()
    for name, d in _dashboards().items():
        for panel in _panels(d):
            for target in panel.get("targets", []):
                for series in metric_names(target["expr"]) - PROMETHEUS_BUILTINS:
                    if series in owner and not _is_set_in_code(owner[series], sources):
                        unset.add(
                            f"{name}: panel {panel.get('title')!r} queries {series}, which no code sets"
                        )
    assert not unset, "\n".join(sorted(unset))
    # the check itself: a declared-but-never-set metric is caught
    assert not _is_set_in_code("NEVER_SET_METRIC", sources + "\nNEVER_SET_METRIC = Gauge('x', 'y')")
    assert _is_set_in_code("MARKET_FRAMES", "metrics.MARKET_FRAMES.labels(source).inc(3)")


def test_promtool_parses_every_dashboard_expression(promtool, tmp_path):
    """Each panel query, with Grafana's variables filled in, is a valid PromQL recording rule."""
    substitutions = {"$__rate_interval": "5m", "$namespace": NAMESPACE, "$agent": ".*"}
    rules = []
    for d in _dashboards().values():
        for expr in _exprs(d):
            for var, value in substitutions.items():
                expr = expr.replace(var, value)
            assert "$" not in expr, expr
            rules.append({"record": f"dashboard:expr_{len(rules)}:check", "expr": expr})
    path = _write_rules(tmp_path / "dashboards.yaml", {"groups": [{"name": "dashboards", "rules": rules}]})
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_dashboards_fit_in_a_configmap_applied_client_side():
    for path in DASHBOARDS:
        assert path.stat().st_size < 200_000, (
            f"{path.name} is too large for kubectl's last-applied annotation"
        )
