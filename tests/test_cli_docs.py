"""Every command and group explains itself: help text with an example, reachable with --help
and -h, without type placeholders on flags or arguments."""

from __future__ import annotations

import re

import typer
from typer.main import get_command
from typer.testing import CliRunner

from cli.app import app


def all_commands(group=None, path=()):
    """(path, command) for every command and group below `group`, groups included."""
    group = group or get_command(app)
    for name, command in group.commands.items():
        yield (*path, name), command
        if hasattr(command, "commands"):
            yield from all_commands(command, (*path, name))


def test_every_command_and_group_has_help_with_an_example() -> None:
    commands = list(all_commands())
    assert len(commands) >= 15
    assert any(hasattr(command, "commands") for _, command in commands), "no group found"
    for path, command in [((), get_command(app)), *commands]:
        name = " ".join(("scoreledger", *path))
        assert command.help, f"{name} has no help"
        assert "Example: scoreledger" in command.help, f"{name} help shows no example"


def test_help_runs_for_every_command_with_h_and_help() -> None:
    runner = CliRunner()
    for path, command in [((), get_command(app)), *all_commands()]:
        example = next(line.strip() for line in command.help.splitlines() if "Example: scoreledger" in line)
        for flag in ("--help", "-h"):
            result = runner.invoke(app, [*path, flag])
            assert result.exit_code == 0, (path, flag, result.output)
            assert "Usage" in result.output, (path, flag)
            # The example is printed whole on one line, so that it pastes as one command.
            assert any(line.strip() == example for line in result.output.splitlines()), (path, result.output)
            # Flags take no value, so help shows none; values are named, not typed in brackets.
            assert "<bool>" not in result.output, (path, result.output)
            options = [line for line in result.output.splitlines() if line.lstrip().startswith("-")]
            assert options and not any(re.search(r"<\w+>", line) for line in options), (path, result.output)
            # Arguments are named in capitals, as command-line tools name them: no {path}, no <list[str]>.
            assert not re.search(r"<[\w\[\]]+>|\{\w+\}", result.output), (path, result.output)


def test_arguments_are_shown_in_capitals_in_usage_and_help() -> None:
    runner = CliRunner()
    ingest = runner.invoke(app, ["ingest", "--help"]).output
    assert re.search(r"Usage: \S+ ingest \[OPTIONS\] PATH\n", ingest), ingest
    assert re.search(r"^  PATH  CSV or JSON Lines", ingest, re.M), ingest
    retract = runner.invoke(app, ["retract", "--help"]).output
    assert re.search(r"retract \[OPTIONS\] SOURCE_KEYS\.\.\.\n", retract), retract
    values = runner.invoke(app, ["schedule", "set", "--help"]).output
    assert re.search(r"set \[OPTIONS\] \[VALUES\]\.\.\.\n", values), values


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert re.fullmatch(r"scoreledger \d+\.\d+\.\d+\S*\n", result.output)


def test_unknown_option_is_one_clear_error() -> None:
    result = CliRunner().invoke(app, ["ingest", "--nope", "x"])
    assert result.exit_code == 2
    assert "No such option" in result.output
    assert isinstance(app, typer.Typer)
