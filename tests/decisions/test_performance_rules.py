"""Pause, retire, clone, reduce, promote — and the evidence bar that keeps luck out."""

from datetime import timedelta

import pytest

from tests.decisions.decision_builders import T0, at, observe, running, trader_spec
from tradingfloor.decisions import CreateClone, FamilyMember, SetLifecycle, StopInstance, decide
from tradingfloor.decisions.evidence import SharpeTrack, clone_evidence, retire_evidence, win_rate_bounds

DAY = 86400


def _perf(trades, wins, reported=T0, **extra):
    return {
        "reportedAt": reported.isoformat(),
        "trades": trades,
        "wins": wins,
        "losses": trades - wins,
        "winRate": f"{wins / trades:.4f}" if trades else None,
        **extra,
    }


def _cond(plan, type_):
    return next(c for c in plan.status["conditions"] if c["type"] == type_)


def _held(policy, perf, seconds, spec=None, **kw):
    """Decide once at T0 (signal starts) and again ``seconds`` later with the same performance."""
    first = decide(observe(spec=spec, status={"performance": perf}, **kw), policy, T0)
    status = dict(first.status, performance=perf)
    return decide(observe(spec=spec, status=status, **kw), policy, at(seconds))


def test_six_for_ten_does_not_clone(policy):
    plan = _held(policy, _perf(10, 6), 2 * DAY)
    assert _cond(plan, "WinRateHigh")["status"] == "False"  # 0.60 is not above 0.60
    plan = _held(policy, _perf(10, 7), 2 * DAY)
    assert _cond(plan, "WinRateHigh")["status"] == "True"
    assert not plan.of(CreateClone)  # 7/10 is a streak, not evidence
    assert not clone_evidence(6, 10, policy, 1).ok


def test_proven_winner_clones_with_lineage_and_varied_params(policy):
    plan = _held(policy, _perf(200, 140), DAY + 1, labels={})
    (clone,) = plan.of(CreateClone)
    meta, spec = clone.manifest["metadata"], clone.manifest["spec"]
    assert meta["name"].startswith("btc-momo-g1-") and len(meta["name"]) == len("btc-momo-g1-") + 6
    assert meta["labels"] == {
        "tradingfloor.dev/lineage-root": "btc-momo",
        "tradingfloor.dev/parent": "btc-momo",
        "tradingfloor.dev/generation": "1",
    }
    assert spec["lineage"] == {"parent": "btc-momo", "generation": 1, "variation": "lookbackSeconds=330"}
    assert spec["params"] == {"thresholdBps": 50, "lookbackSeconds": 330} and spec["mode"] == "paper"
    assert [e.reason for e in plan.events if e.reason == "Cloned"] and plan.decisions[0].action == "clone"


def test_winner_not_cloned_before_the_window(policy):
    assert not _held(policy, _perf(200, 140), policy.clone_after_seconds - 60).of(CreateClone)


def test_clone_limits_children_and_cooldown(policy):
    family = (
        FamilyMember("btc-momo"),
        FamilyMember("btc-momo-g1-aaaaaa", parent="btc-momo", created_at=at(DAY - 10)),
    )
    assert not _held(policy, _perf(200, 140), DAY + 1, family=family).of(CreateClone)  # cooldown
    family = (
        FamilyMember("btc-momo"),
        *tuple(FamilyMember(f"c{i}", parent="btc-momo", created_at=T0 - timedelta(days=5)) for i in range(3)),
    )
    assert not _held(policy, _perf(200, 140), DAY + 1, family=family).of(CreateClone)  # max children
    family = family[:2]
    (clone,) = _held(policy, _perf(200, 140), DAY + 1, family=family).of(CreateClone)
    assert clone.manifest["spec"]["lineage"]["variation"] == "thresholdBps=55"  # the next variation


def test_more_variants_need_more_evidence(policy):
    assert clone_evidence(62, 100, policy, 1).ok
    assert not clone_evidence(62, 100, policy, 16).ok
    lo1, _ = win_rate_bounds(62, 100, 0.95, 1)
    lo16, _ = win_rate_bounds(62, 100, 0.95, 16)
    assert lo16 < lo1


def test_sharpe_evidence_blocks_a_clone(policy):
    assert not clone_evidence(140, 200, policy, 1, psr=0.80).ok
    assert clone_evidence(140, 200, policy, 1, psr=0.99).ok
    # With the full Sharpe track the deflated Sharpe ratio decides (Bailey & López de Prado).
    weak = SharpeTrack(sharpe=0.064, periods=1000, skew=-0.2, kurtosis=1.04)
    assert not clone_evidence(140, 200, policy, 50, track=weak).ok
    strong = SharpeTrack(sharpe=0.3, periods=1000, skew=-0.2, kurtosis=1.04)
    assert clone_evidence(140, 200, policy, 50, track=strong).ok


def test_proven_loser_is_retired_but_a_short_slump_is_not(policy):
    plan = _held(policy, _perf(200, 70), DAY + 1, instances=(running("btc-momo-0", T0),))
    assert plan.of(SetLifecycle) == [SetLifecycle("Retired", "ProvenLoser", plan.of(SetLifecycle)[0].message)]
    assert plan.of(StopInstance) and plan.status["phase"] == "Retired"
    assert _cond(plan, "Retired")["reason"] == "ProvenLoser"
    assert not _held(policy, _perf(20, 6), 3 * DAY).of(SetLifecycle)  # too few trades
    assert not _held(policy, _perf(200, 70), DAY - 60).of(SetLifecycle)  # not long enough
    assert not retire_evidence(45, 100, policy, 1).ok  # upper bound still reaches break-even
    assert retire_evidence(35, 100, policy, 1).ok


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"drawdown": "0.25"}, "DrawdownLimit"),
        ({"consecutiveLosses": 5}, "LossStreak"),
        ({"dailyPnl": "-100"}, "DailyLossLimit"),  # 10 % of the default 1000 USD capital
    ],
)
def test_risk_limits_pause(policy, extra, reason):
    plan = decide(
        observe(status={"performance": _perf(30, 15, **extra)}, instances=(running("btc-momo-0", T0),)),
        policy,
        at(1),
    )
    (pause,) = plan.of(SetLifecycle)
    assert (pause.lifecycle, pause.reason) == ("Paused", reason)
    assert (
        plan.of(StopInstance)
        and plan.status["phase"] == "Paused"
        and _cond(plan, "Paused")["reason"] == reason
    )


def test_within_limits_does_not_pause(policy):
    perf = _perf(30, 15, drawdown="0.19", consecutiveLosses=4, dailyPnl="-99")
    assert not decide(observe(status={"performance": perf}), policy, at(1)).of(SetLifecycle)


def test_agent_limit_stricter_than_floor_applies(policy):
    spec = trader_spec(risk={"maxDrawdownBps": 1000})
    plan = decide(observe(spec=spec, status={"performance": _perf(30, 15, drawdown="0.12")}), policy, at(1))
    assert plan.of(SetLifecycle)[0].reason == "DrawdownLimit"


def test_resumed_agent_is_not_repaused_on_old_numbers(policy):
    perf = _perf(30, 15, consecutiveLosses=5)
    paused = decide(observe(status={"performance": perf}), policy, at(1))
    resumed = decide(observe(status=dict(paused.status, performance=perf)), policy, at(60))
    assert not resumed.of(SetLifecycle) and resumed.status["phase"] == "Pending"
    fresh = dict(resumed.status, performance=_perf(31, 15, reported=at(120), consecutiveLosses=6))
    assert decide(observe(status=fresh), policy, at(121)).of(SetLifecycle)[0].reason == "LossStreak"


def test_weak_sharpe_for_seven_days_reduces_size(policy):
    perf = _perf(100, 50, sharpe="0.3")
    plan = _held(policy, perf, 7 * DAY - 60)
    assert plan.status["sizeMultiplier"] == "0.25"  # Testing share only
    plan = _held(policy, perf, 7 * DAY + 1)
    assert plan.status["stage"] == "Production"  # the 168 h evaluation passed too
    assert plan.status["sizeMultiplier"] == "0.5"
    assert {d.action for d in plan.decisions} >= {"reduce", "promote"}


def test_promotion_waits_for_the_evaluation_period(policy):
    first = decide(observe(), policy, T0)
    assert first.status["stage"] == "Testing" and first.status["sizeMultiplier"] == "0.25"
    assert decide(observe(status=first.status), policy, at(167 * 3600)).status["stage"] == "Testing"
    promoted = decide(observe(status=first.status), policy, at(168 * 3600))
    assert promoted.status["stage"] == "Production" and promoted.status["sizeMultiplier"] == "1"
    assert promoted.status["lastDecision"]["action"] == "promote"


def test_malformed_performance_numbers_are_ignored_not_fatal(policy):
    plan = decide(
        observe(status={"performance": _perf(30, 15, drawdown="lots", sharpe="n/a")}), policy, at(1)
    )
    assert not plan.of(SetLifecycle) and _cond(plan, "SharpeLow")["message"] == "no Sharpe reported"
