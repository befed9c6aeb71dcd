"""CLI command of the simulator area (merged into the main ``floor`` app)."""

from __future__ import annotations

import typer

commands = typer.Typer(help="Polymarket-compatible simulator.")


@commands.command("sim")
def sim(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8765, help="Port for HTTP and WebSockets."),
    seed: int = typer.Option(1, help="Seed: the same seed gives the same market."),
    speed: float = typer.Option(1.0, min=0.001, help="Simulated seconds per wall second."),
    pattern: str = typer.Option("none", help="none | momentum | meanReversion"),
    assets: str = typer.Option("BTC,ETH", help="Comma-separated assets."),
    start_ms: int = typer.Option(
        0, help="Simulated start (ms since epoch); 0 = now, rounded down to the minute."
    ),
) -> None:
    """Serve a Polymarket-compatible simulator (Gamma, CLOB REST, market and spot WebSockets)."""
    import time

    from tradingfloor.market.events import parse_asset
    from tradingfloor.observability.logging import configure_logging
    from tradingfloor.sim.model import SimConfig, parse_pattern
    from tradingfloor.sim.server import run_simulator

    try:
        config = SimConfig(
            seed=seed,
            pattern=parse_pattern(pattern),
            assets=tuple(parse_asset(a.strip()) for a in assets.split(",") if a.strip()),
            start_ms=start_ms or int(time.time()) // 60 * 60_000,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    configure_logging("INFO")
    typer.echo(
        f"simulator on http://{host}:{port} (market WS /ws/market, spot WS /ws/spot), speed {speed}x, seed {seed}"
    )
    run_simulator(host, port, config, speed)
