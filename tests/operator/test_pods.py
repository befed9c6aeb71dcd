"""Pure Pod builder and Pod → Instance mapping."""

from floor_boss.pods import build_pod, label_value, pod_instance, pod_template, template_digest
from floor_boss.settings import BossSettings

AGENT = {
    "apiVersion": "tradingfloor.dev/v1alpha1",
    "kind": "TraderAgent",
    "metadata": {"name": "btc-momo", "namespace": "floor", "uid": "u-1"},
    "spec": {"strategy": "momentum", "mode": "live", "credentialsSecretRef": {"name": "poly-keys"}},
}


def test_pod_is_deterministic_owned_locked_down_and_wired():
    settings = BossSettings(agent_image="agent:1", connection_secret="conn", agent_service_account="agent-sa")
    pod = build_pod(AGENT, "btc-momo-3", settings)
    assert pod == build_pod(AGENT, "btc-momo-3", settings)
    meta, spec = pod["metadata"], pod["spec"]
    assert meta["name"] == "btc-momo-3" and meta["namespace"] == "floor"
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "tradingfloor.dev/v1alpha1",
            "kind": "TraderAgent",
            "name": "btc-momo",
            "uid": "u-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert meta["labels"]["tradingfloor.dev/agent"] == "btc-momo"
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "floor-boss"
    assert spec["restartPolicy"] == "Never" and spec["serviceAccountName"] == "agent-sa-trader"
    assert spec["securityContext"]["runAsNonRoot"] is True
    (c,) = spec["containers"]
    assert c["image"] == "agent:1"
    assert c["command"] == ["floor-agent", "trader", "--resource", "btc-momo", "--namespace", "floor"]
    assert c["ports"] == [{"name": "metrics", "containerPort": 9100, "protocol": "TCP"}]
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    env = {e["name"]: e for e in c["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "conn", "key": "DATABASE_URL"}
    assert c["envFrom"] == [{"secretRef": {"name": "poly-keys"}}]
    assert "value" not in env["REDIS_URL"]  # secrets by reference only


def test_auditor_pod_has_no_trading_credentials():
    auditor = {**AGENT, "kind": "Auditor", "spec": {"credentialsSecretRef": {"name": "poly-keys"}}}
    (c,) = build_pod(auditor, "aud-0", BossSettings())["spec"]["containers"]
    assert c["command"][:2] == ["floor-agent", "auditor"] and "envFrom" not in c


def test_long_names_fit_label_values():
    long = "a" * 100
    assert len(label_value(long)) == 63 and label_value(long) != label_value("a" * 99)


def test_pod_instance_mapping():
    pod = {
        "metadata": {"name": "x-1", "creationTimestamp": "2026-11-22T10:00:00Z"},
        "status": {
            "phase": "Failed",
            "containerStatuses": [{"state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}],
        },
    }
    inst = pod_instance(pod)
    assert (inst.name, inst.state, inst.detail) == ("x-1", "failed", "OOMKilled, exit code 137")
    assert inst.started_at.isoformat() == "2026-11-22T10:00:00+00:00"
    assert pod_instance({"metadata": {"name": "y", "deletionTimestamp": "2026-11-22T10:00:00Z"}}).deleting


async def test_heartbeat_reader_uses_the_shared_key(redis_url):
    import redis.asyncio as aioredis

    from floor_boss.heartbeats import Heartbeats

    beats = Heartbeats(redis_url)
    client = aioredis.from_url(redis_url)
    try:
        assert await beats.last_beat("hb-agent") is None
        await client.set("tf:heartbeat:hb-agent", '{"ts": 1700000000, "pid": 1, "seq": 2}')
        assert (await beats.last_beat("hb-agent")).timestamp() == 1700000000
        await client.set("tf:heartbeat:hb-agent", "garbage")
        assert await beats.last_beat("hb-agent") is None
    finally:
        await client.aclose()
        await beats.close()


def test_floor_wide_live_key_reaches_the_agent_pod():
    from floor_boss.pods import build_pod
    from floor_boss.settings import BossSettings

    resource = {
        "apiVersion": "tradingfloor.dev/v1alpha1",
        "kind": "TraderAgent",
        "metadata": {"name": "a", "namespace": "ns", "uid": "u1"},
        "spec": {
            "strategy": "momentum",
            "market": {"asset": "BTC"},
            "mode": "live",
            "credentialsSecretRef": {"name": "keys"},
        },
    }

    def live_env(settings):
        env = build_pod(resource, "a-0", settings)["spec"]["containers"][0]["env"]
        return next(e["value"] for e in env if e["name"] == "FLOOR_ALLOW_LIVE_TRADING")

    assert live_env(BossSettings()) == "false"
    assert live_env(BossSettings(allow_live_trading=True)) == "true"
    env = build_pod(resource, "a-0", BossSettings(floor_capital="5000"))["spec"]["containers"][0]["env"]
    assert {"name": "FLOOR_CAPITAL", "value": "5000"} in env


def test_journal_on_a_claim_when_the_chart_asks_for_one():
    from floor_boss.pods import journal_claim

    plain = build_pod(AGENT, "btc-momo-0", BossSettings())
    assert {"name": "state", "emptyDir": {}} in plain["spec"]["volumes"]
    settings = BossSettings(journal_storage_size="2Gi", journal_storage_class="fast")
    pod = build_pod(AGENT, "btc-momo-0", settings)
    assert {"name": "state", "persistentVolumeClaim": {"claimName": "btc-momo-journal"}} in pod["spec"][
        "volumes"
    ]
    claim = journal_claim(AGENT, settings)
    assert claim["metadata"]["name"] == "btc-momo-journal"
    assert claim["metadata"]["ownerReferences"][0]["uid"] == "u-1"  # goes with the TraderAgent
    assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert claim["spec"]["storageClassName"] == "fast"


def test_market_endpoints_reach_the_agent_pod():
    pod = build_pod(AGENT, "btc-momo-0", BossSettings(market_env={"POLYMARKET_CLOB_URL": "http://sim:1"}))
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["POLYMARKET_CLOB_URL"] == "http://sim:1"


def test_a_stuck_pull_is_read_from_the_container_status():
    pod = {
        "metadata": {"name": "btc-momo-0"},
        "status": {
            "phase": "Pending",
            "containerStatuses": [{"state": {"waiting": {"reason": "ErrImagePull"}}}],
        },
    }
    inst = pod_instance(pod)
    assert inst.state == "pending" and inst.waiting == "ErrImagePull"
    oom = {
        "metadata": {"name": "btc-momo-0"},
        "status": {
            "phase": "Failed",
            "containerStatuses": [{"state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}],
        },
    }
    assert pod_instance(oom).detail == "OOMKilled, exit code 137"


def test_collector_backoff_and_series():
    from floor_boss.collectors import CollectorBook, Running, Series, series_needed

    needed = series_needed(
        [
            {"strategy": "momentum", "market": {"asset": "BTC"}},
            {"strategy": "momentum", "market": {"asset": "BTC"}, "params": {"thresholdBps": 60}},
            {"strategy": "momentum", "market": {"asset": "ETH", "interval": "5m"}, "lifecycle": "Paused"},
            {"strategy": "nonsense"},  # invalid: needs nothing
        ]
    )
    btc = Series("BTC", "15m")
    assert needed == {btc} and btc.pod_name == "collector-btc-15m"
    book = CollectorBook()
    assert book.plan(needed, {}, now=0).start == (btc,)
    failed = book.plan(needed, {btc: Running("failed", 0.0)}, now=10)
    assert failed.stop == (btc,) and failed.retry_in == 1.0
    assert book.plan(needed, {}, now=10.5).start == ()  # still backing off
    assert book.plan(needed, {}, now=11).start == (btc,)
    again = book.plan(needed, {btc: Running("failed", 11.0)}, now=12)
    assert again.retry_in == 2.0  # the second failure in a row waits twice as long
    assert book.plan(set(), {btc: Running("running", 20.0)}, now=21).stop == (btc,)  # no longer needed


def test_a_pod_records_the_generation_and_template_it_was_built_from():
    settings = BossSettings(agent_image="agent:1")
    agent = {**AGENT, "metadata": {**AGENT["metadata"], "generation": 4}}
    pod = build_pod(agent, "btc-momo-0", settings)
    inst = pod_instance(pod)
    assert inst.generation == 4 and inst.template == pod_template(agent, settings)
    # the template is the Pod's spec: not its name, not the strategy's params (read from the API)
    assert pod_template(agent, settings) == template_digest(build_pod(agent, "btc-momo-9", settings)["spec"])
    edited = {**agent, "spec": {**agent["spec"], "params": {"thresholdBps": 80}}}
    assert pod_template(edited, settings) == pod_template(agent, settings)
    # what the Floor Boss puts into the Pod is: the agent image, the environment, the spec's image
    assert pod_template(agent, BossSettings(agent_image="agent:2")) != inst.template
    assert pod_template(agent, BossSettings(agent_image="agent:1", floor_capital="5000")) != inst.template
    own_image = {**agent, "spec": {**agent["spec"], "image": "mine:1"}}
    assert pod_template(own_image, settings) != inst.template
    # a Pod from before these annotations, or one edited by hand, is not judged by them
    pod["metadata"]["annotations"].pop("tradingfloor.dev/pod-template")
    pod["metadata"]["annotations"]["tradingfloor.dev/spec-generation"] = "four"
    assert (pod_instance(pod).generation, pod_instance(pod).template) == (None, None)
