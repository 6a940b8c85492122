"""Outputs typed for machines and readable for people: JSON with numbers as numbers,
attributes as objects and times in ISO 8601 with Z; tables that fit the terminal without
breaking a word; leaderboards that say which period and days they cover."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli.output import column_widths, table_width

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


@pytest.fixture
def example(cli):
    cli("ingest", str(EXAMPLES / "actions.csv"))
    cli("schedule", "import", str(EXAMPLES / "schedule.yaml"), "--retroactive")
    return cli


def test_audit_json_is_typed(example) -> None:
    everything = json.loads(example("audit", "7", "--format", "json").stdout)
    # The example schedule has a level curve: the audit ends with the level reached.
    assert everything[-1]["kind"] == "level" and everything[-1]["total"] == everything[-2]["total"]
    lines = everything[:-1]
    assert [line["source_key"] for line in lines] == ["post:1002", "visit:7:2024-05-15", "rating:9001", "like:5004"]
    rating = lines[2]
    assert rating["attributes"] == {"rating": 4}
    assert all(isinstance(line["attributes"], dict) for line in lines)
    for line in lines:
        assert ISO_UTC.fullmatch(line["when"]), line["when"]
        for name in ("quantity", "events", "points", "total"):
            assert type(line[name]) is int, (name, line[name])
    # like:5002 was given at 18:40+02:00: it is 16:40 UTC, and says so.
    assert json.loads(example("audit", "42", "--format", "json").stdout)[2]["when"] == "2024-05-15T16:40:00Z"
    assert lines[1]["quantity"] == 230 and lines[-1]["total"] == 54


def test_audit_csv_carries_zoned_times_and_attribute_objects(example) -> None:
    rows = list(csv.DictReader(io.StringIO(example("audit", "7", "--format", "csv").stdout)))
    assert all(ISO_UTC.fullmatch(row["when"]) for row in rows)
    assert json.loads(rows[2]["attributes"]) == {"rating": 4}


def test_audit_table_shows_times_with_their_zone(example) -> None:
    out = example("audit", "42").stdout
    assert "2024-05-15" in out and "16:40:00" in out and "UTC" in out


@pytest.mark.parametrize("width", [50, 80, 120, 200])
def test_tables_fit_the_terminal_without_breaking_words(example, monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    result = example("audit", "7")
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= width
    words = {word for line in lines for word in re.split(r"[\s│┃]+", line) if word}
    # Every word the table holds is printed whole on one line.
    for word in ("rating_received", "likes_received", "posts_created", "2024-05-16", "13:00:00", "points", "total"):
        assert word in words, (width, word, result.stdout)
    if width < 200:
        assert "left out to fit the terminal" in result.stderr
    else:
        assert "left out" not in result.stderr and "effective_from" in result.stdout


@given(
    st.lists(st.tuples(st.integers(1, 40), st.integers(0, 60)), min_size=1, max_size=12),
    st.integers(20, 250),
)
def test_column_widths_never_go_below_a_word_and_fit_when_they_can(columns, width) -> None:
    needed = {f"c{i}": need for i, (need, _) in enumerate(columns)}
    natural = {f"c{i}": need + extra for i, (need, extra) in enumerate(columns)}
    widths = column_widths(needed, natural, width)
    assert all(needed[c] <= widths[c] <= natural[c] for c in needed)
    if table_width(needed.values()) <= width:
        assert table_width(widths.values()) <= width
    if table_width(natural.values()) <= width:
        assert widths == natural


def test_leaderboard_says_which_period_and_days(example) -> None:
    table = example("leaderboard", "--period", "month", "--at", "2024-05-15").stdout
    assert "month 2024-05-01 to 2024-05-31 (UTC days)" in table
    week = example("leaderboard", "--period", "week", "--at", "2024-05-15").stdout
    assert "week 2024-05-13 to 2024-05-19" in week
    assert "all time" in example("leaderboard").stdout
    assert "range 2024-05-16 to now" in example("leaderboard", "--from", "2024-05-16").stdout

    rows = json.loads(example("leaderboard", "--period", "quarter", "--at", "2024-05-15", "--format", "json").stdout)
    # The example schedule's level curve gives every row its level.
    assert rows[0] == {"rank": 1, "user_id": "42", "points": 78, "level": 1, "period": "quarter", "from": "2024-04-01", "to": "2024-06-30"}
    everything = json.loads(example("leaderboard", "--format", "json").stdout)
    assert everything[0]["period"] == "all" and everything[0]["from"] is None

    # CSV rows stay pipeable: the columns of the rows only, no title line.
    out = example("leaderboard", "--period", "month", "--at", "2024-05-15", "--format", "csv").stdout
    assert out.splitlines() == ["rank,user_id,points,level", "1,42,78,1", "2,7,54,1", "3,99,3,1"]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_demo_fits_an_80_column_terminal(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = cli("demo", "--users", "40").stdout
    tables = [line for line in out.splitlines() if line[:1] in "┏┃┡│└"]
    assert len(tables) > 20 and max(len(line) for line in tables) <= 80
    table_words = {word for line in out.splitlines() if line.startswith("│") for word in re.split(r"[\s│]+", line) if word}
    assert "likes_received" in table_words and "UTC" in table_words


def test_a_table_without_optional_columns_drops_from_the_right(example, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = example("schedule", "history")
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = {word for line in lines if line.startswith("┃") for word in re.split(r"[\s┃]+", line) if word}
    assert "effective_from" in header, result.stdout
    assert "left out to fit the terminal: link" in result.stderr
