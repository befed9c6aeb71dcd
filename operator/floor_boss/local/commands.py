"""``floor up`` and ``floor status``."""

from __future__ import annotations

import re
from pathlib import Path

import typer

commands = typer.Typer()

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smh]?)$")


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``10m``, ``2h`` → seconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise typer.BadParameter(f"{text!r} is not a duration like 90s, 10m or 2h")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def parse_market_start(text: str) -> int:
    """``2026-01-01T00:00Z`` (UTC when no zone is given) → epoch ms, down to the 15-minute grid."""
    from datetime import UTC, datetime

    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date-time like 2026-01-01T00:00Z") from None
    ms = int((at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp() * 1000)
    return ms - ms % (15 * 60 * 1000)


def _state_dir(value: Path | None) -> Path:
    import os

    return value or Path(os.environ.get("FLOOR_STATE_DIR") or "var")


@commands.command("up")
def up(
    manifests: Path = typer.Option(Path("examples"), "--manifests", "-f", help="Manifest file or folder."),
    market: str = typer.Option(
        "sim", help="sim (the local simulator) or polymarket (live data, paper money)."
    ),
    speed: float = typer.Option(30.0, help="Simulator speed: 30 makes a 15-minute round last 30 s."),
    seed: int = typer.Option(2, help="Simulator seed (2: the first round already moves enough to trade)."),
    pattern: str = typer.Option(
        "momentum", help="Simulator pattern: none, momentum (trends persist) or meanReversion."
    ),
    market_start: str | None = typer.Option(
        None,
        "--market-start",
        help="Where a new simulated market's clock starts (UTC date-time), so a seed replays the same "
        "market every run; default: now. A resumed floor continues its stored clock.",
    ),
    run_for: str | None = typer.Option(
        None, "--for", help="Stop after this long (e.g. 10m); default: until Ctrl-C."
    ),
    state_dir: Path | None = typer.Option(
        None, "--state-dir", help="Where the floor keeps its data (FLOOR_STATE_DIR, default var/)."
    ),
    policy_file: Path | None = typer.Option(
        None, "--policy", help="YAML overriding the Floor Boss policy thresholds."
    ),
    dashboard: bool | None = typer.Option(
        None, "--dashboard/--no-dashboard", help="Live table (default: when on a terminal)."
    ),
) -> None:
    """Run the whole floor on this machine: database, cache, simulator, collectors, agents, dashboard."""
    import asyncio
    import os
    import signal

    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # until the floor's own handlers take over: stop, don't die

    signal.signal(signal.SIGTERM, interrupted)

    import yaml

    from floor_boss.local.floor import Floor, FloorAlreadyRunning, FloorOptions, floor_lock
    from tradingfloor.console import make_console
    from tradingfloor.decisions import FloorPolicy
    from tradingfloor.observability.logging import configure_logging
    from tradingfloor.services.embedded import ServiceError
    from tradingfloor.services.local import check_state_dir
    from tradingfloor.structs import parse

    if market not in ("sim", "polymarket"):
        raise typer.BadParameter(f"--market must be sim or polymarket, got {market!r}")
    if pattern not in ("none", "momentum", "meanReversion"):
        raise typer.BadParameter(f"--pattern must be none, momentum or meanReversion, got {pattern!r}")
    if not manifests.exists():
        raise typer.BadParameter(f"{manifests} does not exist")
    policy = FloorPolicy()
    if policy_file is not None:
        try:
            policy = parse(FloorPolicy, yaml.safe_load(policy_file.read_text()) or {})
        except (OSError, yaml.YAMLError, ValueError) as exc:
            raise typer.BadParameter(f"{policy_file}: {exc}") from None
    state = _state_dir(state_dir)
    console = make_console()
    show = console.is_terminal if dashboard is None else dashboard
    try:
        check_state_dir(state)
    except ServiceError as exc:
        typer.echo(f"floor up: {exc}", err=True)
        raise typer.Exit(1) from None
    # logs go to a file: the terminal (or pipe) gets one plain line per message, never two formats
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"), stream=open(state / "floor.log", "a"))
    console.print(f"floor up: state in {state}/, log in {state / 'floor.log'}", markup=False)
    options = FloorOptions(
        manifests=manifests,
        state_dir=state,
        market=market,
        speed=speed,
        seed=seed,
        pattern=pattern,
        market_start_ms=parse_market_start(market_start) if market_start else None,
        duration_s=parse_duration(run_for) if run_for else None,
        dashboard=show,
        database_url=os.environ.get("DATABASE_URL") or None,
        redis_url=os.environ.get("REDIS_URL") or None,
        policy=policy,
    )
    if os.environ.get("FLOOR_STOP_WITH_PARENT") == "1":
        # for harnesses (tests, scripts) that start `floor up` in its own session: a harness that
        # dies sends no signal, so the kernel's parent-death signal stops the floor cleanly instead
        from tradingfloor.services.lifetime import stop_with_parent

        stop_with_parent(signal.SIGTERM)
    try:
        with floor_lock(state) as held:
            options.lock_held = held
            summary = asyncio.run(Floor(options, console).run())
    except KeyboardInterrupt:  # stopped while starting: the floor's shutdown has run
        console.print("floor stopped while starting", markup=False)
        return
    except (FloorAlreadyRunning, ServiceError) as exc:
        typer.echo(f"floor up: {exc}", err=True)
        raise typer.Exit(2 if isinstance(exc, FloorAlreadyRunning) else 1) from None
    _print_summary(console, summary)


def _print_summary(console, summary: dict) -> None:
    from floor_boss.local.dashboard import AgentRow, floor_totals

    if not summary.get("agents"):
        console.print("floor stopped (no summary: the database was not reachable at the end)", markup=False)
        return
    rows = [AgentRow(**a) for a in summary["agents"]]
    totals = floor_totals(rows)
    console.print(
        f"floor stopped: {totals['agents']} traders, {totals['trades']} trades, "
        f"P&L {totals['pnl']}, {totals['restarts']} restarts",
        markup=False,
    )


@commands.command("status")
def status(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    state_dir: Path | None = typer.Option(
        None, "--state-dir", help="The floor's data folder (FLOOR_STATE_DIR, default var/)."
    ),
) -> None:
    """Print the floor's agents once (the same table as the dashboard; never cut when piped)."""
    import asyncio
    import json
    import os

    from floor_boss.local.dashboard import render
    from floor_boss.local.status import read_status
    from tradingfloor.console import make_console
    from tradingfloor.services.embedded import ServiceError
    from tradingfloor.services.local import floor_database

    state = _state_dir(state_dir)
    try:
        with floor_database(state, os.environ.get("DATABASE_URL")) as url:
            rows, events, totals = asyncio.run(read_status(url, state))
    except (FileNotFoundError, ServiceError) as exc:
        typer.echo(f"floor status: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(
            json.dumps(
                {"agents": [r.to_json() for r in rows], "floor": totals, "events": events},
                default=str,
                indent=2,
            )
        )
        return
    console = make_console()
    console.print(render(rows, events, expand=console.is_terminal))
