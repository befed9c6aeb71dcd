"""Performance statistics for trader agents and backtests.

Conventions (documented once, used everywhere):

* Sharpe and Sortino are computed on a series of *period returns* (the backtester and the monitor
  feed daily bankroll returns).  They are not annualized unless ``periods_per_year`` is given; the
  floor trades 24/7, so daily returns are annualized with ``periods_per_year=365`` (√365).
* Skewness ``skew`` is the sample third standardized moment; ``kurtosis`` is the *raw* (Pearson)
  fourth standardized moment, 3 for a normal distribution — not the excess kurtosis.
* PSR, DSR and MinTRL follow Bailey & López de Prado: "The Sharpe Ratio Efficient Frontier"
  (J. of Risk 15(2), 2012) and "The Deflated Sharpe Ratio" (JPM 40(5), 2014); the expected maximum
  Sharpe of N trials follows Bailey, Borwein, López de Prado & Zhu (Notices AMS 61(5), 2014).
  They all take the *non-annualized* Sharpe of the same observations counted by ``n``.
* Undefined ratios: fewer than two observations or zero dispersion give 0.0 (no evidence);
  profit factor and Sortino with gains but no losses are ``math.inf``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist

_NORMAL = NormalDist()
EULER_GAMMA = 0.5772156649015329


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    return _NORMAL.inv_cdf(confidence)


def wilson_interval(wins: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided Wilson score interval for a win rate of ``wins`` out of ``n``."""
    if n < 0 or wins < 0 or wins > n:
        raise ValueError(f"wilson_interval needs 0 <= wins <= n, got wins={wins}, n={n}")
    if n == 0:
        return 0.0, 1.0
    z = _z(1.0 - (1.0 - confidence) / 2.0)
    p = wins / n
    denom = 1.0 + z * z / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - half) / denom), min(1.0, (centre + half) / denom)


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def _stdev(xs: Sequence[float]) -> float:
    """Sample standard deviation (n − 1)."""
    m = _mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def _annualize(ratio: float, periods_per_year: float | None) -> float:
    if periods_per_year is None:
        return ratio
    if periods_per_year <= 0:
        raise ValueError(f"periods_per_year must be positive, got {periods_per_year}")
    return ratio * math.sqrt(periods_per_year)


def sharpe_ratio(returns: Sequence[float], periods_per_year: float | None = None) -> float:
    """Mean over sample standard deviation of period returns (risk-free rate 0)."""
    xs = [float(r) for r in returns]
    if len(xs) < 2:
        return 0.0
    sd = _stdev(xs)
    if sd == 0.0:
        return 0.0
    return _annualize(_mean(xs) / sd, periods_per_year)


def sortino_ratio(
    returns: Sequence[float], periods_per_year: float | None = None, target: float = 0.0
) -> float:
    """Mean excess over ``target`` divided by the downside deviation √(mean(min(0, r − target)²))."""
    xs = [float(r) for r in returns]
    if len(xs) < 2:
        return 0.0
    excess = _mean(xs) - target
    downside = math.sqrt(sum(min(0.0, x - target) ** 2 for x in xs) / len(xs))
    if downside == 0.0:
        return math.inf if excess > 0 else 0.0
    return _annualize(excess / downside, periods_per_year)


def max_drawdown(equity: Sequence[float]) -> float:
    """Largest peak-to-trough fall of an equity curve, as a fraction of the peak (0.25 = 25 %)."""
    peak = -math.inf
    worst = 0.0
    for value in equity:
        v = float(value)
        peak = max(peak, v)
        if peak > 0:
            worst = max(worst, (peak - v) / peak)
    return worst


def profit_factor(pnls: Sequence[float]) -> float:
    """Gross profit over gross loss."""
    gains = sum(float(p) for p in pnls if p > 0)
    losses = -sum(float(p) for p in pnls if p < 0)
    if losses == 0.0:
        return math.inf if gains > 0 else 0.0
    return gains / losses


def expectancy(pnls: Sequence[float]) -> float:
    """Average P&L per trade."""
    return _mean([float(p) for p in pnls]) if pnls else 0.0


def skewness(xs: Sequence[float]) -> float:
    """Sample skewness (third standardized moment, population form)."""
    xs = [float(x) for x in xs]
    if len(xs) < 2:
        return 0.0
    m = _mean(xs)
    var = sum((x - m) ** 2 for x in xs) / len(xs)
    if var == 0.0:
        return 0.0
    return float(sum((x - m) ** 3 for x in xs) / len(xs) / var**1.5)


def kurtosis(xs: Sequence[float]) -> float:
    """Raw (Pearson) kurtosis: 3 for a normal distribution."""
    xs = [float(x) for x in xs]
    if len(xs) < 2:
        return 3.0
    m = _mean(xs)
    var = sum((x - m) ** 2 for x in xs) / len(xs)
    if var == 0.0:
        return 3.0
    return sum((x - m) ** 4 for x in xs) / len(xs) / var**2


def _sr_variance_term(sr: float, skew: float, kurtosis: float) -> float:
    # 1 − γ3·SR + ((γ4 − 1)/4)·SR², with γ4 the raw kurtosis.
    return 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr


def probabilistic_sharpe_ratio(
    sr: float, n: int, skew: float, kurtosis: float, sr_benchmark: float = 0.0
) -> float:
    """P(true Sharpe > ``sr_benchmark``) given a non-annualized ``sr`` over ``n`` observations."""
    if n < 2:
        return 0.0
    term = _sr_variance_term(sr, skew, kurtosis)
    if term <= 0:
        raise ValueError(
            f"1 - skew*sr + (kurtosis-1)/4*sr^2 must be positive (sr={sr}, skew={skew}, kurtosis={kurtosis})"
        )
    return _NORMAL.cdf((sr - sr_benchmark) * math.sqrt(n - 1) / math.sqrt(term))


def expected_max_sharpe(n_trials: int, var_trials_sr: float) -> float:
    """Expected maximum Sharpe among ``n_trials`` independent zero-skill trials whose Sharpe
    estimates have variance ``var_trials_sr`` (same units as the Sharpe being deflated)."""
    if n_trials < 1:
        raise ValueError(f"n_trials must be at least 1, got {n_trials}")
    if var_trials_sr < 0:
        raise ValueError(f"var_trials_sr must be non-negative, got {var_trials_sr}")
    if n_trials == 1:
        return 0.0  # a single pre-registered trial is not selected from anything
    q1 = _NORMAL.inv_cdf(1.0 - 1.0 / n_trials)
    q2 = _NORMAL.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    return math.sqrt(var_trials_sr) * ((1.0 - EULER_GAMMA) * q1 + EULER_GAMMA * q2)


def deflated_sharpe_ratio(
    sr: float, n: int, skew: float, kurtosis: float, n_trials: int, var_trials_sr: float
) -> float:
    """PSR against the expected maximum Sharpe of ``n_trials`` trials: the chance the winner is real."""
    return probabilistic_sharpe_ratio(sr, n, skew, kurtosis, expected_max_sharpe(n_trials, var_trials_sr))


def min_track_record_length(
    sr: float, skew: float, kurtosis: float, sr_benchmark: float = 0.0, confidence: float = 0.95
) -> float:
    """Observations needed for PSR(``sr_benchmark``) ≥ ``confidence``; inf when sr ≤ benchmark."""
    if sr <= sr_benchmark:
        return math.inf
    z = _z(confidence)
    return 1.0 + _sr_variance_term(sr, skew, kurtosis) * (z / (sr - sr_benchmark)) ** 2


def returns_from_equity(equity: Sequence[float]) -> list[float]:
    """Simple period returns of an equity series (periods with a non-positive start are skipped)."""
    values = [float(v) for v in equity]
    return [b / a - 1.0 for a, b in itertools.pairwise(values) if a > 0]


@dataclass(frozen=True)
class PerformanceSummary:
    trades: int
    wins: int
    losses: int
    win_rate: float
    wilson_low: float
    wilson_high: float
    pnl: float
    sharpe: float
    sortino: float
    max_drawdown: float
    profit_factor: float
    expectancy: float
    psr: float
    periods: int = 0  # return observations behind sharpe/sortino/psr

    def to_dict(self) -> dict[str, float | int | None]:
        """JSON-safe: non-finite values (e.g. profit factor without losses) become None."""
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()
        }


def summarize(
    pnls: Sequence[float],
    equity: Sequence[float],
    periods_per_year: float | None = None,
    confidence: float = 0.95,
) -> PerformanceSummary:
    """Summarize closed-trade P&Ls and an equity curve sampled at fixed periods (e.g. daily).

    Sharpe and Sortino use the equity curve's period returns, annualized with ``periods_per_year``
    when given; PSR (benchmark 0) uses the same returns, non-annualized. A trade with P&L exactly
    0 counts as neither win nor loss.
    """
    values = [float(p) for p in pnls]
    wins = sum(1 for p in values if p > 0)
    losses = sum(1 for p in values if p < 0)
    low, high = wilson_interval(wins, len(values), confidence)
    rets = returns_from_equity(equity)
    sr = sharpe_ratio(rets)
    return PerformanceSummary(
        trades=len(values),
        wins=wins,
        losses=losses,
        win_rate=wins / len(values) if values else 0.0,
        wilson_low=low,
        wilson_high=high,
        pnl=sum(values),
        sharpe=sharpe_ratio(rets, periods_per_year),
        sortino=sortino_ratio(rets, periods_per_year),
        max_drawdown=max_drawdown(equity),
        profit_factor=profit_factor(values),
        expectancy=expectancy(values),
        psr=probabilistic_sharpe_ratio(sr, len(rets), skewness(rets), kurtosis(rets))
        if len(rets) >= 2
        else 0.0,
        periods=len(rets),
    )
