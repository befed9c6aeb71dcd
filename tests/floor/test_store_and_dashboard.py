"""The local floor's state store (manifests as desired state) and its table, against real PostgreSQL."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from floor_boss.local.commands import parse_duration
from floor_boss.local.dashboard import floor_totals, render, rows_from_agents
from floor_boss.local.manifest_watch import ManifestWatch
from floor_boss.local.processes import ProcessState
from floor_boss.local.store import LocalStore, write_manifest
from floor_boss.local.supervisor import instance_of, root_from_parents
from tradingfloor.models.manifests import ManifestError, parse_resource
from tradingfloor.persistence import repositories as repo
from tradingfloor.persistence.db import create_pool
from tradingfloor.persistence.migrate import migrate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
async def store(db_url):
    await migrate(db_url)
    pool = await create_pool(db_url)
    yield LocalStore(pool)
    await pool.close()


def momentum_doc() -> dict:
    return yaml.safe_load((EXAMPLES / "momentum-btc.yaml").read_text())


async def test_manifests_are_applied_once_and_decisions_survive(store):
    scan = ManifestWatch(EXAMPLES).scan()
    resources = scan.resources
    assert scan.new_errors == {}
    applied = await store.apply_manifests(resources)
    assert sorted(applied) == sorted(f"created {r.kind}/{r.metadata['name']}" for r in resources)
    # the Floor Boss pauses an agent; re-reading the unchanged files must not undo that
    await store.set_lifecycle("momentum-btc", "Paused")
    assert await store.apply_manifests(resources) == []
    assert (await repo.get_agent(store.pool, "momentum-btc")).spec["lifecycle"] == "Paused"
    # an edited file is the user's new desired state
    doc = momentum_doc()
    doc["spec"]["risk"]["riskPerTradeBps"] = 100
    assert await store.apply_manifests([parse_resource(doc)]) == ["updated TraderAgent/momentum-btc"]
    agent = await repo.get_agent(store.pool, "momentum-btc")
    assert agent.spec["risk"]["riskPerTradeBps"] == 100 and agent.spec["lifecycle"] == "Active"


async def test_forbidden_edits_are_refused(store):
    await store.apply_manifests([parse_resource(momentum_doc())])
    await store.set_lifecycle("momentum-btc", "Retired")
    doc = momentum_doc()
    doc["spec"]["risk"]["riskPerTradeBps"] = 150
    with pytest.raises(ManifestError, match="Retired"):
        await store.apply_manifests([parse_resource(doc)])
    changed = copy.deepcopy(momentum_doc())
    changed["metadata"]["name"] = "other"
    await store.apply_manifests([parse_resource(changed)])
    changed["spec"]["strategy"] = "meanReversion"
    changed["spec"]["params"] = {}
    with pytest.raises(ManifestError, match="immutable"):
        await store.apply_manifests([parse_resource(changed)])


async def test_clones_are_idempotent_and_written_as_manifests(store, tmp_path):
    await store.apply_manifests([parse_resource(momentum_doc())])
    clone = momentum_doc()
    clone["metadata"] = {
        "name": "momentum-btc-g1-abc123",
        "labels": {"tradingfloor.dev/parent": "momentum-btc"},
    }
    clone["spec"]["lineage"] = {"parent": "momentum-btc", "generation": 1, "variation": "thresholdBps=55"}
    assert await store.create_clone(clone) == "momentum-btc-g1-abc123"
    assert await store.create_clone(clone) == "momentum-btc-g1-abc123"
    row = await repo.get_agent(store.pool, "momentum-btc-g1-abc123")
    assert row.parent == "momentum-btc" and row.generation == 1
    path = write_manifest(row, tmp_path)
    assert parse_resource(yaml.safe_load(path.read_text())).spec.lineage.variation == "thresholdBps=55"


def test_bad_manifest_files_are_reported_not_fatal(tmp_path):
    (tmp_path / "good.yaml").write_text((EXAMPLES / "monitor.yaml").read_text())
    (tmp_path / "bad.yaml").write_text(
        (EXAMPLES / "momentum-btc.yaml").read_text().replace("strategy: momentum", "strategy: astrology")
    )
    scan = ManifestWatch(tmp_path).scan()
    assert [r.kind for r in scan.resources] == ["Monitor"]
    (error,) = scan.new_errors.values()
    assert "bad.yaml" in error and "strategy" in error


def test_instances_lineage_and_durations():
    assert instance_of(ProcessState("a-0", 10, 1.0)).state == "running"
    assert instance_of(ProcessState("a-0", 10, 1.0, 2.0, 0)).state == "succeeded"
    failed = instance_of(ProcessState("a-0", 10, 1.0, 2.0, -9))
    assert failed.state == "failed" and failed.detail == "exit code -9"
    parents = {"c": "b", "b": "a", "a": None, "x": "y", "y": "x"}
    assert root_from_parents("c", parents) == "a"
    assert root_from_parents("x", parents) in ("x", "y")  # a cycle ends instead of looping
    assert [parse_duration(t) for t in ("90", "90s", "10m", "2h")] == [90, 90, 600, 7200]
    with pytest.raises(Exception, match="not a duration"):
        parse_duration("ten minutes")


def test_dashboard_renders_every_agent_and_totals():
    agents = [
        {
            "name": "momentum-btc",
            "kind": "TraderAgent",
            "spec": momentum_doc()["spec"],
            "status": {
                "phase": "Running",
                "performance": {"pnl": "12.5", "winRate": "0.6", "trades": 10},
                "restarts": {"total": 2},
            },
        },
        {
            "name": "momentum-btc-g1-x",
            "kind": "TraderAgent",
            "spec": {**momentum_doc()["spec"], "lineage": {"parent": "momentum-btc", "generation": 1}},
            "status": {"phase": "Backoff", "performance": {"pnl": "-2.5", "trades": 3}},
        },
        {"name": "auditor", "kind": "Auditor", "spec": {}, "status": {"phase": "Running"}},
    ]
    rows = rows_from_agents(agents, {"momentum-btc": 4.0})
    assert floor_totals(rows) == {"agents": 2, "running": 1, "trades": 13, "pnl": "10.0", "restarts": 2}
    console = Console(record=True, width=160)
    console.print(
        render(
            rows,
            [
                {
                    "ts": "2026-11-22T10:00:00",
                    "agent": "momentum-btc",
                    "type": "Restarted",
                    "message": "started momentum-btc-3",
                }
            ],
        )
    )
    text = console.export_text()
    for expected in (
        "momentum-btc",
        "← momentum-btc g1",
        "+12.50",
        "60.0%",
        "Backoff",
        "4s ago",
        "Restarted",
        "13 trades",
    ):
        assert expected in text


async def test_floor_capital_is_the_active_traders_capital(store):
    from floor_boss.local.floor import floor_capital

    await store.apply_manifests(ManifestWatch(EXAMPLES).scan().resources)
    assert floor_capital(await store.agents()) == 1000 + 1000 + 1500  # the three example traders
    await store.set_lifecycle("volume-spike-eth", "Retired")
    assert floor_capital(await store.agents()) == 2000
