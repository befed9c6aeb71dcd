"""The Roster's incremental lineage index gives every trader the family the plain definition gives:
traders of its namespace sharing its lineage root (the lineage-root label, else the parent chain
through the listed traders), whatever the order agents arrive, change and go in."""

from __future__ import annotations

import random
from collections.abc import Iterable

import pytest

from floor_boss.reconciler import AgentRecord, Reconciler, Roster, root_from_parents
from tradingfloor.decisions.evolution import LABEL_PARENT, LABEL_ROOT, root_from_labels

NAMES = [f"t{i}" for i in range(12)]


def family_by_definition(agent: AgentRecord, agents: Iterable[AgentRecord]) -> set[str]:
    """The family as the reconciler defined it before the index: a scan of every agent."""
    listed = [a for a in agents if a.kind == "TraderAgent" and a.namespace == agent.namespace]
    parents = {
        a.name: (a.spec.get("lineage") or {}).get("parent") or a.labels.get(LABEL_PARENT) for a in listed
    }

    def root(a: AgentRecord) -> str:
        if a.labels.get(LABEL_ROOT):
            return root_from_labels(a.name, dict(a.labels))
        return root_from_parents(a.name, parents)

    mine = root(agent)
    return {a.name for a in listed if root(a) == mine}


def random_trader(rng: random.Random, name: str, namespace: str) -> AgentRecord:
    spec: dict[str, object] = {"strategy": "momentum"}
    labels: dict[str, str] = {}
    parent = rng.choice([None, None, *NAMES])  # parents may be missing, unlisted, or form cycles
    if parent is not None and parent != name:
        if rng.random() < 0.5:
            spec["lineage"] = {"parent": parent, "generation": 1}
        else:
            labels[LABEL_PARENT] = parent
    if rng.random() < 0.2:
        labels[LABEL_ROOT] = rng.choice(NAMES)
    return AgentRecord(
        kind="TraderAgent", name=name, namespace=namespace, spec=spec, status={}, labels=labels
    )


@pytest.mark.parametrize("seed", range(40))
def test_family_matches_the_definition_through_puts_updates_and_drops(seed: int) -> None:
    rng = random.Random(seed)
    roster = Roster()
    for _ in range(60):
        namespace = rng.choice(["a", "b"])
        name = rng.choice(NAMES)
        key = ("TraderAgent", namespace, name)
        if roster.get(key) is not None and rng.random() < 0.3:
            roster.drop(key)
        else:
            roster.put(random_trader(rng, name, namespace))
        agents = list(roster)
        for agent in agents:
            assert {m.name for m in roster.family(agent)} == family_by_definition(agent, agents), agent
    stranger = random_trader(rng, "unlisted", "a")  # not in the roster: no member of its own family
    assert {m.name for m in roster.family(stranger)} == family_by_definition(stranger, list(roster))


def test_members_carry_parent_and_current_status() -> None:
    root = AgentRecord(kind="TraderAgent", name="root", namespace="n", spec={}, status={})
    child = AgentRecord(
        kind="TraderAgent", name="child", namespace="n", spec={"lineage": {"parent": "root"}}, status={}
    )
    monitor = AgentRecord(kind="Monitor", name="root", namespace="n", spec={}, status={})
    roster = Roster([root, child, monitor])
    performance = {"trades": 30, "winRate": 0.6}
    roster.put(
        AgentRecord(
            kind="TraderAgent", name="root", namespace="n", spec={}, status={"performance": performance}
        )
    )
    family = {m.name: m for m in Reconciler.family(child, roster)}
    assert set(family) == {"root", "child"}  # the Monitor of the same name is no trader
    assert family["child"].parent == "root" and family["root"].parent is None
    assert len(roster) == 3
    roster.drop(("TraderAgent", "n", "root"))
    assert {m.name for m in roster.family(child)} == {"child"}  # its chain now ends at the gone root
    assert Reconciler.family(child, [child]) == roster.family(child)  # a plain list reads the same
