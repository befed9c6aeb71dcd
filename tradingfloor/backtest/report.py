"""Backtest report: JSON, a PNG of equity and drawdown (matplotlib, Agg), and a terminal table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tradingfloor.backtest.runner import BacktestResult

SHARPE_NOTE = "sharpe/sortino: daily bankroll returns, annualized ×√365 (the floor trades every day)"


def report_dict(
    result: BacktestResult, meta: dict[str, Any], sweep: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "meta": {
            **meta,
            "events": result.events,
            "seconds": round(result.seconds, 3),
            "events_per_second": round(result.events_per_second),
            "annualization": SHARPE_NOTE,
        },
        "agents": [r.to_json() for r in result.runs],
        "sweep": sweep,
    }


def write_report(
    result: BacktestResult, out_dir: Path, meta: dict[str, Any], sweep: dict[str, Any] | None = None
) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(report_dict(result, meta, sweep), indent=2))
    png_path = out_dir / "equity.png"
    plot_equity(result, png_path)
    return json_path, png_path


def plot_equity(result: BacktestResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_eq, ax_dd) = plt.subplots(2, 1, figsize=(11, 7), sharex=True, height_ratios=(3, 1.3))
    for run in result.runs:
        start = float(run.engine.limits.capital)
        points = (
            [(run.daily_equity[0][0], start), *run.trade_equity] if run.daily_equity else run.trade_equity
        )
        if not points:
            continue
        t0 = points[0][0]
        days = [(t - t0) / 86_400_000 for t, _ in points]
        equity = [e for _, e in points]
        peak, dd = equity[0], []
        for e in equity:
            peak = max(peak, e)
            dd.append(-(peak - e) / peak * 100 if peak > 0 else 0.0)
        ax_eq.step(days, equity, where="post", label=run.name, linewidth=1.2)
        ax_dd.step(days, dd, where="post", linewidth=1.0)
    ax_eq.set_ylabel("equity (USD, realized)")
    ax_eq.set_title("Backtest: equity after each settled trade")
    ax_eq.grid(alpha=0.3)
    ax_eq.legend(fontsize=8, ncol=2)
    ax_dd.set_ylabel("drawdown %")
    ax_dd.set_xlabel("days")
    ax_dd.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_summary(result: BacktestResult, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(
        title=f"Backtest — {result.events:,} events in {result.seconds:.1f} s "
        f"({result.events_per_second:,.0f} events/s)",
        caption=SHARPE_NOTE,
        expand=False,
    )
    for col in (
        "agent",
        "trades",
        "win rate (95 % Wilson)",
        "net P&L",
        "fees",
        "Sharpe",
        "Sortino",
        "max DD",
        "profit factor",
        "expectancy",
        "PSR",
        "pauses",
    ):
        table.add_column(col, justify="left" if col == "agent" else "right")
    for run in result.runs:
        s = run.summary
        if s is None:  # run_backtest summarizes every run
            continue
        led = run.engine.broker.ledger
        table.add_row(
            run.name,
            str(s.trades),
            f"{s.win_rate:.1%} [{s.wilson_low:.2f}, {s.wilson_high:.2f}]",
            f"{s.pnl:+.2f}",
            f"{float(led.fees):.2f}",
            f"{s.sharpe:.2f}",
            _fmt(s.sortino),
            f"{s.max_drawdown:.1%}",
            _fmt(s.profit_factor),
            f"{s.expectancy:+.3f}",
            f"{s.psr:.2f}",
            str(len(run.pauses)),
        )
    console.print(table)


def _fmt(x: float) -> str:
    return "∞" if x == float("inf") else f"{x:.2f}"
