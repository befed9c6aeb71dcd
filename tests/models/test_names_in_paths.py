"""Agent names used in file paths are checked: nothing is written outside its folder."""

from __future__ import annotations

import pytest

from floor_boss.local.processes import AgentProcesses
from floor_boss.local.store import write_manifest
from tradingfloor.models.names import child_path, path_component
from tradingfloor.persistence.repositories import AgentRow

BAD = ["../../x", "a/b", "..", ".", "", "Momentum_BTC!", "a" * 64, "/etc/passwd", "x\x00y", "ñ"]


@pytest.mark.parametrize("name", BAD)
def test_bad_names_are_refused_by_name(name):
    with pytest.raises(ValueError, match="agent name"):
        path_component(name)


def test_good_name_stays_inside(tmp_path):
    assert child_path(tmp_path, "momentum-btc-g2-0a1b2c", ".yaml") == tmp_path / "momentum-btc-g2-0a1b2c.yaml"


@pytest.mark.parametrize("name", ["../../escaped", "a/../../b"])
def test_local_floor_writes_nothing_outside_its_state_dir(tmp_path, name):
    state = tmp_path / "state"
    row = AgentRow(name=name, kind="TraderAgent", spec={"strategy": "momentum"})
    with pytest.raises(ValueError, match="agent name"):
        write_manifest(row, state / "manifests")
    processes = AgentProcesses(state_dir=state, env={})
    with pytest.raises(ValueError, match="agent name"):
        processes.start(f"{name}-1", name, "TraderAgent", state / "m.yaml", 0)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == []
