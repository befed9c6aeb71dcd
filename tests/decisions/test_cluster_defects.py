"""Decision-core rules behind the cluster defects: a name held by a terminating instance is not
reused, the last failed instance stays until its successor runs, stuck image pulls and OOM kills
are surfaced, and floor signals / the database probe have one definition."""

from __future__ import annotations

from tests.decisions.decision_builders import T0, at, observe, running
from tradingfloor.decisions import (
    Instance,
    ProbeStreak,
    StartInstance,
    StopInstance,
    decide,
    floor_signals,
    open_breakers,
)
from tradingfloor.models.trader_agent import TraderAgentSpec, TraderAgentStatus
from tradingfloor.structs import parse


def _cond(plan, type_):
    return next(c for c in plan.status["conditions"] if c["type"] == type_)


def test_a_name_held_by_a_terminating_instance_is_not_reused(policy):
    status = decide(observe(), policy, T0).status  # podName btc-momo-0
    terminating = Instance("btc-momo-0", "running", started_at=T0, deleting=True)
    plan = decide(observe(status=status, instances=(terminating,)), policy, at(5))
    assert not plan.of(StartInstance) and not plan.events  # no "Started" for a create that cannot succeed
    assert plan.requeue_after == 1.0  # a calm retry, not a hot loop
    gone = decide(observe(status=plan.status), policy, at(6))
    assert gone.of(StartInstance) == [StartInstance("btc-momo-0")]


def test_the_failed_instance_stays_until_its_successor_runs(policy):
    status = decide(observe(), policy, T0).status
    failed = Instance("btc-momo-0", "failed", started_at=T0, detail="Error, exit code 1")
    backoff = decide(observe(status=status, instances=(failed,)), policy, at(10))
    assert not backoff.of(StopInstance)
    restart = decide(observe(status=backoff.status, instances=(failed,)), policy, at(12))
    assert restart.of(StartInstance) == [StartInstance("btc-momo-1")] and not restart.of(StopInstance)
    pending = Instance("btc-momo-1", "pending", started_at=at(12))
    waiting = decide(observe(status=restart.status, instances=(failed, pending)), policy, at(13))
    assert not waiting.of(StopInstance)  # successor not running yet: logs of btc-momo-0 still readable
    runs = decide(
        observe(status=restart.status, instances=(failed, running("btc-momo-1", at(13)))), policy, at(14)
    )
    assert runs.of(StopInstance) == [StopInstance("btc-momo-0", "ended instance of an earlier attempt")]


def test_exhausted_budget_keeps_the_last_failed_instance(policy):
    status = decide(observe(), policy, T0).status
    status["conditions"] = [c for c in status["conditions"] if c["type"] != "RestartBudgetExhausted"]
    status["conditions"].append(
        {
            "type": "RestartBudgetExhausted",
            "status": "True",
            "reason": "RestartBudgetExhausted",
            "lastTransitionTime": T0.isoformat(),
            "observedGeneration": 1,
        }
    )
    failed = Instance("btc-momo-0", "failed", started_at=T0)
    plan = decide(observe(status=status, instances=(failed,)), policy, at(5))
    assert not plan.of(StopInstance) and plan.status["phase"] == "Failed"


def test_image_pull_backoff_is_surfaced_once(policy):
    status = decide(observe(), policy, T0).status
    stuck = Instance("btc-momo-0", "pending", started_at=T0, waiting="ImagePullBackOff")
    plan = decide(observe(status=status, instances=(stuck,)), policy, at(5))
    assert _cond(plan, "Ready")["reason"] == "ImagePullBackOff"
    assert _cond(plan, "Degraded")["status"] == "True"
    assert [e.reason for e in plan.events] == ["ImagePullBackOff"]
    again = decide(observe(status=plan.status, instances=(stuck,)), policy, at(6))
    assert not again.events  # no Event storm while it stays stuck


def test_oom_kill_gets_its_own_event(policy):
    status = decide(observe(), policy, T0).status
    killed = Instance("btc-momo-0", "failed", started_at=T0, detail="OOMKilled, exit code 137")
    plan = decide(observe(status=status, instances=(killed,)), policy, at(5))
    assert [e.reason for e in plan.events] == ["OOMKilled", "BackOff"]
    assert "OOMKilled" in _cond(plan, "Ready")["message"]


def _trader(capital: str | None, lifecycle: str, daily: str | None):
    spec = {"strategy": "momentum", "market": {"asset": "BTC"}, "lifecycle": lifecycle}
    if capital is not None:
        spec["risk"] = {"capital": capital}
    status = parse(TraderAgentStatus, {"performance": {"dailyPnl": daily}} if daily else {})
    return parse(TraderAgentSpec, spec), status


def test_floor_signals_have_one_definition(policy):
    signals = floor_signals(
        [
            _trader(None, "Active", "-70"),  # capital defaults to the model's 1000
            _trader("500", "Paused", "-20"),  # a paused trader still holds today's loss
            _trader("9000", "Retired", "-900"),  # off the floor
        ],
        database_reachable=True,
    )
    assert (signals.capital, signals.daily_pnl) == (1500.0, -90.0)
    assert open_breakers(signals, policy) == ("DailyLoss",)  # 90 ≥ 5 % of 1500


def test_database_breaker_needs_consecutive_failures(policy):
    streak = ProbeStreak(policy.database_failures_to_open)
    assert [streak.record(ok) for ok in (False, False, True, False, False)] == [True] * 5
    assert streak.record(False) is False  # third failure in a row
    assert streak.record(None) is None and streak.record(True) is True
