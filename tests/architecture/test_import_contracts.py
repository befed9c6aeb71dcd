"""The import contracts in .importlinter hold on the tree, and break on a change that breaks the layers.

Each case copies the three packages and the contract file to a temporary directory, adds one
import that the architecture forbids, and runs ``lint-imports`` on the copy: it must fail and name
both the broken contract and the offending import.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("tradingfloor", "operator/floor_boss", "agent_image/floor_agents")


def _copy_tree(dest: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, dest / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", dest / ".importlinter")
    return dest


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    # The copy comes first on the path, ahead of the editable install of the real tree.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(tree / p) for p in (".", "operator", "agent_image")),
    }
    lint = Path(sys.executable).parent / "lint-imports"
    return subprocess.run(
        [str(lint), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint_imports(_copy_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "contract", "reported"),
    [
        (
            "tradingfloor/trading/ledger.py",
            "import redis",
            "The pure core imports no I/O library",
            "tradingfloor.trading.ledger -> redis",
        ),
        (
            "tradingfloor/strategies/base.py",
            "from tradingfloor.persistence import db",
            "The pure core imports no adapter",
            "tradingfloor.strategies.base -> tradingfloor.persistence",
        ),
        (
            "tradingfloor/models/common.py",
            "import floor_boss.pods",
            "above the shared domain",
            "tradingfloor.models.common -> floor_boss.pods",
        ),
        (
            # the strategies <-> models cycle that decimal_fields.py removed
            "tradingfloor/strategies/params.py",
            "from tradingfloor.models import common",
            "Inside the core",
            "tradingfloor.strategies.params -> tradingfloor.models.common",
        ),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, bad_import: str, contract: str, reported: str
) -> None:
    tree = _copy_tree(tmp_path)
    with (tree / module).open("a") as source:
        source.write(f"\n{bad_import}  # the violation under test\n")
    result = _lint_imports(tree)
    assert result.returncode != 0
    flat = " ".join(result.stdout.split())  # the report wraps long contract names
    assert re.search(re.escape(contract) + r"(?:(?!KEPT).)*? BROKEN", flat), result.stdout
    assert reported in result.stdout
