"""Trader rules driven by the agent's reported performance: pause on risk limits, retire proven
losers, clone proven winners, reduce the size of weak ones, promote Testing → Production.

Durations ("below 45 % for 24 h") are measured with signal conditions (WinRateLow, WinRateHigh,
SharpeLow) whose lastTransitionTime records when the threshold was first crossed.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from tradingfloor.decisions import status as conds
from tradingfloor.decisions.draft import Draft
from tradingfloor.decisions.evidence import clone_evidence, retire_evidence
from tradingfloor.decisions.evolution import clone_manifest
from tradingfloor.decisions.observation import CreateClone, SetLifecycle
from tradingfloor.decisions.policy import FloorPolicy
from tradingfloor.models.trader_agent import Performance, TraderAgentSpec, TraderAgentStatus


def number(text: str | None) -> float | None:
    """An agent-written decimal string as a float; None when absent or malformed."""
    if text is None:
        return None
    try:
        value = float(Decimal(str(text)))
    except (InvalidOperation, ValueError):
        return None
    return value


def win_rate(perf: Performance) -> float | None:
    return perf.wins / perf.trades if perf.trades > 0 else number(perf.winRate)


def apply_trader_rules(d: Draft, policy: FloorPolicy) -> str:
    """Evaluate an Active trader; returns the lifecycle it should have after this pass."""
    spec, status = d.obs.spec, d.status
    if not isinstance(spec, TraderAgentSpec) or not isinstance(status, TraderAgentStatus):
        raise TypeError(f"trader rules apply to a TraderAgent, not to a {d.obs.kind}")
    perf = status.performance
    _update_signals(d, perf, policy)
    pause = _risk_pause(d, spec, perf, policy)
    if pause is not None:
        reason, message = pause
        d.act(SetLifecycle("Paused", reason, message))
        d.event("Warning", "Paused", message)
        d.decide("pause", message)
        return "Paused"
    low_for = d.held_for(conds.WIN_RATE_LOW)
    if low_for is not None and low_for >= policy.retire_after_seconds:
        evidence = retire_evidence(perf.wins, perf.trades, policy, max(1, len(d.obs.family)))
        if evidence.ok:
            message = (
                f"win rate below {policy.retire_win_rate:.0%} for {low_for / 3600:.0f}h; {evidence.reason}"
            )
            d.act(SetLifecycle("Retired", "ProvenLoser", message))
            d.event("Warning", "Retired", message)
            d.decide("retire", message)
            return "Retired"
    _maybe_clone(d, spec, perf, policy)
    _stage_and_size(d, status, spec, policy)
    return "Active"


def _update_signals(d: Draft, perf: Performance, policy: FloorPolicy) -> None:
    rate, sharpe = win_rate(perf), number(perf.sharpe)
    known = rate is not None
    d.condition(
        conds.WIN_RATE_LOW,
        rate is not None and rate < policy.retire_win_rate,
        "WinRate",
        f"win rate {rate:.3f} over {perf.trades} trades" if known else "no win rate reported",
    )
    d.condition(
        conds.WIN_RATE_HIGH,
        rate is not None and rate > policy.clone_win_rate,
        "WinRate",
        f"win rate {rate:.3f} over {perf.trades} trades" if known else "no win rate reported",
    )
    d.condition(
        conds.SHARPE_LOW,
        sharpe is not None and sharpe < policy.reduce_sharpe,
        "Sharpe",
        f"Sharpe {sharpe:.3f}" if sharpe is not None else "no Sharpe reported",
    )


def _risk_pause(
    d: Draft, spec: TraderAgentSpec, perf: Performance, policy: FloorPolicy
) -> tuple[str, str] | None:
    # Only a report made after the last resume counts, so a resumed agent is not re-paused on old numbers.
    paused = conds.find(d.status.conditions, conds.PAUSED)
    resumed_at = None
    if paused is not None:
        resumed_at = d.now if paused.status == "True" else paused.lastTransitionTime  # True: resuming now
    if perf.reportedAt is None or (resumed_at is not None and perf.reportedAt <= resumed_at):
        return None
    max_dd = min(spec.risk.maxDrawdownBps / 10_000, policy.max_drawdown)
    drawdown = number(perf.drawdown)
    if drawdown is not None and drawdown > max_dd:
        return "DrawdownLimit", f"drawdown {drawdown:.1%} beyond the {max_dd:.1%} limit"
    max_losses = min(spec.risk.maxConsecutiveLosses, policy.max_consecutive_losses)
    if perf.consecutiveLosses >= max_losses:
        return "LossStreak", f"{perf.consecutiveLosses} consecutive losses (limit {max_losses})"
    capital = float(spec.risk.capital)
    limit = min(spec.risk.dailyLossLimitBps / 10_000, policy.max_daily_loss) * capital
    daily = number(perf.dailyPnl)
    if daily is not None and -daily >= limit:
        return "DailyLossLimit", f"daily loss {-daily:.2f} USD reached the {limit:.2f} USD limit"
    return None


def _maybe_clone(d: Draft, spec: TraderAgentSpec, perf: Performance, policy: FloorPolicy) -> None:
    high_for = d.held_for(conds.WIN_RATE_HIGH)
    if high_for is None or high_for < policy.clone_after_seconds:
        return
    family = d.obs.family
    children = [m for m in family if m.parent == d.obs.name]
    if len(children) >= policy.max_children or len(family) >= policy.max_family_size:
        return
    if spec.lineage.generation + 1 > policy.max_generation:
        return
    last_child = max((c.created_at for c in children if c.created_at is not None), default=None)
    if last_child is not None and (d.now - last_child).total_seconds() < policy.clone_cooldown_seconds:
        return
    sharpes = [m.sharpe for m in family if m.sharpe is not None]
    evidence = clone_evidence(
        perf.wins, perf.trades, policy, max(1, len(family)), psr=number(perf.psr), family_sharpes=sharpes
    )
    if not evidence.ok:
        return
    manifest = clone_manifest(
        d.obs.name,
        d.obs.labels,
        spec.model_dump(mode="json", exclude_none=True),
        len(children),
        policy.variation_step,
    )
    d.act(CreateClone(manifest))
    variation = manifest["spec"]["lineage"]["variation"]
    d.event("Normal", "Cloned", f"cloned as {manifest['metadata']['name']} ({variation}): {evidence.reason}")
    d.decide("clone", f"{manifest['metadata']['name']} ({variation}): {evidence.reason}")


def _stage_and_size(d: Draft, st: TraderAgentStatus, spec: TraderAgentSpec, policy: FloorPolicy) -> None:
    hours = spec.evaluation.testingPeriodHours
    if st.stage is None:
        st.stage, st.stageSince = ("Testing" if hours > 0 else "Production"), d.now
    elif (
        st.stage == "Testing"
        and st.stageSince is not None
        and (d.now - st.stageSince).total_seconds() >= hours * 3600
        and not d.is_true(conds.WIN_RATE_LOW)
    ):
        st.stage, st.stageSince = "Production", d.now
        d.event("Normal", "Promoted", f"evaluation of {hours}h passed: Testing → Production")
        d.decide("promote", f"evaluation of {hours}h passed")
    size = Decimal(spec.evaluation.testingCapitalBps) / 10_000 if st.stage == "Testing" else Decimal(1)
    weak_for = d.held_for(conds.SHARPE_LOW)
    if weak_for is not None and weak_for >= policy.reduce_after_seconds:
        size *= Decimal(str(policy.reduce_factor))
        if st.sizeMultiplier != size:  # newly reduced (or its stage changed while reduced)
            message = f"Sharpe below {policy.reduce_sharpe} for {weak_for / 86400:.1f} days: size × {policy.reduce_factor}"
            d.event("Warning", "SizeReduced", message)
            d.decide("reduce", message)
    st.sizeMultiplier = size.normalize()
