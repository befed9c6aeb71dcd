"""``floor backtest``: replay simulated days (or recorded files) through the trading engine."""

from __future__ import annotations

from pathlib import Path

import typer

commands = typer.Typer()

ALL_STRATEGIES = "momentum,meanReversion,volumeSpike,orderFlow,technicalPattern"


@commands.command()
def backtest(
    days: float = typer.Option(7.0, help="Simulated days to replay (ignored with --files)."),
    strategies: str = typer.Option(ALL_STRATEGIES, help="Comma-separated strategy names."),
    assets: str = typer.Option("BTC,ETH", help="Comma-separated assets; one agent per strategy and asset."),
    seed: int = typer.Option(1, help="Simulator seed."),
    pattern: str = typer.Option("none", help="Simulator pattern: none, momentum or meanReversion."),
    files: list[Path] = typer.Option(
        None, "--files", help="Recorded files (gzip JSON lines) instead of the simulator."
    ),
    capital: str = typer.Option("1000", help="Capital per agent, USD."),
    latency_ms: int = typer.Option(250, help="Order latency before matching against the book."),
    sweep: str = typer.Option("", help="'grid' or 'random': sweep the first strategy's parameters."),
    grid: list[str] = typer.Option(None, "--grid", help="For --sweep grid: key=v1,v2 (repeatable)."),
    variants: int = typer.Option(20, help="For --sweep random: number of variations."),
    out: Path | None = typer.Option(
        None, help="Folder for report.json and equity.png (default: <state dir>/backtest-report)."
    ),
    state_dir: Path = typer.Option(
        Path("var"), "--state-dir", envvar="FLOOR_STATE_DIR", help="The floor's data folder."
    ),
) -> None:
    """Replay market events through strategy, sizing, risk and the paper broker; write a report."""
    from decimal import Decimal

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from tradingfloor.backtest.report import print_summary, write_report
    from tradingfloor.backtest.runner import DAY_MS, agent_configs, run_backtest, simulated_events
    from tradingfloor.backtest.sweep import grid_variants, judge, random_variants
    from tradingfloor.market.events import parse_asset
    from tradingfloor.trading.paper_broker import BrokerConfig
    from tradingfloor.trading.pipeline import EngineConfig
    from tradingfloor.trading.risk import RiskLimits

    names = [s.strip() for s in strategies.split(",") if s.strip()]
    asset_list = [a.strip().upper() for a in assets.split(",") if a.strip()]
    try:
        if sweep:
            strategy = names[0]
            if sweep == "grid":
                parsed = {k: v.split(",") for k, v in (g.split("=", 1) for g in grid or [])}
                if not parsed:
                    raise ValueError("--sweep grid needs at least one --grid key=v1,v2")
                param_sets = grid_variants(
                    strategy, {k: [_number(x) for x in vs] for k, vs in parsed.items()}
                )
            elif sweep == "random":
                param_sets = random_variants(strategy, variants, seed=seed)
            else:
                raise ValueError(f"--sweep must be 'grid' or 'random', got {sweep!r}")
            configs = [
                EngineConfig(f"{strategy}#{i}/{a}", strategy, parse_asset(a), p)
                for i, p in enumerate(param_sets)
                for a in asset_list
            ]
        else:
            configs = agent_configs(names, asset_list)
        limits = RiskLimits(capital=Decimal(capital))
        if files:
            events = _recorded(files)
            total = 0
        else:
            events = simulated_events(days, seed=seed, pattern=pattern, assets=tuple(asset_list))
            total = int(days * DAY_MS)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None

    start_ts: list[int] = []
    with Progress(
        TextColumn("[bold]backtest"), BarColumn(), TextColumn("{task.description}"), TimeElapsedColumn()
    ) as bar:
        task = bar.add_task("", total=total or None)

        def progress(count: int, ts: int) -> None:
            if not start_ts:
                start_ts.append(ts)
            bar.update(task, completed=ts - start_ts[0], description=f"{count:,} events")

        result = run_backtest(events, configs, limits, BrokerConfig(latency_ms=latency_ms), progress=progress)
    verdict = judge(result).to_json() if sweep else None
    meta = {
        "days": days,
        "seed": seed,
        "pattern": pattern,
        "assets": asset_list,
        "strategies": names,
        "files": [str(f) for f in files or []],
        "capital": capital,
        "latency_ms": latency_ms,
    }
    from tradingfloor.console import make_console

    json_path, png_path = write_report(result, out or state_dir / "backtest-report", meta, verdict)
    print_summary(result, make_console())  # piped: the whole table, never cut to 80 columns
    if verdict:
        typer.echo(
            f"sweep winner {verdict['winner']}: per-trade Sharpe {verdict['sharpe_per_trade']:.3f} over "
            f"{verdict['trades']} trades; deflated Sharpe {verdict['deflated_sharpe']:.2f} "
            f"after {verdict['n_trials']} variants"
        )
    typer.echo(f"wrote {json_path} and {png_path}")


def _number(text: str):
    try:
        return int(text)
    except ValueError:
        return text


def _recorded(paths: list[Path]):
    from tradingfloor.market.recorder import replay_events

    for path in paths:
        if not path.exists():
            raise ValueError(f"recorded file {path} does not exist")
    return (event for path in paths for _, event in replay_events(path))
