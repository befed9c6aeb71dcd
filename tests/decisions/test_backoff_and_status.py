from datetime import timedelta

import pytest

from tests.decisions.decision_builders import T0, at
from tradingfloor.decisions import FloorPolicy
from tradingfloor.decisions.backoff import recent_restarts, restart_allowed, restart_delay
from tradingfloor.decisions.status import derive_phase, find, set_condition
from tradingfloor.structs import ModelError, parse


def test_backoff_doubles_from_base_and_caps():
    assert [restart_delay(n, 1, 300) for n in range(0, 11)] == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert restart_delay(10_000, 1, 300) == 300


def test_budget_counts_only_the_last_hour():
    times = [T0 - timedelta(minutes=m) for m in (70, 50, 10, 1)]
    assert recent_restarts(times, T0) == sorted(times[1:])
    assert restart_allowed(times, T0, 4)
    assert not restart_allowed(times, T0, 3)


def test_condition_keeps_transition_time_while_status_holds():
    conds = set_condition([], "Ready", True, "Running", "a", T0, 1)
    conds = set_condition(conds, "Ready", True, "Running", "b", at(60), 2)
    ready = find(conds, "Ready")
    assert (ready.lastTransitionTime, ready.message, ready.observedGeneration) == (T0, "b", 2)
    conds = set_condition(conds, "Ready", False, "Crashed", "c", at(90), 2)
    assert find(conds, "Ready").lastTransitionTime == at(90) and len(conds) == 1


def test_phase_priority():
    conds = set_condition([], "Ready", True, "Running", "", T0, 1)
    assert derive_phase(conds) == "Running"
    conds = set_condition(conds, "RestartBackoff", True, "Crashed", "", T0, 1)
    assert derive_phase(conds) == "BackOff"
    conds = set_condition(conds, "Paused", True, "DrawdownLimit", "", T0, 1)
    assert derive_phase(conds) == "Paused"
    assert derive_phase([]) == "Pending"


def test_policy_defaults_are_the_seed_and_reject_nonsense():
    p = FloorPolicy()
    assert (p.retire_win_rate, p.clone_win_rate, p.reduce_sharpe, p.max_drawdown) == (0.45, 0.60, 0.5, 0.20)
    assert p.reduce_after_seconds == 7 * 86400 and p.retire_after_seconds == 86400
    with pytest.raises(ModelError, match="clone_win_rate"):
        parse(FloorPolicy, {"clone_win_rate": 1.5})
