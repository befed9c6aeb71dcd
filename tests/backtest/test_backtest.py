"""Backtester over the simulator. Default size is small (hours, one asset); set
TF_BACKTEST_DAYS=7 for the full 7-day run of the five strategies."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from tradingfloor.backtest.commands import commands
from tradingfloor.backtest.runner import agent_configs, capital_limits, run_backtest, simulated_events
from tradingfloor.backtest.sweep import grid_variants, judge, random_variants

DAYS = float(os.environ.get("TF_BACKTEST_DAYS", "0.5"))


def test_floor_backtest_writes_report_and_picture(tmp_path):
    assets = "BTC,ETH" if DAYS >= 7 else "BTC"
    res = CliRunner().invoke(commands, ["--days", str(DAYS), "--assets", assets, "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "report.json").read_text())
    names = {a["strategy"] for a in report["agents"]}
    assert names == {"momentum", "meanReversion", "volumeSpike", "orderFlow", "technicalPattern"}
    assert report["meta"]["events"] > 0 and "√365" in report["meta"]["annualization"]
    png = (tmp_path / "equity.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert "wrote" in res.output


@pytest.mark.slow  # simulates days of market: not for the fast loop
def test_momentum_beats_mean_reversion_on_a_momentum_market():
    result = run_backtest(
        simulated_events(1, seed=3, pattern="momentum", assets=("BTC",)),
        agent_configs(["momentum", "meanReversion"], ["BTC"]),
        capital_limits(),
    )
    pnl = {r.config.strategy: r.summary.pnl for r in result.runs}
    assert pnl["momentum"] > pnl["meanReversion"]
    assert pnl["momentum"] > 0
    for run in result.runs:  # the ledger invariant holds at the end of a replay
        assert run.engine.broker.ledger.invariant_gap(run.engine.marks()) == 0


@pytest.mark.slow  # simulates days of market: not for the fast loop
def test_sweep_grid_and_random_with_deflated_winner():
    variants = grid_variants("momentum", {"thresholdBps": [30, 50], "lookbackSeconds": [120, 300]})
    assert len(variants) == 4
    rnd = random_variants("momentum", 3, seed=7)
    assert len(rnd) == 3 and rnd != random_variants("momentum", 3, seed=8)
    configs = [
        c
        for i, p in enumerate(variants)
        for c in agent_configs(["momentum"], ["BTC"], {"momentum": p}, prefix=f"v{i}-")
    ]
    result = run_backtest(
        simulated_events(0.5, seed=3, pattern="momentum", assets=("BTC",)), configs, capital_limits()
    )
    verdict = judge(result, n_trials=10)
    assert verdict.n_trials == 10 and verdict.winner in result.runs
    assert 0.0 <= verdict.deflated_sharpe <= 1.0
    assert verdict.expected_max_sharpe > 0


def test_bad_sweep_option_is_named(tmp_path):
    res = CliRunner().invoke(commands, ["--sweep", "bogus", "--days", "0.01", "--out", str(tmp_path)])
    assert res.exit_code != 0 and "grid" in res.output
