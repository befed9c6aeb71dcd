"""``decide(observation, policy, now) -> Plan``: the whole Floor Boss decision for one agent."""

from __future__ import annotations

from datetime import datetime

from tradingfloor.decisions import status as conds
from tradingfloor.decisions.draft import Draft
from tradingfloor.decisions.lifecycle import prepare, stop_all, supervise
from tradingfloor.decisions.observation import Observation, Plan, SetLifecycle
from tradingfloor.decisions.performance import apply_trader_rules
from tradingfloor.decisions.policy import FloorPolicy

CIRCUIT_BREAKER_OPEN = "CircuitBreakerOpen"


def decide(obs: Observation, policy: FloorPolicy, now: datetime) -> Plan:
    """Pure: the same observation, policy and time always give the same plan."""
    d = Draft(obs, now)
    prepare(d)
    lifecycle: str = obs.spec.lifecycle
    trader = obs.kind == "TraderAgent"
    if trader and lifecycle == "Active":
        lifecycle = apply_trader_rules(d, policy)
    breakers = obs.breakers if trader else ()

    # An open floor breaker pauses trading, not the process: the trader reads the Paused condition
    # and takes no new entries, keeping its positions, journal and process (no restart to recover).
    if lifecycle != "Active":
        stop_all(d, lifecycle, f"lifecycle is {lifecycle}")
    elif d.is_true(conds.EXHAUSTED):
        stop_all(
            d,
            "RestartBudgetExhausted",
            "restart budget exhausted; change the spec to try again",
            keep_ended=True,  # the last failed instance stays for its logs
        )
    else:
        supervise(d, policy)

    _lifecycle_conditions(d, lifecycle, breakers)
    return d.plan()


def _lifecycle_conditions(d: Draft, lifecycle: str, breakers: tuple[str, ...]) -> None:
    set_now = next((a for a in d.actions if isinstance(a, SetLifecycle)), None)
    if lifecycle == "Paused":
        old = conds.find(d.status.conditions, conds.PAUSED)
        kept = (
            old if old is not None and old.status == "True" and old.reason != "CircuitBreakerOpen" else None
        )
        reason = set_now.reason if set_now else (kept.reason if kept else "PausedBySpec")
        message = set_now.message if set_now else (kept.message if kept else "spec.lifecycle is Paused")
        d.condition(conds.PAUSED, True, reason, message)
    elif breakers:
        message = f"floor circuit breaker open: {', '.join(breakers)}; no new entries"
        old = conds.find(d.status.conditions, conds.PAUSED)
        if old is None or old.status != "True" or old.message != message:
            d.event("Warning", CIRCUIT_BREAKER_OPEN, message)
            d.decide("pause", message)
        d.condition(conds.PAUSED, True, CIRCUIT_BREAKER_OPEN, message)
    else:
        old = conds.find(d.status.conditions, conds.PAUSED)
        if old is not None and old.status == "True" and old.reason == CIRCUIT_BREAKER_OPEN:
            d.event("Normal", "CircuitBreakerClosed", "floor circuit breakers closed; trading resumes")
        d.condition(conds.PAUSED, False, "Active", "")
    if lifecycle == "Retired":
        old = conds.find(d.status.conditions, conds.RETIRED)
        reason = (
            set_now.reason
            if set_now
            else (old.reason if old is not None and old.status == "True" else "RetiredBySpec")
        )
        d.condition(conds.RETIRED, True, reason, set_now.message if set_now else "spec.lifecycle is Retired")
    else:
        d.condition(conds.RETIRED, False, "NotRetired", "")
    if not d.is_true(conds.EXHAUSTED) and conds.find(d.status.conditions, conds.EXHAUSTED) is None:
        d.condition(conds.EXHAUSTED, False, "WithinBudget", "")
