"""The area's CLI commands are registered and validate their input."""

from typer.testing import CliRunner

from tradingfloor.market.commands import commands


def test_commands_are_registered_with_their_options():
    names = {c.name for c in commands.registered_commands}
    assert names == {"sim", "record"}
    runner = CliRunner()
    out = runner.invoke(commands, ["sim", "--help"]).output
    assert "--speed" in out and "--pattern" in out and "--seed" in out
    bad = runner.invoke(commands, ["sim", "--pattern", "trend"])
    assert bad.exit_code != 0 and "pattern" in bad.output
