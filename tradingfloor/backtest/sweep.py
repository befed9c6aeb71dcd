"""Parameter sweeps: grid and random variations, all variants replayed in one pass, and the winner
judged with the Deflated Sharpe Ratio over every variant tried (Bailey & López de Prado 2014).

Sharpe here is per trade (net P&L over capital per closed trade): it has many more observations
than daily returns over a short backtest, and it is what the research's worked numbers use.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from tradingfloor.analytics.stats import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    kurtosis,
    sharpe_ratio,
    skewness,
)
from tradingfloor.backtest.runner import AgentRun, BacktestResult
from tradingfloor.strategies.params import PARAM_MODELS, parse_params


def grid_variants(strategy: str, grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the listed values (each checked against the strategy's model)."""
    keys = sorted(grid)
    variants = [
        dict(zip(keys, values, strict=False)) for values in itertools.product(*(grid[k] for k in keys))
    ]
    for v in variants:
        parse_params(strategy, v)
    return variants


def random_variants(
    strategy: str, n: int, seed: int = 0, spread: float = 0.3, base: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """``n`` variations of ``base`` (default: the strategy's defaults): each numeric parameter is
    scaled by a random factor in [1 − spread, 1 + spread]; out-of-bounds draws are redrawn."""
    model = PARAM_MODELS.get(strategy)
    if model is None:
        raise ValueError(f"unknown strategy {strategy!r}")
    defaults = msgspec.structs.asdict(parse_params(strategy, base))
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    attempts = 0
    while len(out) < n and attempts < n * 50:
        attempts += 1
        variant: dict[str, Any] = {}
        for key, value in defaults.items():
            factor = rng.uniform(1 - spread, 1 + spread)
            if isinstance(value, bool):
                continue
            if isinstance(value, int):
                variant[key] = max(0, round(value * factor))
            elif isinstance(value, Decimal) and key != "maxEntryPrice":
                variant[key] = str((value * Decimal(str(factor))).quantize(Decimal("0.01")))
        try:
            parse_params(strategy, variant)
        except ValueError:
            continue
        out.append(variant)
    return out


@dataclass
class SweepVerdict:
    winner: AgentRun
    sharpe: float  # per-trade, non-annualized
    trades: int
    n_trials: int
    expected_max_sharpe: float
    deflated_sharpe: float

    def to_json(self) -> dict[str, Any]:
        return {
            "winner": self.winner.name,
            "params": self.winner.config.params,
            "sharpe_per_trade": self.sharpe,
            "trades": self.trades,
            "n_trials": self.n_trials,
            "expected_max_sharpe": self.expected_max_sharpe,
            "deflated_sharpe": self.deflated_sharpe,
        }


def judge(result: BacktestResult, n_trials: int | None = None) -> SweepVerdict:
    """Pick the variant with the best per-trade Sharpe and deflate it by the number of variants
    tried (``n_trials`` defaults to the runs in ``result``; pass more if others were tried before)."""
    sharpes = [sharpe_ratio(r.trade_returns()) for r in result.runs]
    best = max(range(len(sharpes)), key=lambda i: sharpes[i])
    winner = result.runs[best]
    rets = winner.trade_returns()
    trials = n_trials or len(result.runs)
    n = len(rets)
    mean = sum(sharpes) / len(sharpes)
    var = sum((s - mean) ** 2 for s in sharpes) / (len(sharpes) - 1) if len(sharpes) > 1 else 0.0
    if var == 0.0 and n > 1:
        var = 1.0 / (n - 1)  # null variance of a Sharpe estimate over n observations
    sr = sharpes[best]
    dsr = deflated_sharpe_ratio(sr, n, skewness(rets), kurtosis(rets), trials, var) if n > 1 else 0.0
    return SweepVerdict(winner, sr, n, trials, expected_max_sharpe(trials, var), dsr)
