"""Every command explains itself: help text with an example, reachable with --help."""

from __future__ import annotations

import typer
from typer.main import get_command
from typer.testing import CliRunner

from cli.app import app


def all_commands(group=None, path=()):  # type: ignore[no-untyped-def]
    group = group or get_command(app)
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from all_commands(command, (*path, name))
        else:
            yield (*path, name), command


def test_every_command_has_help_with_an_example() -> None:
    commands = list(all_commands())
    assert len(commands) >= 8
    for path, command in commands:
        assert command.help, f"{' '.join(path)} has no help"
        assert "Example: scoreledger" in command.help, f"{' '.join(path)} help shows no example"


def test_help_runs_for_every_command() -> None:
    runner = CliRunner()
    for path, _ in all_commands():
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output


def test_unknown_option_is_one_clear_error() -> None:
    result = CliRunner().invoke(app, ["ingest", "--nope", "x"])
    assert result.exit_code == 2
    assert "No such option" in result.output
    assert isinstance(app, typer.Typer)
