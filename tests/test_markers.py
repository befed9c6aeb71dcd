"""Tests are classed unit / integration / e2e by what they use, not by a marker someone remembers."""

from __future__ import annotations

import importlib
from pathlib import PurePath

from tests.markers import imported_modules, speed_marker

ROOT = PurePath("/repo/tests")


def test_a_test_with_no_server_fixture_and_no_server_import_is_a_unit_test() -> None:
    assert (
        speed_marker(ROOT / "trading" / "test_x.py", ["tmp_path"], ROOT, {"tradingfloor.trading.ledger"})
        == "unit"
    )


def test_servers_and_processes_make_an_integration_test() -> None:
    assert speed_marker(ROOT / "agent" / "test_x.py", ["db_url"], ROOT) == "integration"
    assert speed_marker(ROOT / "sim" / "test_x.py", [], ROOT, {"tradingfloor.sim.server"}) == "integration"
    assert speed_marker(ROOT / "chart" / "test_x.py", [], ROOT) == "integration"
    # a module that imports subprocess starts processes of its own
    namespace = {"subprocess": importlib.import_module("subprocess"), "Path": PurePath}
    assert imported_modules(namespace) == {"subprocess", "pathlib"}
    assert speed_marker(ROOT / "floor" / "test_x.py", [], ROOT, imported_modules(namespace)) == "integration"


def test_the_operator_under_the_emulator_and_the_whole_floor_are_e2e() -> None:
    assert speed_marker(ROOT / "operator" / "test_x.py", [], ROOT) == "e2e"
    assert speed_marker(ROOT / "e2e" / "test_x.py", [], ROOT) == "e2e"
    assert speed_marker(ROOT / "floor" / "test_x.py", ["start_floor", "db_url"], ROOT) == "e2e"
