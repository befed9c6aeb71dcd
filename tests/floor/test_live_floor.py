"""The floor running for real: agent OS processes supervised by the shared decision core."""

from __future__ import annotations

import json
import os
import signal
import time

from tradingfloor.persistence import repositories as repo


async def _agent(floor, name):
    return await repo.get_agent(floor.supervisor.store.pool, name)


def _running_pid(floor, agent: str) -> int | None:
    sup = floor.supervisor
    if sup is None:
        return None
    states = sup.processes.poll()
    for instance in sup.instances.get(agent, ()):
        state = states.get(instance)
        if state is not None and state.running:
            return state.pid
    return None


async def test_sigkilled_agent_is_restarted_after_backoff_and_resumes(start_floor, redis_url):
    import redis.asyncio as aioredis

    floor = await start_floor(["momentum-btc.yaml"], pattern="momentum")
    r = aioredis.from_url(redis_url)
    try:

        async def first_heartbeat():
            pid = _running_pid(floor, "momentum-btc")
            beat = await r.get("tf:heartbeat:momentum-btc")
            return pid if pid and beat and json.loads(beat).get("pid") == pid else None

        pid = await floor.wait_for(first_heartbeat, 90, "the trader's first heartbeat")

        async def checkpointed():
            return await repo.load_checkpoint(floor.supervisor.store.pool, "momentum-btc")

        before = await floor.wait_for(checkpointed, 60, "a first checkpoint")
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()

        async def restarted():
            agent = await _agent(floor, "momentum-btc")
            restarts = (agent.status or {}).get("restarts") or {}
            new_pid = _running_pid(floor, "momentum-btc")
            return restarts.get("total") == 1 and new_pid not in (None, pid) and agent

        agent = await floor.wait_for(restarted, 60, "the restart")
        waited = time.monotonic() - killed_at
        assert waited >= 1.0, "restarted before the 1 s backoff"  # policy backoffBaseSeconds = 1
        assert agent.status["podName"] == "momentum-btc-1"

        events = await repo.recent_events(floor.supervisor.store.pool, agent="momentum-btc", limit=20)
        reasons = [e.type for e in events]
        assert "BackOff" in reasons and "Restarted" in reasons
        backoff = next(e for e in events if e.type == "BackOff")
        assert "exit code -9" in backoff.message

        async def resumed():
            log = (floor.state_dir / "logs" / "momentum-btc.log").read_text()
            starts = [
                json.loads(line)
                for line in log.splitlines()
                if line.startswith("{") and '"trader.started"' in line
            ]
            return starts[1] if len(starts) >= 2 else None

        second_start = await floor.wait_for(resumed, 60, "the restarted trader's start line")
        assert second_start["resumed_seq"] >= before.seq  # resumed from the checkpoint, not from zero

        # nothing lost or duplicated: every fill belongs to exactly one order within its size
        orders = await repo.list_orders(floor.supervisor.store.pool, agent="momentum-btc")
        for order in orders:
            fills = await repo.list_fills(floor.supervisor.store.pool, client_order_id=order.client_order_id)
            assert sum(f.size for f in fills) <= order.size
    finally:
        await r.aclose()
        summary = await floor.stop()
    assert [a["name"] for a in summary["agents"]] == ["momentum-btc"]


async def test_momentum_market_clones_the_winner_and_stops_the_contrarian(start_floor):
    """On a simulator with momentum persistence and a short evaluation, the Floor Boss clones the
    momentum agent and pauses or retires the mean-reversion one, each with a recorded reason."""
    from tradingfloor.decisions import FloorPolicy

    policy = FloorPolicy(
        min_trades_clone=6,
        min_trades_retire=6,
        confidence=0.8,
        clone_after_seconds=0,
        retire_after_seconds=0,
        clone_cooldown_seconds=0,
    )

    def trader(name: str, strategy: str) -> dict:
        # Shorter lookback and threshold than the examples so both trade most rounds; the evaluation
        # period is short so the floor judges within minutes.
        return {
            "apiVersion": "tradingfloor.dev/v1alpha1",
            "kind": "TraderAgent",
            "metadata": {"name": name},
            "spec": {
                "strategy": strategy,
                "market": {"asset": "BTC", "interval": "15m"},
                "params": {"lookbackSeconds": 120, "thresholdBps": 15, "maxEntryPrice": "0.90"},
                "risk": {"capital": "1000", "riskPerTradeBps": 200},
                "evaluation": {"testingPeriodHours": 0},
            },
        }

    floor = await start_floor(
        [trader("momentum-btc", "momentum"), trader("mean-reversion-btc", "meanReversion")],
        pattern="momentum",
        speed=150,
        policy=policy,
    )
    try:

        async def decided():
            agents = {a.name: a for a in await floor.supervisor.store.agents()}
            clones = [a for a in agents.values() if a.parent == "momentum-btc"]
            contrarian = agents["mean-reversion-btc"].spec.get("lifecycle")
            return (clones, contrarian) if clones and contrarian in ("Paused", "Retired") else None

        clones, _contrarian = await floor.wait_for(
            decided, 420, "a clone of momentum-btc and a stopped contrarian", interval=1.0
        )
        clone = clones[0]
        assert clone.spec["lineage"]["parent"] == "momentum-btc"
        assert clone.spec["lineage"]["generation"] == 1
        assert clone.spec["lineage"]["variation"]
        parent = await repo.get_agent(floor.supervisor.store.pool, "momentum-btc")
        assert clone.spec["params"] != parent.spec["params"]
        pool = floor.supervisor.store.pool
        cloned = [
            e for e in await repo.recent_events(pool, agent="momentum-btc", limit=200) if e.type == "Cloned"
        ]
        # the floor may clone more than once; each clone has its own Cloned event with its evidence
        assert any(clone.name in e.message and "wins" in e.message for e in cloned), cloned
        stopped = [
            e
            for e in await repo.recent_events(pool, agent="mean-reversion-btc", limit=200)
            if e.type in ("Paused", "Retired")
        ]
        assert stopped and stopped[0].message  # the recorded reason
        status = (await repo.get_agent(pool, "mean-reversion-btc")).status
        assert status["lastDecision"]["action"] in ("pause", "retire")
    finally:
        await floor.stop()
