"""The real Floor Boss under kopf against the API emulator."""

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

from tests.operator.conftest import (
    NS,
    active_pods,
    agent,
    apply,
    events,
    live_pods,
    patch,
    running_operator,
    trader,
    wait_for,
)

BASE = f"/apis/tradingfloor.dev/v1alpha1/namespaces/{NS}/traderagents"


def _cond(body, type_):
    return next((c for c in (body.get("status") or {}).get("conditions", []) if c["type"] == type_), {})


async def _set_pod_phase(emu, name, phase):
    await patch(emu, f"/api/v1/namespaces/{NS}/pods/{name}/status", {"status": {"phase": phase}})


async def test_agent_gets_its_pod_and_status(emulator):
    async with running_operator(emulator):
        await apply(emulator, trader("a1"))
        pods = await wait_for(lambda: live_pods(emulator, "a1-"), what="pod a1-0")
        pod = pods["a1-0"]
        assert pod["metadata"]["ownerReferences"][0]["uid"] == agent(emulator, "a1")["metadata"]["uid"]
        assert pod["spec"]["restartPolicy"] == "Never"
        assert pod["spec"]["containers"][0]["command"][:2] == ["floor-agent", "trader"]
        status = await wait_for(lambda: agent(emulator, "a1").get("status", {}).get("podName"), what="status")
        assert status == "a1-0"
        body = agent(emulator, "a1")
        assert body["status"]["observedGeneration"] == 1 and body["status"]["stage"] == "Testing"


async def test_failed_pod_is_recreated_after_backoff_and_budget_runs_out(emulator):
    policy = {"maxRestartsPerHour": 2, "backoffBaseSeconds": 1, "backoffCapSeconds": 2}
    async with running_operator(emulator):
        await apply(emulator, trader("a2", restartPolicy=policy))
        await wait_for(lambda: "a2-0" in live_pods(emulator), what="a2-0")
        await _set_pod_phase(emulator, "a2-0", "Failed")
        failed_at = time.monotonic()
        await wait_for(lambda: "a2-1" in live_pods(emulator), what="restart a2-1")
        assert time.monotonic() - failed_at >= 0.9  # backoff of 1 s (cap 2 s)
        await wait_for(
            lambda: agent(emulator, "a2")["status"]["restarts"]["total"] == 1, what="restart counted"
        )
        assert "a2-0" in live_pods(emulator)  # the failed Pod stays for `kubectl logs` …
        await _set_pod_phase(emulator, "a2-1", "Running")
        await wait_for(lambda: "a2-0" not in live_pods(emulator), what="a2-0 gone")  # … until a2-1 runs
        assert events(emulator, "BackOff") and events(emulator, "Restarted")

        await _set_pod_phase(emulator, "a2-1", "Failed")
        failed_at = time.monotonic()
        await wait_for(lambda: "a2-2" in live_pods(emulator), what="restart a2-2")
        assert time.monotonic() - failed_at >= 1.9  # second failure in a row: 2 s

        await _set_pod_phase(emulator, "a2-2", "Failed")  # third failure, budget of 2 per hour spent
        await wait_for(
            lambda: _cond(agent(emulator, "a2"), "RestartBudgetExhausted").get("status") == "True",
            what="RestartBudgetExhausted",
        )
        await wait_for(lambda: not active_pods(emulator, "a2-"), what="a2 left down")
        await asyncio.sleep(2.5)  # longer than any backoff: still down
        assert not active_pods(emulator, "a2-") and agent(emulator, "a2")["status"]["phase"] == "Failed"
        assert list(live_pods(emulator, "a2-")) == ["a2-2"]  # the last failed Pod, kept for its logs
        assert events(emulator, "RestartBudgetExhausted")


async def test_eleventh_failure_within_an_hour_exhausts_default_budget(emulator):
    async with running_operator(emulator):
        await apply(emulator, trader("a3", restartPolicy={"backoffBaseSeconds": 1, "backoffCapSeconds": 1}))
        for attempt in range(11):
            name = f"a3-{attempt}"
            await wait_for(lambda name=name: name in live_pods(emulator), timeout=10, what=name)
            await _set_pod_phase(emulator, name, "Failed")
        await wait_for(
            lambda: _cond(agent(emulator, "a3"), "RestartBudgetExhausted").get("status") == "True",
            what="budget exhausted",
        )
        assert agent(emulator, "a3")["status"]["restarts"]["total"] == 10
        assert len(events(emulator, "RestartBudgetExhausted")) == 1
        await asyncio.sleep(1.5)
        assert not active_pods(emulator, "a3-")


async def test_stale_heartbeat_restarts_a_running_agent(emulator, redis_url):
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    try:
        async with running_operator(emulator, redis_url=redis_url):
            await apply(emulator, trader("a4"))
            await wait_for(lambda: "a4-0" in live_pods(emulator), what="a4-0")
            stale = (datetime.now(UTC) - timedelta(seconds=60)).timestamp()
            await client.set("tf:heartbeat:a4", json.dumps({"ts": stale, "pid": 7, "seq": 3}), ex=600)
            # Started 60 s ago as far as the operator knows: three 3-second windows are long gone.
            await patch(
                emulator,
                f"/api/v1/namespaces/{NS}/pods/a4-0/status",
                {"status": {"phase": "Running", "startTime": "2000-01-01T00:00:00Z"}},
            )
            # The newest sign of life is the Pod's creation: 3 windows of 3 s after it, it restarts.
            await wait_for(lambda: "a4-1" in live_pods(emulator), timeout=15, what="heartbeat restart")
            assert "a4-0" not in live_pods(emulator)
            assert [e for e in events(emulator, "BackOff") if "heartbeat" in e["message"]]
    finally:
        await client.aclose()


async def test_paused_deletes_the_pod_and_keeps_the_resource(emulator):
    async with running_operator(emulator):
        await apply(emulator, trader("a5"))
        await wait_for(lambda: "a5-0" in live_pods(emulator), what="a5-0")
        await patch(emulator, f"{BASE}/a5", {"spec": {"lifecycle": "Paused"}})
        await wait_for(lambda: not live_pods(emulator, "a5-"), what="pod deleted")
        await wait_for(lambda: agent(emulator, "a5")["status"]["phase"] == "Paused", what="phase Paused")
        assert _cond(agent(emulator, "a5"), "Paused")["status"] == "True"


async def test_an_edited_spec_replaces_the_pod_with_one_for_the_new_generation(emulator):
    """An agent reads its spec when it starts: after `kubectl apply` of new params the Floor Boss
    deletes the Pod and creates it again for the new generation, without counting a restart."""
    generation = "tradingfloor.dev/spec-generation"
    async with running_operator(emulator):
        await apply(emulator, trader("a6"))
        pods = await wait_for(lambda: live_pods(emulator, "a6-"), what="a6-0")
        assert pods["a6-0"]["metadata"]["annotations"][generation] == "1"
        await _set_pod_phase(emulator, "a6-0", "Running")
        await patch(emulator, f"{BASE}/a6", {"spec": {"params": {"thresholdBps": 80}}})

        def pod_generation():
            pod = live_pods(emulator, "a6-").get("a6-0") or {}
            return (pod.get("metadata", {}).get("annotations") or {}).get(generation)

        await wait_for(lambda: pod_generation() == "2", what="a6-0 created again for generation 2")
        said = [e for e in events(emulator, "SpecChanged") if e["involvedObject"]["name"] == "a6"]
        assert said and "a6-0 runs generation 1, the spec is at 2" in said[0]["message"]
        assert agent(emulator, "a6")["status"]["restarts"]["total"] == 0


def _performance(trades, wins, **extra):
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {
        "performance": {
            "reportedAt": now,
            "trades": trades,
            "wins": wins,
            "losses": trades - wins,
            "winRate": f"{wins / trades:.4f}",
            **extra,
        }
    }


async def test_winner_is_cloned_and_loser_retired(emulator):
    async with running_operator(
        emulator, policy_overrides={"clone_after_seconds": 0, "retire_after_seconds": 0}
    ):
        await apply(emulator, trader("win"))
        await apply(emulator, trader("lose", strategy="meanReversion", params={}))
        await wait_for(lambda: {"win-0", "lose-0"} <= set(live_pods(emulator)), what="pods")
        await patch(emulator, f"{BASE}/win/status", {"status": _performance(10, 7)})  # a streak, not evidence
        await patch(emulator, f"{BASE}/lose/status", {"status": _performance(300, 90)})
        await wait_for(lambda: agent(emulator, "lose")["spec"]["lifecycle"] == "Retired", what="retired")
        await wait_for(lambda: agent(emulator, "lose")["status"]["phase"] == "Retired", what="phase Retired")
        await wait_for(lambda: not live_pods(emulator, "lose-"), what="loser's pod gone")
        clones = [
            n for (res, _, n) in emulator.objects if res.plural == "traderagents" and n.startswith("win-g")
        ]
        assert not clones

        await patch(emulator, f"{BASE}/win/status", {"status": _performance(300, 210)})
        clone_name = await wait_for(
            lambda: next(
                (
                    n
                    for (res, _, n) in list(emulator.objects)
                    if res.plural == "traderagents" and n.startswith("win-g1-")
                ),
                None,
            ),
            what="clone",
        )
        clone = agent(emulator, clone_name)
        assert clone["spec"]["lineage"] == {
            "parent": "win",
            "generation": 1,
            "variation": "lookbackSeconds=330",
        }
        assert clone["spec"]["params"] == {"thresholdBps": 50, "lookbackSeconds": 330}
        assert clone["metadata"]["labels"]["tradingfloor.dev/parent"] == "win"
        assert not clone["metadata"].get("ownerReferences")
        await wait_for(lambda: f"{clone_name}-0" in live_pods(emulator), what="clone's pod")
        assert events(emulator, "Cloned") and events(emulator, "Retired")


async def test_operator_restart_creates_no_duplicate_pods(emulator):
    async with running_operator(emulator):
        for i in range(3):
            await apply(emulator, trader(f"r{i}"))
        await wait_for(lambda: len(live_pods(emulator, "r")) == 3, what="three pods")
    before = {name: pod["metadata"]["uid"] for name, pod in live_pods(emulator, "r").items()}
    async with running_operator(emulator):
        await asyncio.sleep(2.5)  # several resync periods
        after = {name: pod["metadata"]["uid"] for name, pod in live_pods(emulator, "r").items()}
    assert sorted(after) == ["r0-0", "r1-0", "r2-0"] and after == before  # same Pods, none recreated


async def test_an_upgraded_floor_boss_moves_its_agents_to_pods_of_the_new_template(emulator):
    """A Floor Boss configured with another agent image (a helm upgrade) starts each agent again in
    a Pod of the new image, without counting a restart; Pods of the same template are left alone."""
    async with running_operator(emulator, agent_image="trading-floor-agent:1"):
        await apply(emulator, trader("u1"))
        await wait_for(lambda: "u1-0" in live_pods(emulator), what="u1-0")
        await _set_pod_phase(emulator, "u1-0", "Running")
    old = live_pods(emulator, "u1-")["u1-0"]
    async with running_operator(emulator, agent_image="trading-floor-agent:2"):

        def image():
            pod = live_pods(emulator, "u1-").get("u1-0")
            return (
                pod
                and pod["metadata"]["uid"] != old["metadata"]["uid"]
                and pod["spec"]["containers"][0]["image"]
            )

        assert await wait_for(image, what="u1-0 in a Pod of the new image") == "trading-floor-agent:2"
        said = [e for e in events(emulator, "TemplateChanged") if e["involvedObject"]["name"] == "u1"]
        assert said and "u1-0 was built from template" in said[0]["message"]
        assert agent(emulator, "u1")["status"]["restarts"]["total"] == 0


async def test_an_upgrade_moves_one_agent_at_a_time(emulator):
    policy = {"template_roll_interval_seconds": 2.0}
    async with running_operator(emulator, agent_image="trading-floor-agent:1", policy_overrides=policy):
        for name in ("w1", "w2"):
            await apply(emulator, trader(name))
        await wait_for(lambda: {"w1-0", "w2-0"} <= set(live_pods(emulator, "w")), what="w1-0 and w2-0")
    old = {name: pod["metadata"]["uid"] for name, pod in live_pods(emulator, "w").items()}
    moved: dict[str, float] = {}
    async with running_operator(emulator, agent_image="trading-floor-agent:2", policy_overrides=policy):

        def both_moved():
            for name, pod in live_pods(emulator, "w").items():
                if pod["metadata"]["uid"] != old.get(name) and name not in moved:
                    moved[name] = time.monotonic()
            return len(moved) == 2

        await wait_for(both_moved, timeout=20, what="w1-0 and w2-0 in Pods of the new image")
    first, second = sorted(moved.values())
    assert second - first >= 1.5, moved  # one agent per 2 s interval (polling blurs it by 0.1 s)


async def test_malformed_resource_gets_a_condition_not_a_crash(emulator):
    async with running_operator(emulator):
        await apply(emulator, trader("bad", params={"thresholdBps": "many"}))
        await apply(emulator, trader("good"))
        await wait_for(lambda: "good-0" in live_pods(emulator), what="good pod")
        cond = await wait_for(
            lambda: (
                _cond(agent(emulator, "bad"), "Ready").get("reason") == "InvalidSpec"
                and _cond(agent(emulator, "bad"), "Ready")
            ),
            what="InvalidSpec",
        )
        assert "thresholdBps" in cond["message"] and not live_pods(emulator, "bad-")
