"""``floor operator``: run the Floor Boss."""

from __future__ import annotations

import typer

commands = typer.Typer()


@commands.command("operator")
def operator_command(
    namespace: list[str] = typer.Option([], "--namespace", "-n", help="Namespaces to watch (default: all)."),
    liveness: str = typer.Option("http://0.0.0.0:8080/healthz", help="kopf liveness endpoint."),
) -> None:
    """Run the Floor Boss operator (kopf) against the current cluster."""
    import asyncio
    import dataclasses

    import kopf

    from floor_boss.handlers import build_registry
    from floor_boss.settings import BossSettings

    settings = BossSettings.from_env()
    namespaces = tuple(namespace) or settings.namespaces
    registry = build_registry(dataclasses.replace(settings, namespaces=namespaces))
    asyncio.run(
        kopf.operator(
            registry=registry,
            standalone=True,
            clusterwide=not namespaces,
            namespaces=namespaces,
            liveness_endpoint=liveness,
        )
    )
