"""``floor agent trader|auditor|monitor``, ``floor audit verify`` and ``floor report``."""

from __future__ import annotations

from pathlib import Path

import typer

from floor_agents.entry import check_source, run_agent

commands = typer.Typer()
agent_app = typer.Typer(
    no_args_is_help=True, help="Run one agent process (what a Pod or the local floor starts)."
)
audit_app = typer.Typer(no_args_is_help=True, help="Audit-log tools.")
commands.add_typer(agent_app, name="agent")
commands.add_typer(audit_app, name="audit")

ManifestOpt = typer.Option(None, "--manifest", "-f", help="The agent's manifest file (local floor).")
ResourceOpt = typer.Option(None, "--resource", help="The agent's custom resource name (Kubernetes).")
NamespaceOpt = typer.Option("default", "--namespace", help="Namespace of --resource.")
StateDirOpt = typer.Option(
    None, "--state-dir", envvar="FLOOR_STATE_DIR", help="The local floor's data folder (default var/)."
)
MetricsPortOpt = typer.Option(
    9100, "--metrics-port", envvar="METRICS_PORT", help="Port for /metrics and /healthz (0 = off)."
)


def _source(manifest: Path | None, resource: str | None) -> None:
    try:
        check_source(manifest, resource)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _agent_command(name: str, doc: str) -> None:
    """``floor agent <name>``: each agent kind takes the same options as ``floor-agent <name>``
    (:mod:`floor_agents.entry`, what Pods and the local floor run) and runs the same code."""

    def command(
        manifest: Path | None = ManifestOpt,
        resource: str | None = ResourceOpt,
        namespace: str = NamespaceOpt,
        metrics_port: int = MetricsPortOpt,
    ) -> None:
        _source(manifest, resource)
        run_agent(name, manifest, resource, namespace, metrics_port)

    command.__doc__ = doc
    agent_app.command(name)(command)


_agent_command("trader", "Run a trader agent: market events → strategy → sizing → risk → broker.")
_agent_command("auditor", "Run the auditor: re-check every trade, keep the hash-chained audit log.")
_agent_command("monitor", "Run the monitor: performance every interval, status summaries, alerts, reports.")


@audit_app.command("verify")
def audit_verify(
    database_url: str | None = typer.Option(
        None, envvar="DATABASE_URL", help="PostgreSQL URL (default: the local floor's)."
    ),
    state_dir: Path | None = StateDirOpt,
    key_file: Path | None = typer.Option(
        None, help="File holding the audit key (default: $AUDIT_HMAC_KEY, else <state dir>/audit/hmac.key)."
    ),
    head_file: Path | None = typer.Option(
        None, help="The exported chain head (default: <state dir>/audit/head.json)."
    ),
    head_configmap: str | None = typer.Option(
        None, help="Read the exported head from this ConfigMap instead (Kubernetes)."
    ),
    namespace: str = typer.Option("default", help="Namespace of --head-configmap."),
) -> None:
    """Prove the audit log intact (its key, its chain, its exported head), or name the first bad entry."""
    from floor_agents.auditor.verify import main

    raise typer.Exit(
        main(
            database_url=database_url,
            state_dir=state_dir,
            key_file=key_file,
            head_file=head_file,
            head_configmap=head_configmap,
            namespace=namespace,
        )
    )


@commands.command("report")
def report(
    hourly: bool = typer.Option(False, "--hourly"),
    daily: bool = typer.Option(False, "--daily"),
    out: Path | None = typer.Option(
        None, help="Folder for the report and its pictures (default: <state dir>/reports)."
    ),
    fmt: str = typer.Option("markdown", "--format", help="markdown or html"),
    database_url: str | None = typer.Option(None, envvar="DATABASE_URL"),
    state_dir: Path | None = StateDirOpt,
) -> None:
    """Write an hourly or daily performance report with equity and drawdown pictures."""
    if hourly == daily:
        raise typer.BadParameter("give exactly one of --hourly or --daily")
    from floor_agents.monitor.report import main

    raise typer.Exit(
        main(
            window="hourly" if hourly else "daily",
            out=out,
            fmt=fmt,
            database_url=database_url,
            state_dir=state_dir,
        )
    )
