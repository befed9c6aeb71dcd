"""``floor operator``: run the Floor Boss."""

from __future__ import annotations

import typer

commands = typer.Typer()
PROFILE_ENV = "FLOOR_OPERATOR_PROFILE"  # a file path: run the operator under cProfile, stats written there


@commands.command("operator")
def operator_command(
    namespace: list[str] = typer.Option([], "--namespace", "-n", help="Namespaces to watch (default: all)."),
    liveness: str = typer.Option("http://0.0.0.0:8080/healthz", help="kopf liveness endpoint."),
) -> None:
    """Run the Floor Boss operator (kopf) against the current cluster."""
    import asyncio
    import dataclasses
    import os

    import kopf

    from floor_boss.handlers import build_registry
    from floor_boss.settings import BossSettings
    from tradingfloor.observability.logging import configure_logging

    configure_logging(
        os.environ.get("LOG_LEVEL", "INFO")
    )  # `kubectl logs` of the operator shows its decisions
    settings = BossSettings.from_env()
    namespaces = tuple(namespace) or settings.namespaces
    registry = build_registry(dataclasses.replace(settings, namespaces=namespaces))
    operator = kopf.operator(
        registry=registry,
        standalone=True,
        clusterwide=not namespaces,
        namespaces=namespaces,
        liveness_endpoint=liveness,
    )
    profile = os.environ.get(PROFILE_ENV)
    if not profile:
        asyncio.run(operator)
        return
    import cProfile
    import time

    # Where the operator's CPU goes (benchmarks/bench_operator.py --profile), in CPU time so that
    # a busy machine does not blur it; written on a clean stop.
    with cProfile.Profile(time.process_time) as profiler:
        try:
            asyncio.run(operator)
        finally:
            profiler.dump_stats(profile)


@commands.command("collector")
def collector_command(
    asset: str = typer.Option(..., "--asset", help="Asset of the series, e.g. btc."),
    interval: str = typer.Option("15m", "--interval", help="Round length of the series: 5m, 15m or 1h."),
    metrics_port: int = typer.Option(
        None, "--metrics-port", help="Port of /metrics and /healthz (default: METRICS_PORT or 9108; 0: none)."
    ),
) -> None:
    """Run one market-data collector (the operator runs one per series its traders need)."""
    import asyncio
    import os

    from floor_boss.collector_process import run_collector
    from tradingfloor.observability.logging import configure_logging

    if asset.upper() not in ("BTC", "ETH"):
        raise typer.BadParameter(f"asset {asset!r} is not one of btc, eth", param_hint="--asset")
    if interval not in ("5m", "15m", "1h"):
        raise typer.BadParameter(f"interval {interval!r} is not one of 5m, 15m, 1h", param_hint="--interval")
    if metrics_port is None:
        raw = os.environ.get("METRICS_PORT", "9108")
        try:
            metrics_port = int(raw)
        except ValueError:
            raise typer.BadParameter(f"METRICS_PORT={raw!r} is not a port number") from None
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    try:
        asyncio.run(run_collector(asset, interval, metrics_port))
    except Exception as exc:
        typer.echo(f"collector {asset.lower()}-{interval} failed: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
