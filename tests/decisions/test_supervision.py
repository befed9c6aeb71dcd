"""Start, restart after backoff, hourly budget, heartbeats, pause/retire stop the instance."""

from datetime import timedelta

from tests.decisions.decision_builders import T0, at, observe, running, trader_spec
from tradingfloor.decisions import Instance, StartInstance, StopInstance, decide


def _cond(plan, type_):
    return next(c for c in plan.status["conditions"] if c["type"] == type_)


def test_first_pass_starts_attempt_zero(policy):
    plan = decide(observe(), policy, T0)
    assert plan.of(StartInstance) == [StartInstance("btc-momo-0")]
    assert plan.status["podName"] == "btc-momo-0" and plan.status["phase"] == "Pending"
    assert [e.reason for e in plan.events] == ["Started"]


def _fail_and_restart(policy, status, now):
    """Fail the current instance at ``now``; return (status after failure, plan of the failure)."""
    failed = Instance(
        status["podName"], "failed", started_at=now - timedelta(seconds=5), detail="exit code 1"
    )
    plan = decide(observe(status=status, instances=(failed,)), policy, now)
    return plan.status, plan


def test_failures_back_off_exponentially_then_restart(policy):
    status = decide(observe(), policy, T0).status
    now = at(10)
    for expected_delay in (1, 2, 4, 8):
        status, plan = _fail_and_restart(policy, status, now)
        assert not plan.of(StopInstance)  # the failed instance stays until its successor runs
        assert plan.requeue_after == expected_delay
        assert plan.status["phase"] == "BackOff"
        assert [e.reason for e in plan.events] == ["BackOff"]
        # Before the backoff expires nothing starts; at expiry the next attempt starts.
        early = decide(observe(status=status), policy, now + timedelta(seconds=expected_delay * 0.5))
        assert not early.of(StartInstance)
        now = now + timedelta(seconds=expected_delay)
        restart = decide(observe(status=status), policy, now)
        assert restart.of(StartInstance) == [StartInstance(f"btc-momo-{restart.status['restarts']['total']}")]
        assert restart.decisions[0].action == "restart" and restart.decisions[0].reason == "Crashed"
        status = restart.status
    assert status["restarts"]["total"] == 4 and status["restarts"]["consecutiveFailures"] == 4


def test_healthy_stretch_resets_backoff(policy):
    status = decide(observe(), policy, T0).status
    status["restarts"]["consecutiveFailures"] = 6
    plan = decide(observe(status=status, instances=(running("btc-momo-0", T0),)), policy, at(601))
    assert plan.status["restarts"]["consecutiveFailures"] == 0
    assert plan.status["phase"] == "Running"
    # A failure after a long healthy run backs off from the base again.
    status = decide(observe(), policy, T0).status
    status["restarts"]["consecutiveFailures"] = 6
    failed = Instance("btc-momo-0", "failed", started_at=T0)
    assert decide(observe(status=status, instances=(failed,)), policy, at(700)).requeue_after == 1


def test_eleventh_failure_in_an_hour_exhausts_the_budget(policy):
    status = decide(observe(), policy, T0).status
    now = at(1)
    for _ in range(10):
        status, plan = _fail_and_restart(policy, status, now)
        now += timedelta(seconds=plan.requeue_after)
        status = decide(observe(status=status), policy, now).status
    assert status["restarts"]["total"] == 10
    status, plan = _fail_and_restart(policy, status, now)
    assert plan.status["phase"] == "Failed"
    assert _cond(plan, "RestartBudgetExhausted")["status"] == "True"
    assert [e.reason for e in plan.events] == ["RestartBudgetExhausted"]
    assert plan.status["restarts"]["nextRestartAfter"] is None
    # It stays down on later passes…
    later = decide(observe(status=status), policy, now + timedelta(minutes=5))
    assert not later.of(StartInstance) and later.status["phase"] == "Failed"
    # …until its spec changes (a new generation), which resets the budget.
    revived = decide(observe(status=status, generation=2), policy, now + timedelta(minutes=6))
    assert revived.of(StartInstance) and _cond(revived, "RestartBudgetExhausted")["status"] == "False"
    assert revived.status["restarts"]["recent"] == []


def test_restarts_older_than_an_hour_free_the_budget(policy):
    status = decide(observe(), policy, T0).status
    status["restarts"]["recent"] = [(T0 - timedelta(minutes=61)).isoformat()] * 10
    status, plan = _fail_and_restart(policy, status, at(5))
    assert plan.requeue_after == 1 and plan.status["restarts"]["recent"] == []


def test_three_missed_heartbeats_restart_a_running_agent(policy):
    status = decide(observe(), policy, T0).status
    inst = (running("btc-momo-0", T0),)
    fresh = decide(
        observe(status=status, instances=inst, heartbeats_enabled=True, heartbeat_at=at(80)), policy, at(95)
    )
    assert not fresh.of(StopInstance) and fresh.status["phase"] == "Running"
    two = decide(
        observe(status=status, instances=inst, heartbeats_enabled=True, heartbeat_at=at(10)), policy, at(75)
    )
    assert not two.of(StopInstance) and _cond(two, "Degraded")["reason"] == "HeartbeatMissed"
    three = decide(
        observe(status=status, instances=inst, heartbeats_enabled=True, heartbeat_at=at(10)), policy, at(100)
    )
    assert three.of(StopInstance) == [StopInstance("btc-momo-0", "HeartbeatMissed")]
    assert three.status["restarts"]["nextRestartAfter"] is not None
    # Without a heartbeat source the rule is skipped.
    blind = decide(observe(status=status, instances=inst), policy, at(1000))
    assert not blind.of(StopInstance)


def test_new_instance_is_not_judged_by_the_previous_heartbeat(policy):
    status = decide(observe(), policy, T0).status
    status["startedAt"] = at(200).isoformat()
    plan = decide(
        observe(
            status=status,
            instances=(running("btc-momo-0", at(200)),),
            heartbeats_enabled=True,
            heartbeat_at=at(0),
        ),
        policy,
        at(230),
    )
    assert not plan.of(StopInstance)


def test_duplicates_and_leftovers_are_stopped(policy):
    status = decide(observe(), policy, T0).status
    instances = (running("btc-momo-0", T0), running("btc-momo-7", T0), Instance("btc-momo-x", "failed"))
    plan = decide(observe(status=status, instances=instances), policy, at(5))
    assert {a.name for a in plan.of(StopInstance)} == {"btc-momo-7", "btc-momo-x"}
    assert not plan.of(StartInstance)


def test_vanished_instance_is_recreated_under_its_name(policy):
    status = decide(observe(), policy, T0).status
    plan = decide(observe(status=status), policy, at(5))
    assert plan.of(StartInstance) == [StartInstance("btc-momo-0")] and not plan.decisions


def test_paused_and_retired_stop_the_instance_and_keep_state(policy):
    status = decide(observe(), policy, T0).status
    inst = (running("btc-momo-0", T0),)
    for lifecycle in ("Paused", "Retired"):
        plan = decide(
            observe(spec=trader_spec(lifecycle=lifecycle), status=status, instances=inst), policy, at(5)
        )
        assert plan.of(StopInstance) == [StopInstance("btc-momo-0", lifecycle)]
        assert plan.status["phase"] == lifecycle and not plan.of(StartInstance)


def test_auditor_is_supervised_the_same_way(policy):
    from tradingfloor.models.auditor import AuditorSpec, AuditorStatus

    obs = observe(spec=AuditorSpec(), status=AuditorStatus(), kind="Auditor", name="auditor")
    plan = decide(obs, policy, T0)
    assert plan.of(StartInstance) == [StartInstance("auditor-0")] and "stage" not in plan.status


def test_open_breaker_pauses_traders_without_stopping_them(policy):
    status = decide(observe(), policy, T0).status
    inst = (running("btc-momo-0", T0),)
    plan = decide(observe(status=status, instances=inst, breakers=("DailyLoss",)), policy, at(5))
    assert not plan.of(StopInstance) and _cond(plan, "Paused")["reason"] == "CircuitBreakerOpen"
    assert [e.reason for e in plan.events] == ["CircuitBreakerOpen"]
    assert not [a for a in plan.actions if type(a).__name__ == "SetLifecycle"]  # spec untouched: auto-resume
    closed = decide(observe(status=plan.status, instances=inst), policy, at(10))
    assert not closed.of(StartInstance) and _cond(closed, "Paused")["status"] == "False"
    assert [e.reason for e in closed.events] == ["CircuitBreakerClosed"]


def test_an_edited_spec_starts_the_instance_again_without_counting_a_restart(policy):
    """An agent reads its spec at start: a newer generation stops it, and the next pass starts it
    again under its name once it is gone. No backoff, no restart counted, no failure recorded."""
    status = decide(observe(generation=1), policy, T0).status
    old = Instance("btc-momo-0", "running", started_at=T0, generation=1)
    plan = decide(observe(status=status, instances=(old,), generation=2), policy, at(60))
    assert plan.of(StopInstance) == [
        StopInstance("btc-momo-0", "spec changed: btc-momo-0 runs generation 1, the spec is at 2")
    ]
    assert not plan.of(StartInstance) and [e.reason for e in plan.events] == ["SpecChanged"]
    assert _cond(plan, "Ready")["reason"] == "SpecChanged" and plan.requeue_after is not None

    terminating = Instance("btc-momo-0", "running", started_at=T0, deleting=True, generation=1)
    waiting = decide(observe(status=plan.status, instances=(terminating,), generation=2), policy, at(61))
    assert not waiting.of(StartInstance)  # the name is still held

    again = decide(observe(status=waiting.status, generation=2), policy, at(65))
    assert again.of(StartInstance) == [StartInstance("btc-momo-0")]
    assert again.status["restarts"]["total"] == 0 and again.status["restarts"]["consecutiveFailures"] == 0
    assert not again.decisions and [e.reason for e in again.events] == ["Started"]

    new = Instance("btc-momo-0", "running", started_at=at(66), generation=2)
    settled = decide(observe(status=again.status, instances=(new,), generation=2), policy, at(70))
    assert not settled.of(StopInstance) and _cond(settled, "Ready")["status"] == "True"


def test_an_instance_of_unknown_generation_is_left_running(policy):
    """Instances started before generations were recorded (an older Floor Boss) are not churned."""
    status = decide(observe(generation=1), policy, T0).status
    inst = Instance("btc-momo-0", "running", started_at=T0)
    plan = decide(observe(status=status, instances=(inst,), generation=5), policy, at(60))
    assert not plan.of(StopInstance) and not plan.of(StartInstance)


def test_a_pending_instance_stuck_on_a_bad_image_is_replaced_when_the_spec_is_fixed(policy):
    status = decide(observe(generation=1), policy, T0).status
    stuck = Instance("btc-momo-0", "pending", generation=1, waiting="ImagePullBackOff")
    plan = decide(observe(status=status, instances=(stuck,), generation=2), policy, at(60))
    assert [a.name for a in plan.of(StopInstance)] == ["btc-momo-0"]


def test_an_instance_built_from_another_template_is_started_again(policy):
    """The runtime's template (agent image, environment …) changed since the instance was built."""
    status = decide(observe(generation=1, template="new"), policy, T0).status
    old = Instance("btc-momo-0", "running", started_at=T0, generation=1, template="old")
    plan = decide(observe(status=status, instances=(old,), generation=1, template="new"), policy, at(60))
    assert [a.name for a in plan.of(StopInstance)] == ["btc-momo-0"]
    assert [e.reason for e in plan.events] == ["TemplateChanged"]
    same = Instance("btc-momo-0", "running", started_at=T0, generation=1, template="new")
    assert not decide(
        observe(status=status, instances=(same,), generation=1, template="new"), policy, at(60)
    ).of(StopInstance)
    untracked = decide(observe(status=status, instances=(old,), generation=1), policy, at(60))  # local floor
    assert not untracked.of(StopInstance)


def test_a_template_change_waits_its_turn_while_another_agent_moves(policy):
    """An upgrade moves one agent per template_roll_interval_seconds: the others keep running."""
    status = decide(observe(generation=1, template="new"), policy, T0).status
    old = Instance("btc-momo-0", "running", started_at=T0, generation=1, template="old")
    plan = decide(
        observe(status=status, instances=(old,), generation=1, template="new", template_roll_allowed=False),
        policy,
        at(60),
    )
    assert not plan.of(StopInstance) and not plan.of(StartInstance)
    assert plan.requeue_after is not None and plan.requeue_after <= policy.template_roll_interval_seconds
    assert _cond(plan, "Ready")["status"] == "True"
    # a spec change is the user's own edit: it does not wait
    edited = decide(
        observe(status=status, instances=(old,), generation=2, template="new", template_roll_allowed=False),
        policy,
        at(60),
    )
    assert [e.reason for e in edited.events] == ["SpecChanged"]
