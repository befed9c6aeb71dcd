"""The market and simulator areas' CLI commands are registered in ``floor`` and validate their input."""

from typer.testing import CliRunner

from tradingfloor.cli import app
from tradingfloor.market.commands import commands as market_commands
from tradingfloor.sim.commands import commands as sim_commands


def test_commands_are_registered_with_their_options():
    assert {c.name for c in market_commands.registered_commands} == {"record", "record-convert"}
    assert {c.name for c in sim_commands.registered_commands} == {"sim"}
    assert {"sim", "record"} <= {c.name for c in app.registered_commands}
    runner = CliRunner()
    out = runner.invoke(app, ["sim", "--help"]).output
    assert "--speed" in out and "--pattern" in out and "--seed" in out
    bad = runner.invoke(app, ["sim", "--pattern", "trend"])
    assert bad.exit_code != 0 and "pattern" in bad.output
