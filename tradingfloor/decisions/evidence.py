"""The statistical bar for cloning and retiring, and the evidence record every decision carries.

A clone needs, all at once:

1. at least ``min_trades_clone`` closed trades;
2. the Wilson lower bound of the win rate above the agent's **own break-even** — the mean over its
   trades of entry price + the market's taker fee at that price (``status.performance.
   breakEvenWinRate``). Under "no edge after fees" trade *i* wins with probability b_i, so the wins
   are Poisson-binomial with mean Σb_i and variance Σb_i(1−b_i) ≤ n·b̄(1−b̄) (the variance of a
   Poisson-binomial never exceeds the binomial's with the same mean: Hoeffding, "On the
   distribution of the number of successes in independent trials", Ann. Math. Stat. 27(3), 1956).
   A binomial test against b̄ is therefore conservative for the per-trade null;
3. the **Deflated Sharpe Ratio** of the agent's per-trade Sharpe track ≥ ``confidence``: PSR
   against the expected maximum Sharpe of the family's N variants (Bailey & López de Prado, "The
   Deflated Sharpe Ratio", J. Portfolio Management 40(5), 2014, eq. 2 with the expected maximum of
   Bailey, Borwein, López de Prado & Zhu, Notices AMS 61(5), 2014). The variance of the trials'
   Sharpes is the family's measured variance, but never less than its value under the null,
   1/(T−1) (Lo, "The Statistics of Sharpe Ratios", FAJ 58(4), 2002): two or three siblings give a
   variance estimate too noisy to lower the bar with.

Deflation for the family (N = agents sharing the lineage root): the win-rate bound is taken at
the Šidák-corrected one-sided confidence ``confidence ** (1/N)`` (Šidák, JASA 62(318), 1967) so
the chance that any of N no-edge variants passes stays ≤ 1 − confidence; the DSR deflates through
its benchmark. A retirement needs ``min_trades_retire`` trades and the deflated upper bound of the
win rate below break-even.

Every evaluation returns an :class:`Evidence` whose ``facts`` are plain strings (status and Event
friendly): they go into ``status.lastDecision.evidence`` and the Event's message.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from tradingfloor.analytics.performance import SharpeTrack
from tradingfloor.analytics.stats import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    wilson_interval,
)
from tradingfloor.decisions.policy import FloorPolicy

__all__ = [
    "Evidence",
    "SharpeTrack",
    "clone_evidence",
    "deflated_confidence",
    "describe",
    "retire_evidence",
    "trial_variance",
    "win_rate_bounds",
]


@dataclass(frozen=True)
class Evidence:
    ok: bool
    reason: str
    facts: dict[str, str] = field(default_factory=dict)


def describe(facts: dict[str, str]) -> str:
    """One line for an Event message: ``key=value`` pairs in the facts' order."""
    return " ".join(f"{k}={v}" for k, v in facts.items())


def deflated_confidence(confidence: float, n_variants: int) -> float:
    """One-sided confidence each of ``n_variants`` tests needs for a family-wise ``confidence``."""
    return float(confidence ** (1.0 / max(1, n_variants)))


def win_rate_bounds(wins: int, trades: int, confidence: float, n_variants: int) -> tuple[float, float]:
    """Wilson bounds, each one-sided at the deflated confidence."""
    one_sided = deflated_confidence(confidence, n_variants)
    return wilson_interval(wins, trades, 2.0 * one_sided - 1.0)


def trial_variance(track: SharpeTrack, family_sharpes: list[float]) -> float:
    """Variance of the Sharpe across the family's trials, floored at its null value 1/(T−1)."""
    null = 1.0 / max(1, track.periods - 1)
    measured = statistics.pvariance(family_sharpes) if len(family_sharpes) >= 2 else 0.0
    return max(null, measured)


def _f(x: float) -> str:
    return f"{x:.4f}"


def _base_facts(
    decision: str, wins: int, trades: int, min_trades: int, n: int, policy: FloorPolicy, be: float
) -> dict[str, str]:
    return {
        "decision": decision,
        "trades": str(trades),
        "wins": str(wins),
        "minTrades": str(min_trades),
        "familySize": str(n),
        "confidence": _f(policy.confidence),
        "deflatedConfidence": _f(deflated_confidence(policy.confidence, n)),
        "breakEven": _f(be),
    }


def _sharpe_facts(
    track: SharpeTrack | None, psr: float | None, family_sharpes: list[float], n: int, policy: FloorPolicy
) -> tuple[bool | None, str, dict[str, str]]:
    """(passed, reason, facts) of the Sharpe part: the full DSR when the track is known, else the
    agent's reported PSR at the Šidák-deflated level (agents that predate the track)."""
    if track is not None and track.periods >= 2:
        var = trial_variance(track, family_sharpes)
        benchmark = expected_max_sharpe(n, var)
        try:
            dsr = deflated_sharpe_ratio(track.sharpe, track.periods, track.skew, track.kurtosis, n, var)
            own = probabilistic_sharpe_ratio(track.sharpe, track.periods, track.skew, track.kurtosis)
        except ValueError:
            dsr = own = 0.0
        facts = {
            "sharpe": _f(track.sharpe),
            "sharpePeriods": str(track.periods),
            "sharpeBenchmark": _f(benchmark),
            "psr": _f(own),
            "dsr": _f(dsr),
            "dsrNeeded": _f(policy.confidence),
        }
        return dsr >= policy.confidence, f"DSR {dsr:.3f} vs {policy.confidence:.3f}", facts
    if psr is not None:
        needed = deflated_confidence(policy.confidence, n)
        return psr >= needed, f"PSR {psr:.3f} vs {needed:.3f}", {"psr": _f(psr), "psrNeeded": _f(needed)}
    return None, "no Sharpe track reported", {}


def clone_evidence(
    wins: int,
    trades: int,
    policy: FloorPolicy,
    n_variants: int,
    *,
    break_even: float | None = None,
    psr: float | None = None,
    track: SharpeTrack | None = None,
    family_sharpes: list[float] | None = None,
) -> Evidence:
    """Whether a clone is warranted; ``break_even`` is the agent's mean per-trade break-even
    (the policy's reference value when the agent does not report one)."""
    n = max(1, n_variants)
    be = policy.break_even_win_rate if break_even is None else break_even
    facts = _base_facts("clone", wins, trades, policy.min_trades_clone, n, policy, be)
    low, _ = win_rate_bounds(wins, trades, policy.confidence, n)
    facts["winRateLow"] = _f(low)
    passed, sharpe_reason, sharpe_facts = _sharpe_facts(track, psr, family_sharpes or [], n, policy)
    facts.update(sharpe_facts)
    if trades < policy.min_trades_clone:
        facts["passed"] = "false"
        return Evidence(False, f"{trades} trades, clone needs at least {policy.min_trades_clone}", facts)
    if low <= be:
        facts["passed"] = "false"
        return Evidence(
            False, f"win-rate lower bound {low:.3f} does not clear break-even {be:.3f} ({n} variants)", facts
        )
    if passed is False:
        facts["passed"] = "false"
        return Evidence(False, sharpe_reason, facts)
    facts["passed"] = "true"
    return Evidence(
        True,
        f"{wins}/{trades} wins, lower bound {low:.3f} > break-even {be:.3f} ({n} variants); {sharpe_reason}",
        facts,
    )


def retire_evidence(
    wins: int, trades: int, policy: FloorPolicy, n_variants: int, *, break_even: float | None = None
) -> Evidence:
    n = max(1, n_variants)
    be = policy.break_even_win_rate if break_even is None else break_even
    facts = _base_facts("retire", wins, trades, policy.min_trades_retire, n, policy, be)
    _, high = win_rate_bounds(wins, trades, policy.confidence, n)
    facts["winRateHigh"] = _f(high)
    if trades < policy.min_trades_retire:
        facts["passed"] = "false"
        return Evidence(
            False, f"{trades} trades, retirement needs at least {policy.min_trades_retire}", facts
        )
    if high >= be:
        facts["passed"] = "false"
        return Evidence(False, f"win-rate upper bound {high:.3f} still reaches break-even {be:.3f}", facts)
    facts["passed"] = "true"
    return Evidence(
        True, f"{wins}/{trades} wins, upper bound {high:.3f} < break-even {be:.3f} ({n} variants)", facts
    )
