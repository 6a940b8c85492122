"""Global options anywhere on the line, and reads of what the ledger has never seen: a
mistyped ledger name or user id is an error naming what exists, not an empty answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture
def example(cli):
    """The README's example community in the ledger `forum`."""
    cli("--ledger", "forum", "ingest", str(EXAMPLES / "actions.csv"))
    cli("--ledger", "forum", "schedule", "import", str(EXAMPLES / "schedule.yaml"), "--retroactive")
    return cli


def test_global_options_are_accepted_after_the_command(example) -> None:
    before = example("--ledger", "forum", "scores", "--format", "json").stdout
    assert json.loads(before), "the example ledger has scores"
    assert example("scores", "--ledger", "forum", "--format", "json").stdout == before
    assert example("scores", "--format", "json", "--ledger=forum").stdout == before
    assert (
        example("schedule", "show", "--at", "2024-05-15", "--ledger", "forum").stdout
        == example("--ledger", "forum", "schedule", "show", "--at", "2024-05-15").stdout
    )
    # --db after the command too (the fixture's own --db comes first: the last one wins).
    again = example("audit", "42", "--ledger", "forum", "--db", example.database_url, "--format", "csv").stdout
    assert again.splitlines()[-1].endswith(",78")


@pytest.mark.parametrize(
    "command",
    [
        ["scores"],
        ["leaderboard"],
        ["audit", "42"],
        ["recalc"],
        ["schedule", "show"],
        ["schedule", "history"],
        ["schedule", "diff", "--from", "2024-01-01", "--to", "2024-06-01"],
        ["schedule", "export"],
        ["users", "list"],
        ["adjustments", "list"],
        # The forum is never reached: the ledger is checked first.
        ["discourse", "plan", "--dsn", "postgresql://reader@127.0.0.1:9/forum"],
        ["discourse", "verify", "--dsn", "postgresql://reader@127.0.0.1:9/forum"],
        ["discourse", "push", "--url", "https://forum.invalid", "--dsn", "postgresql://reader@127.0.0.1:9/forum"],
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_reading_a_ledger_that_does_not_exist_names_the_ones_that_do(example, command) -> None:
    result = example("--ledger", "froum", *command, ok=False)
    assert result.exit_code == 1, result.stdout
    assert result.stdout == ""
    assert result.stderr.strip() == "error: no ledger named 'froum' in this database; ledgers there: 'forum'"
    # The failed read created nothing: the typo is still not a ledger.
    assert example("--ledger", "nope", "scores", ok=False).stderr.strip().endswith("ledgers there: 'forum'")


def test_an_empty_database_says_no_ledger_exists_yet(cli) -> None:
    result = cli("scores", ok=False)
    assert result.exit_code == 1
    assert "no ledger named 'default'" in result.stderr and "none yet" in result.stderr


def test_a_ledger_with_only_a_schedule_exists(cli) -> None:
    cli("--ledger", "planned", "schedule", "import", str(EXAMPLES / "schedule.yaml"), "--retroactive")
    assert cli("--ledger", "planned", "scores", "--format", "csv").stdout == "user_id,points\n"
    assert "ledgers there: 'planned'" in cli("--ledger", "other", "scores", ok=False).stderr


def test_a_ledger_with_only_adjustments_exists(cli) -> None:
    cli("--ledger", "bonuses", "adjust", "42", "--on", "2024-06-05", "--reason", "meetup", "--", "25")
    assert cli("--ledger", "bonuses", "scores", "--format", "csv").stdout == "user_id,points\n42,25\n"
    assert cli("--ledger", "bonuses", "audit", "42", "--format", "csv").stdout.splitlines()[-1].endswith(",25,25")
    assert "ledgers there: 'bonuses'" in cli("--ledger", "bonus", "scores", ok=False).stderr


def test_writing_to_a_new_ledger_creates_it(cli) -> None:
    cli("--ledger", "fresh", "ingest", str(EXAMPLES / "actions.csv"))
    assert cli("--ledger", "fresh", "audit", "42", "--format", "csv").stdout.count("\n") == 6


def test_audit_of_a_user_never_seen_is_an_error(example) -> None:
    result = example("--ledger", "forum", "audit", "4242", ok=False)
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: user 4242 has no recorded actions in ledger 'forum'"
    # A known user with nothing in the range is an empty answer, said so, exit 0.
    quiet = example("--ledger", "forum", "audit", "42", "--from", "2025-01-01", "--format", "csv")
    assert quiet.stdout == quiet.stdout.splitlines()[0] + "\n"
    assert "no actions in this range" in quiet.stderr
