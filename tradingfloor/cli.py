"""The ``floor`` command.

Each area keeps its commands next to its code (``<area>/commands.py`` with a ``commands`` Typer);
this module merges them into one flat command set. Heavy imports happen inside the commands, so
``floor --help`` stays fast and the shared package never imports the operator or agents at load time.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import typer

from tradingfloor.observability.redact import install_excepthook

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    # Typer's pretty tracebacks print local variables (URLs, keys); ours go through redaction.
    pretty_exceptions_enable=False,
    help="Trading Floor: a self-managing trading floor for Polymarket's short crypto rounds.",
)

AREA_COMMANDS = [
    "tradingfloor.market.commands",  # record
    "tradingfloor.sim.commands",  # sim
    "tradingfloor.backtest.commands",  # backtest
    "floor_agents.commands",  # agent, audit, report
    "floor_boss.commands",  # operator
    "floor_boss.local.commands",  # up, status
    "tradingfloor.status.commands",  # explain
]


CRD_FOLDERS = (Path("crds"), Path("charts/trading-floor/crds"))


@app.command()
def crds(
    out: list[Path] = typer.Option(
        list(CRD_FOLDERS), help="Folders to write the CRD YAML files into (repeatable)."
    ),
    check: bool = typer.Option(
        False, "--check", help="Fail if the files differ from what the models generate."
    ),
) -> None:
    """Write the CustomResourceDefinitions generated from the typed models (crds/ and the chart's copy)."""
    from tradingfloor.models.crd import stale_crds, write_crds

    if check:
        stale = {folder: stale_crds(folder) for folder in out}
        for folder, names in stale.items():
            if names:
                typer.echo(f"out of date in {folder}/: {', '.join(names)} — run `floor crds`", err=True)
            else:
                typer.echo(f"{folder}/ is up to date")
        if any(stale.values()):
            raise typer.Exit(1)
        return
    for folder in out:
        for path in write_crds(folder):
            typer.echo(f"wrote {path}")


@app.command()
def validate(
    files: list[Path] = typer.Argument(..., help="Manifest files (YAML, may hold several documents)."),
) -> None:
    """Check manifests against the typed models; print each problem with the field it concerns."""
    from tradingfloor.models.manifests import ManifestError, load_manifests

    failed = False
    for path in files:
        try:
            for resource in load_manifests(path):
                typer.echo(f"ok   {path}: {resource.kind}/{resource.metadata.get('name')}")
        except ManifestError as exc:
            failed = True
            typer.echo(f"FAIL {exc}", err=True)
    if failed:
        raise typer.Exit(1)


def _merge_area_commands() -> None:
    for module_name in AREA_COMMANDS:
        module = importlib.import_module(module_name)
        app.registered_commands.extend(module.commands.registered_commands)
        app.registered_groups.extend(module.commands.registered_groups)


_merge_area_commands()
install_excepthook()

if __name__ == "__main__":
    app()
