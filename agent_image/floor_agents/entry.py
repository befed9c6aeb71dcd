"""The agent process entry: ``floor-agent trader|auditor|monitor (-f FILE | --resource NAME)``.

What a Pod (``floor-agent``) and the local floor (``python -m floor_agents``) run, and what
``floor agent <kind>`` calls. It parses its few options with the standard library's argparse instead
of going through the ``floor`` CLI: the CLI loads typer and every area's commands, about 2 MiB per
agent process that an agent never uses (docs/trader-agent.md, "Memory of a trader process").
"""

from __future__ import annotations

import argparse
import importlib
import os
from collections.abc import Sequence
from pathlib import Path

# The `floor agent <command>` of each kind (tradingfloor.decisions.kinds.COMMANDS, kept equal by a
# test; not imported here because that table builds every kind's models).
AGENT_COMMANDS = ("trader", "auditor", "monitor")
DEFAULT_METRICS_PORT = 9100


def check_source(manifest: Path | None, resource: str | None) -> None:
    """An agent reads its manifest from exactly one place."""
    if (manifest is None) == (resource is None):
        raise ValueError("give exactly one of --manifest or --resource")


def run_agent(
    kind: str, manifest: Path | None, resource: str | None, namespace: str, metrics_port: int
) -> None:
    """Run agent ``kind`` (``floor_agents.<kind>.main``) until it is stopped."""
    if kind not in AGENT_COMMANDS:
        raise ValueError(f"unknown agent {kind!r}; expected one of {', '.join(AGENT_COMMANDS)}")
    check_source(manifest, resource)
    main = importlib.import_module(f"floor_agents.{kind}.main").main
    main(manifest=manifest, resource=resource, namespace=namespace, metrics_port=metrics_port)


def _metrics_port_default(parser: argparse.ArgumentParser) -> int:
    raw = os.environ.get("METRICS_PORT")
    if raw is None or not raw.strip():
        return DEFAULT_METRICS_PORT
    try:
        return int(raw)
    except ValueError:
        parser.error(f"METRICS_PORT={raw!r} is not a port number")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="floor-agent",
        description="Run one agent process (what a Pod or the local floor starts).",
    )
    p.add_argument("kind", choices=AGENT_COMMANDS, help="the agent to run")
    p.add_argument("--manifest", "-f", type=Path, help="the agent's manifest file (local floor)")
    p.add_argument("--resource", help="the agent's custom resource name (Kubernetes)")
    p.add_argument("--namespace", default="default", help="namespace of --resource (default: default)")
    p.add_argument(
        "--metrics-port",
        type=int,
        help=f"port for /metrics and /healthz, 0 = off (default: $METRICS_PORT, else {DEFAULT_METRICS_PORT})",
    )
    return p


def main(argv: Sequence[str] | None = None) -> None:
    from tradingfloor.observability.redact import install_excepthook

    install_excepthook()  # as the floor CLI does: an uncaught error's traceback is printed redacted
    p = parser()
    args = p.parse_args(argv)
    try:
        check_source(args.manifest, args.resource)
    except ValueError as exc:
        p.error(str(exc))
    port = args.metrics_port if args.metrics_port is not None else _metrics_port_default(p)
    run_agent(args.kind, args.manifest, args.resource, args.namespace, port)
