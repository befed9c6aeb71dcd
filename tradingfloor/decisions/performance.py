"""Trader rules driven by the agent's reported performance: pause on risk limits, retire proven
losers, clone proven winners, reduce the size of weak ones, promote Testing → Production.

Durations ("below 45 % for 24 h") are measured with signal conditions (WinRateLow, WinRateHigh,
SharpeLow) whose lastTransitionTime records when the threshold was first crossed.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from tradingfloor.decimal_fields import DecimalStr
from tradingfloor.decisions import status as conds
from tradingfloor.decisions.draft import Draft
from tradingfloor.decisions.evidence import SharpeTrack, clone_evidence, describe, retire_evidence
from tradingfloor.decisions.evolution import clone_manifest
from tradingfloor.decisions.observation import CreateClone, SetLifecycle
from tradingfloor.decisions.policy import FloorPolicy
from tradingfloor.models.trader_agent import Performance, TraderAgentSpec, TraderAgentStatus
from tradingfloor.structs import dump


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


def break_even(perf: Performance) -> float | None:
    """The agent's mean per-trade break-even win rate, when it reports one."""
    return number(perf.breakEvenWinRate)


def sharpe_track(perf: Performance) -> SharpeTrack | None:
    """The per-trade Sharpe track the agent reported, or None (older agents)."""
    t = perf.sharpeTrack
    if t is None or t.periods < 2:
        return None
    sharpe, skew, kurt = number(t.sharpe), number(t.skew), number(t.kurtosis)
    if sharpe is None or skew is None or kurt is None:
        return None
    return SharpeTrack(sharpe, t.periods, skew, kurt)


def family_sharpe(performance: dict[str, Any] | None) -> float | None:
    """A family member's per-trade Sharpe (from its raw ``status.performance``), for the DSR's
    variance across trials; None when it has no track."""
    track = (performance or {}).get("sharpeTrack") or {}
    return number(track.get("sharpe")) if isinstance(track, dict) else None


def signal_thresholds(perf: Performance, policy: FloorPolicy) -> tuple[float, float]:
    """(retire below, clone above) for this agent: the policy's win rates are stated at the
    reference break-even and move with the agent's own break-even (an entry at 0.70 needs ≈0.72
    to break even, at 0.30 ≈0.31, so a fixed 60 % would mean nothing)."""
    shift = (break_even(perf) or policy.break_even_win_rate) - policy.break_even_win_rate
    return policy.retire_win_rate + shift, policy.clone_win_rate + shift


def apply_trader_rules(d: Draft, policy: FloorPolicy) -> str:
    """Evaluate an Active trader; returns the lifecycle it should have after this pass."""
    spec, status = d.obs.spec, d.status
    if not isinstance(spec, TraderAgentSpec) or not isinstance(status, TraderAgentStatus):
        raise TypeError(f"trader rules apply to a TraderAgent, not to a {d.obs.kind}")
    perf = status.performance
    _update_signals(d, perf, policy)
    pause = _risk_pause(d, spec, perf, policy)
    if pause is not None:
        reason, message, facts = pause
        d.act(SetLifecycle("Paused", reason, message))
        d.event("Warning", "Paused", f"{message} [{describe(facts)}]")
        d.decide("pause", message, facts)
        return "Paused"
    low_for = d.held_for(conds.WIN_RATE_LOW)
    if low_for is not None and low_for >= policy.retire_after_seconds:
        evidence = retire_evidence(
            perf.wins, perf.trades, policy, max(1, len(d.obs.family)), break_even=break_even(perf)
        )
        if evidence.ok:
            retire_below, _ = signal_thresholds(perf, policy)
            message = f"win rate below {retire_below:.1%} for {low_for / 3600:.0f}h; {evidence.reason}"
            facts = {**evidence.facts, "signalHeldSeconds": f"{low_for:.0f}"}
            d.act(SetLifecycle("Retired", "ProvenLoser", message))
            d.event("Warning", "Retired", f"{message} [{describe(facts)}]")
            d.decide("retire", message, facts)
            return "Retired"
    _maybe_clone(d, spec, perf, policy)
    _stage_and_size(d, status, spec, policy)
    return "Active"


def _update_signals(d: Draft, perf: Performance, policy: FloorPolicy) -> None:
    rate, sharpe = win_rate(perf), number(perf.sharpe)
    retire_below, clone_above = signal_thresholds(perf, policy)
    known = rate is not None
    d.condition(
        conds.WIN_RATE_LOW,
        rate is not None and rate < retire_below,
        "WinRate",
        f"win rate {rate:.3f} over {perf.trades} trades (retire signal below {retire_below:.3f})"
        if known
        else "no win rate reported",
    )
    d.condition(
        conds.WIN_RATE_HIGH,
        rate is not None and rate > clone_above,
        "WinRate",
        f"win rate {rate:.3f} over {perf.trades} trades (clone signal above {clone_above:.3f})"
        if known
        else "no win rate reported",
    )
    d.condition(
        conds.SHARPE_LOW,
        sharpe is not None and sharpe < policy.reduce_sharpe,
        "Sharpe",
        f"Sharpe {sharpe:.3f}" if sharpe is not None else "no Sharpe reported",
    )


def _risk_pause(
    d: Draft, spec: TraderAgentSpec, perf: Performance, policy: FloorPolicy
) -> tuple[str, str, dict[str, str]] | None:
    # Only a report made after the last resume counts, so a resumed agent is not re-paused on old numbers.
    paused = conds.find(d.status.conditions, conds.PAUSED)
    resumed_at = None
    if paused is not None:
        resumed_at = d.now if paused.status == "True" else paused.lastTransitionTime  # True: resuming now
    if perf.reportedAt is None or (resumed_at is not None and perf.reportedAt <= resumed_at):
        return None
    base = {"decision": "pause", "trades": str(perf.trades), "reportedAt": perf.reportedAt.isoformat()}
    max_dd = min(spec.risk.maxDrawdownBps / 10_000, policy.max_drawdown)
    drawdown = number(perf.drawdown)
    if drawdown is not None and drawdown > max_dd:
        facts = {**base, "measure": "drawdown", "value": f"{drawdown:.4f}", "limit": f"{max_dd:.4f}"}
        return "DrawdownLimit", f"drawdown {drawdown:.1%} beyond the {max_dd:.1%} limit", facts
    max_losses = min(spec.risk.maxConsecutiveLosses, policy.max_consecutive_losses)
    if perf.consecutiveLosses >= max_losses:
        facts = {
            **base,
            "measure": "consecutiveLosses",
            "value": str(perf.consecutiveLosses),
            "limit": str(max_losses),
        }
        return "LossStreak", f"{perf.consecutiveLosses} consecutive losses (limit {max_losses})", facts
    capital = float(spec.risk.capital)
    limit = min(spec.risk.dailyLossLimitBps / 10_000, policy.max_daily_loss) * capital
    daily = number(perf.dailyPnl)
    if daily is not None and -daily >= limit:
        facts = {
            **base,
            "measure": "dailyLoss",
            "value": f"{-daily:.2f}",
            "limit": f"{limit:.2f}",
            "capital": f"{capital:.2f}",
        }
        return "DailyLossLimit", f"daily loss {-daily:.2f} USD reached the {limit:.2f} USD limit", facts
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
    evidence = clone_evidence(
        perf.wins,
        perf.trades,
        policy,
        max(1, len(family)),
        break_even=break_even(perf),
        psr=number(perf.psr),
        track=sharpe_track(perf),
        family_sharpes=[m.sharpe for m in family if m.sharpe is not None],
    )
    if not evidence.ok:
        return
    manifest = clone_manifest(
        d.obs.name,
        d.obs.labels,
        dump(spec, exclude_none=True),
        len(children),
        policy.variation_step,
    )
    d.act(CreateClone(manifest))
    name, variation = manifest["metadata"]["name"], manifest["spec"]["lineage"]["variation"]
    facts = {**evidence.facts, "signalHeldSeconds": f"{high_for:.0f}", "clone": name}
    d.event("Normal", "Cloned", f"cloned as {name} ({variation}): {evidence.reason} [{describe(facts)}]")
    d.decide("clone", f"{name} ({variation}): {evidence.reason}", facts)


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
            perf = st.performance
            facts = {
                "decision": "reduce",
                "trades": str(perf.trades),
                "measure": "sharpe",
                "value": perf.sharpe or "",
                "limit": f"{policy.reduce_sharpe}",
                "signalHeldSeconds": f"{weak_for:.0f}",
                "heldNeeded": f"{policy.reduce_after_seconds:.0f}",
                "sizeMultiplier": format(size.normalize(), "f"),
            }
            d.event("Warning", "SizeReduced", f"{message} [{describe(facts)}]")
            d.decide("reduce", message, facts)
    st.sizeMultiplier = DecimalStr(size.normalize())
