"""The statistical bar for cloning and retiring: enough trades, and a confidence bound that
still clears break-even after deflating for how many variants of the strategy exist.

Deflation: with N variants tried, the chance that at least one passes by luck grows with N, so each
bound is taken at the Šidák-corrected one-sided confidence ``confidence ** (1/N)``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from tradingfloor.analytics.stats import deflated_sharpe_ratio, wilson_interval
from tradingfloor.decisions.policy import FloorPolicy


@dataclass(frozen=True)
class SharpeTrack:
    """A Sharpe estimate with what is needed to judge it: non-annualized, over ``periods`` returns."""

    sharpe: float
    periods: int
    skew: float = 0.0
    kurtosis: float = 3.0  # raw (Pearson) kurtosis


@dataclass(frozen=True)
class Evidence:
    ok: bool
    reason: str


def deflated_confidence(confidence: float, n_variants: int) -> float:
    """One-sided confidence each of ``n_variants`` tests needs for a family-wise ``confidence``."""
    return float(confidence ** (1.0 / max(1, n_variants)))


def win_rate_bounds(wins: int, trades: int, confidence: float, n_variants: int) -> tuple[float, float]:
    """Wilson bounds, each one-sided at the deflated confidence."""
    one_sided = deflated_confidence(confidence, n_variants)
    return wilson_interval(wins, trades, 2.0 * one_sided - 1.0)


def _sharpe_evidence(
    track: SharpeTrack | None,
    psr: float | None,
    family_sharpes: list[float],
    policy: FloorPolicy,
    n_variants: int,
) -> Evidence | None:
    """Deflated Sharpe when the full track is known; otherwise the agent's PSR at the deflated level."""
    needed = deflated_confidence(policy.confidence, n_variants)
    if track is not None and track.periods >= 2:
        # Variance of Sharpe across trials: measured across the family, else its value under the null.
        var = statistics.pvariance(family_sharpes) if len(family_sharpes) >= 2 else 1.0 / (track.periods - 1)
        dsr = deflated_sharpe_ratio(track.sharpe, track.periods, track.skew, track.kurtosis, n_variants, var)
        return Evidence(
            dsr >= policy.confidence, f"deflated Sharpe ratio {dsr:.3f} vs {policy.confidence:.3f}"
        )
    if psr is not None:
        return Evidence(psr >= needed, f"probabilistic Sharpe {psr:.3f} vs {needed:.3f}")
    return None


def clone_evidence(
    wins: int,
    trades: int,
    policy: FloorPolicy,
    n_variants: int,
    *,
    psr: float | None = None,
    track: SharpeTrack | None = None,
    family_sharpes: list[float] | None = None,
) -> Evidence:
    if trades < policy.min_trades_clone:
        return Evidence(False, f"{trades} trades, clone needs at least {policy.min_trades_clone}")
    low, _ = win_rate_bounds(wins, trades, policy.confidence, n_variants)
    if low <= policy.break_even_win_rate:
        return Evidence(
            False,
            f"win-rate lower bound {low:.3f} does not clear break-even {policy.break_even_win_rate:.3f} "
            f"({n_variants} variants)",
        )
    sharpe = _sharpe_evidence(track, psr, family_sharpes or [], policy, n_variants)
    if sharpe is not None and not sharpe.ok:
        return Evidence(False, sharpe.reason)
    detail = f"; {sharpe.reason}" if sharpe is not None else ""
    return Evidence(
        True,
        f"{wins}/{trades} wins, lower bound {low:.3f} > {policy.break_even_win_rate:.3f} "
        f"({n_variants} variants){detail}",
    )


def retire_evidence(wins: int, trades: int, policy: FloorPolicy, n_variants: int) -> Evidence:
    if trades < policy.min_trades_retire:
        return Evidence(False, f"{trades} trades, retirement needs at least {policy.min_trades_retire}")
    _, high = win_rate_bounds(wins, trades, policy.confidence, n_variants)
    if high >= policy.break_even_win_rate:
        return Evidence(
            False,
            f"win-rate upper bound {high:.3f} still reaches break-even {policy.break_even_win_rate:.3f}",
        )
    return Evidence(
        True,
        f"{wins}/{trades} wins, upper bound {high:.3f} < {policy.break_even_win_rate:.3f} "
        f"({n_variants} variants)",
    )
