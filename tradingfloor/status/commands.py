"""``floor explain AGENT``: the evidence behind the Floor Boss's decisions about one agent."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

commands = typer.Typer()


async def _from_database(url: str, name: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, str | None]]:
    from tradingfloor.persistence.db import create_pool
    from tradingfloor.persistence.repositories import list_agents

    pool = await create_pool(url)
    try:
        rows = await list_agents(pool, kind="TraderAgent")
    finally:
        await pool.close()
    parents = {r.name: r.parent or (r.spec.get("lineage") or {}).get("parent") for r in rows}
    row = next((r for r in rows if r.name == name), None)
    if row is None:
        raise LookupError(
            f"no TraderAgent named {name!r} on this floor (known: {', '.join(sorted(parents)) or 'none'})"
        )
    return row.spec, row.status or {}, parents


async def _from_kubernetes(
    name: str, namespace: str, server: str | None
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str | None]]:
    from kubernetes_asyncio import client, config

    from tradingfloor.models.common import GROUP, VERSION

    configuration = client.Configuration()
    if server:
        configuration.host = server
    else:
        try:
            config.load_incluster_config(client_configuration=configuration)
        except config.ConfigException:
            await config.load_kube_config(client_configuration=configuration)  # honours KUBECONFIG
    async with client.ApiClient(configuration) as api:
        objects = client.CustomObjectsApi(api)
        items = (await objects.list_namespaced_custom_object(GROUP, VERSION, namespace, "traderagents"))[
            "items"
        ]
    parents = {
        i["metadata"]["name"]: ((i.get("spec") or {}).get("lineage") or {}).get("parent") for i in items
    }
    body = next((i for i in items if i["metadata"]["name"] == name), None)
    if body is None:
        raise LookupError(f"no TraderAgent named {name!r} in namespace {namespace}")
    return body.get("spec") or {}, body.get("status") or {}, parents


@commands.command("explain")
def explain(
    agent: str = typer.Argument(..., help="The TraderAgent's name."),
    kube: bool = typer.Option(
        False, "--kube", help="Read the resource from Kubernetes instead of the local floor."
    ),
    namespace: str = typer.Option("default", "--namespace", "-n", help="With --kube: the namespace."),
    server: str | None = typer.Option(None, "--server", help="With --kube: an explicit API server URL."),
    state_dir: Path | None = typer.Option(
        None, "--state-dir", help="The local floor's data (FLOOR_STATE_DIR, default var/)."
    ),
    policy_file: Path | None = typer.Option(None, "--policy", help="YAML of the Floor Boss policy in force."),
) -> None:
    """Print the evidence behind the Floor Boss's last decision about AGENT and where it stands
    against the clone and retire bar now (trades, bounds, break-even, PSR/DSR, family size, thresholds)."""
    import asyncio

    import yaml

    from tradingfloor.decisions import FloorPolicy
    from tradingfloor.decisions.explain import explain as render
    from tradingfloor.decisions.explain import family_size
    from tradingfloor.structs import parse

    try:
        policy = (
            parse(FloorPolicy, yaml.safe_load(policy_file.read_text()) or {})
            if policy_file
            else FloorPolicy()
        )
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise typer.BadParameter(f"{policy_file}: {exc}") from None
    try:
        if kube:
            spec, status, parents = asyncio.run(_from_kubernetes(agent, namespace, server))
        else:
            from tradingfloor.services.local import floor_database

            state = state_dir or Path(os.environ.get("FLOOR_STATE_DIR") or "var")
            with floor_database(state, os.environ.get("DATABASE_URL")) as url:
                spec, status, parents = asyncio.run(_from_database(url, agent))
    except (LookupError, FileNotFoundError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    for line in render(agent, spec, status, policy, family_size(agent, parents)):
        typer.echo(line)
