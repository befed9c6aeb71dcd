"""Statistics checked against published worked numbers.

Sources: trading-anchors.md §5 (research notes), Wilson (1927); Bailey & López de Prado,
"The Sharpe Ratio Efficient Frontier", J. of Risk 15(2), 2012 (PSR, MinTRL);
"The Deflated Sharpe Ratio", JPM 40(5):94–107, 2014 (numerical example: N=100 trials,
V[SR]=1/2 annualized, best SR 2.5 annualized over T=1250 daily observations, skew −3,
kurtosis 10 ⇒ DSR ≈ 0.9004); Bailey, Borwein, López de Prado & Zhu, Notices AMS 61(5), 2014.
"""

from __future__ import annotations

import math

import pytest

from tradingfloor.analytics import stats


@pytest.mark.parametrize(
    "wins,n,low,high",
    [
        (6, 10, 0.31, 0.83),
        (33, 50, 0.52, 0.78),
        (60, 100, 0.50, 0.69),
    ],
)
def test_wilson_matches_research_examples(wins, n, low, high):
    lo, hi = stats.wilson_interval(wins, n)
    assert lo == pytest.approx(low, abs=0.005)
    assert hi == pytest.approx(high, abs=0.005)


def test_wilson_thousand_bets():
    lo, hi = stats.wilson_interval(550, 1000)
    assert lo == pytest.approx(0.519, abs=0.0005)
    assert hi == pytest.approx(0.581, abs=0.0005)


def test_wilson_rejects_bad_counts():
    with pytest.raises(ValueError, match="wins"):
        stats.wilson_interval(11, 10)
    assert stats.wilson_interval(0, 0) == (0.0, 1.0)


# Binary bet at an all-in price c = 0.518 (0.50 + 0.018 fee) with true probability p (§4.5, §5.8).
def _bet_moments(p: float, c: float = 0.518) -> tuple[float, float, float]:
    q = p * (1 - p)
    return (p - c) / math.sqrt(q), (1 - 2 * p) / math.sqrt(q), (1 - 6 * q) / q + 3


def test_bet_moments_match_research():
    sr, skew, kurt = _bet_moments(0.55)
    assert sr == pytest.approx(0.064, abs=0.0005)
    assert skew == pytest.approx(-0.20, abs=0.005)
    assert kurt == pytest.approx(1.04, abs=0.005)


def test_min_track_record_length_single_trial():
    sr, skew, kurt = _bet_moments(0.55)
    assert stats.min_track_record_length(sr, skew, kurt) == pytest.approx(663, rel=0.01)
    # §5.8 quotes ≈ 98 bets for p = 0.60; that figure matches normal moments (skew 0, kurtosis 3).
    # With the bet's own moments (skew −0.41, kurtosis 1.17) the negative skew adds ≈ 6 bets.
    sr10, skew10, kurt10 = _bet_moments(0.60)
    assert stats.min_track_record_length(sr10, 0.0, 3.0) == pytest.approx(98, abs=1.5)
    assert stats.min_track_record_length(sr10, skew10, kurt10) == pytest.approx(104.3, abs=0.5)
    assert stats.min_track_record_length(0.0, 0.0, 3.0) == math.inf


@pytest.mark.parametrize("n_trials,multiplier", [(10, 1.58), (50, 2.28), (100, 2.53), (1000, 3.26)])
def test_expected_max_sharpe_multiplier(n_trials, multiplier):
    assert stats.expected_max_sharpe(n_trials, 1.0) == pytest.approx(multiplier, abs=0.01)


def test_psr_and_dsr_at_thousand_bets_fifty_trials():
    """§5.8: n = 1000, N = 50, p = 0.55 ⇒ PSR(0) ≈ 0.98 but DSR ≈ 0.40 (null variance 1/(n−1))."""
    sr, skew, kurt = _bet_moments(0.55)
    n = 1000
    assert stats.probabilistic_sharpe_ratio(sr, n, skew, kurt) == pytest.approx(0.98, abs=0.005)
    assert stats.deflated_sharpe_ratio(sr, n, skew, kurt, 50, 1 / (n - 1)) == pytest.approx(0.40, abs=0.01)


def test_dsr_matches_bailey_lopez_de_prado_2014_example():
    days = 250  # the paper's annualization (≈ 5 years = 1250 days)
    sr = 2.5 / math.sqrt(days)
    var_trials = 0.5 / days  # V[SR_n] = 1/2 annualized, de-annualized
    assert stats.expected_max_sharpe(100, 0.5) == pytest.approx(1.79, abs=0.01)
    dsr = stats.deflated_sharpe_ratio(sr, 1250, -3.0, 10.0, 100, var_trials)
    assert dsr == pytest.approx(0.9004, abs=0.001)


def test_psr_is_half_at_the_benchmark_and_rejects_impossible_moments():
    assert stats.probabilistic_sharpe_ratio(0.1, 100, 0.0, 3.0, sr_benchmark=0.1) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="kurtosis"):
        stats.probabilistic_sharpe_ratio(1.0, 100, 5.0, 1.0)


def test_sharpe_sortino_annualization():
    rets = [0.01, -0.005, 0.02, 0.0, -0.01, 0.015]
    mean = sum(rets) / len(rets)
    sd = math.sqrt(sum((r - mean) ** 2 for r in rets) / (len(rets) - 1))
    assert stats.sharpe_ratio(rets) == pytest.approx(mean / sd)
    assert stats.sharpe_ratio(rets, 365) == pytest.approx(mean / sd * math.sqrt(365))
    downside = math.sqrt((0.005**2 + 0.01**2) / len(rets))
    assert stats.sortino_ratio(rets) == pytest.approx(mean / downside)
    assert stats.sortino_ratio([0.01, 0.02]) == math.inf
    assert stats.sharpe_ratio([0.01]) == 0.0


def test_drawdown_profit_factor_expectancy():
    assert stats.max_drawdown([100, 120, 90, 110, 60, 130]) == pytest.approx(0.5)
    assert stats.max_drawdown([100, 101, 102]) == 0.0
    assert stats.profit_factor([10, -5, 5, -5]) == pytest.approx(1.5)
    assert stats.profit_factor([1, 2]) == math.inf
    assert stats.expectancy([10, -5, 5, -6]) == pytest.approx(1.0)
    assert stats.expectancy([]) == 0.0


def test_moments_of_symmetric_sample():
    xs = [-2.0, -1.0, 0.0, 1.0, 2.0]
    assert stats.skewness(xs) == pytest.approx(0.0)
    assert stats.kurtosis(xs) == pytest.approx(1.7)


def test_summarize():
    pnls = [10.0, -5.0, 7.0, 0.0, -2.0]
    equity = [1000.0, 1010.0, 1005.0, 1012.0, 1010.0]
    s = stats.summarize(pnls, equity, periods_per_year=365)
    assert (s.trades, s.wins, s.losses) == (5, 2, 2)
    assert s.win_rate == pytest.approx(0.4)
    assert (s.wilson_low, s.wilson_high) == pytest.approx(stats.wilson_interval(2, 5))
    assert s.pnl == pytest.approx(10.0)
    rets = stats.returns_from_equity(equity)
    assert s.sharpe == pytest.approx(stats.sharpe_ratio(rets) * math.sqrt(365))
    assert s.max_drawdown == pytest.approx(5 / 1010)
    assert s.profit_factor == pytest.approx(17 / 7)
    assert 0.0 < s.psr < 1.0 and s.periods == 4
    assert stats.summarize([1.0], [100.0, 101.0]).to_dict()["profit_factor"] is None
