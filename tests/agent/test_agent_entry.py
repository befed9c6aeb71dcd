"""The agent process entry (``floor-agent``, ``python -m floor_agents``): what Pods and the local floor
run. It takes the options of ``floor agent <kind>`` and refuses what that command refuses, with the
same message; a trader started through it runs in tests/agent (chaos, catch-up, timers) and the
local floor's tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from floor_agents.entry import AGENT_COMMANDS, parser
from tradingfloor.decisions.kinds import COMMANDS

REPO = Path(__file__).resolve().parents[2]
MANIFEST = str(REPO / "examples" / "momentum-btc.yaml")


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "floor_agents", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO,
    )


def test_the_entry_knows_every_kind_of_the_kinds_table():
    assert sorted(AGENT_COMMANDS) == sorted(COMMANDS.values())


def test_options_are_those_of_floor_agent():
    args = parser().parse_args(["trader", "-f", MANIFEST, "--metrics-port", "0"])
    assert (args.kind, args.manifest, args.resource, args.namespace, args.metrics_port) == (
        "trader",
        Path(MANIFEST),
        None,
        "default",
        0,
    )
    args = parser().parse_args(["auditor", "--resource", "audit", "--namespace", "floor"])
    assert (args.kind, args.manifest, args.resource, args.namespace) == ("auditor", None, "audit", "floor")


@pytest.mark.parametrize(
    "args", [["trader"], ["trader", "-f", MANIFEST, "--resource", "btc-momo"]], ids=["neither", "both"]
)
def test_exactly_one_manifest_source(args):
    result = _run(*args)
    assert result.returncode == 2
    assert "give exactly one of --manifest or --resource" in result.stderr


def test_floor_agent_trader_refuses_the_same():
    result = subprocess.run(
        [sys.executable, "-m", "tradingfloor.cli", "agent", "trader"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert "give exactly one of --manifest or --resource" in result.stderr


def test_an_unknown_kind_is_named():
    result = _run("trder", "-f", MANIFEST)
    assert result.returncode == 2
    assert "invalid choice: 'trder'" in result.stderr and "trader" in result.stderr


def test_a_bad_metrics_port_in_the_environment_is_named():
    result = _run("trader", "-f", MANIFEST, env={**os.environ, "METRICS_PORT": "ninety"})
    assert result.returncode == 2
    assert "METRICS_PORT='ninety' is not a port number" in result.stderr


def test_a_bad_manifest_names_the_file_and_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(MANIFEST).read_text().replace("  strategy: momentum", "  strategy: astrology"))
    result = _run("trader", "-f", str(bad), "--metrics-port", "0")
    assert result.returncode == 1
    assert (
        f"ManifestError: {bad}#0: TraderAgent/momentum-btc: spec.strategy: Invalid enum value 'astrology': "
        "expected one of 'meanReversion', 'momentum'" in result.stderr
    )
