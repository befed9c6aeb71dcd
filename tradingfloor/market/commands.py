"""CLI commands of the market-data area (merged into the main ``floor`` app)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

commands = typer.Typer(help="Market data: recorder.")


@commands.command("record")
def record(
    output: Path = typer.Option(..., "--output", "-o", help="Recording file (.frames.gz)."),
    asset: str = typer.Option("BTC"),
    interval: str = typer.Option("15m"),
    duration: float = typer.Option(60.0, min=0.1, help="Wall seconds to record."),
    gamma_url: str = typer.Option(None, help="Gamma base URL (default: settings)."),
    clob_url: str = typer.Option(None, help="CLOB base URL (default: settings)."),
    market_ws_url: str = typer.Option(None, help="Market WebSocket URL (default: settings)."),
    spot_ws_url: str = typer.Option(None, help="RTDS-style spot WebSocket URL (optional)."),
) -> None:
    """Write raw market (and spot) frames, as received, with receive timestamps to a gzip recording."""
    from tradingfloor.market.record import record as do_record
    from tradingfloor.observability.logging import configure_logging
    from tradingfloor.settings import Settings

    configure_logging("INFO")
    s = Settings.from_env()
    frames = asyncio.run(
        do_record(
            output,
            asset.upper(),
            interval,
            duration,
            gamma_url=gamma_url or s.gamma_url,
            clob_url=clob_url or s.clob_url,
            market_ws_url=market_ws_url or s.market_ws_url,
            spot_ws_url=spot_ws_url,
        )
    )
    typer.echo(f"{frames} frames written to {output}")


@commands.command("record-convert")
def record_convert(
    source: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="A recording (any readable version)."
    ),
    output: Path = typer.Argument(..., help="Where to write it in the current format (.frames.gz)."),
) -> None:
    """Rewrite a recording in the current format (frames stored as received; docs/recording-format.md)."""
    from tradingfloor.market.recorder import RecordingError, convert_recording

    if output.resolve() == source.resolve():
        raise typer.BadParameter("the output must be a different file from the source")
    try:
        frames = convert_recording(source, output)
    except RecordingError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"{frames} frames written to {output}")
