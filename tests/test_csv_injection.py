"""CSV written by the ledger is inert in a spreadsheet (no cell starts a formula), and a
schedule exported as CSV still imports back to the same history."""

from __future__ import annotations

import csv
import io
from datetime import date

from ledger import Ledger, Rule, ScheduleVersion
from ledger.spreadsheet import FORMULA_START, neutralise, restore

HOSTILE = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "-1+2", "@SUM(A1)", "'quoted", "\tTAB", "plain"]


def hostile_versions() -> list[ScheduleVersion]:
    return [
        ScheduleVersion(
            effective_from=date(2024, 1, 1 + index),
            rules={text: Rule(value=-3), "likes_received": Rule(value=2)},
            reason=text,
            author=text,
            link=text,
        )
        for index, text in enumerate(HOSTILE)
    ]


def test_neutralise_is_reversible() -> None:
    for text in [*HOSTILE, "", "''", "'=x"]:
        assert restore(neutralise(text)) == text
        assert not neutralise(text).startswith(FORMULA_START)


def test_schedule_csv_export_is_inert_and_reimports_identically(book: Ledger, cli, tmp_path) -> None:
    book.record_schedule(hostile_versions(), retroactive=True)
    exported = cli("schedule", "export", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    for row in rows:
        for name in ("action", "author", "reason", "link"):
            assert not row[name].startswith(FORMULA_START), (name, row[name])
    assert any(row["value"] == "-3" for row in rows)  # numbers stay numbers
    path = tmp_path / "schedule.csv"
    path.write_text(exported)
    cli("--ledger", "copy", "schedule", "import", str(path), "--retroactive")
    original = [recorded.version for recorded in book.schedule_history()]
    copied = [recorded.version for recorded in Ledger(book.engine, "copy").schedule_history()]
    assert copied == original


def test_listings_as_csv_are_inert(book: Ledger, cli) -> None:
    book.record_schedule(hostile_versions(), retroactive=True)
    listing = cli("schedule", "history", "--format", "csv").stdout
    for row in csv.reader(io.StringIO(listing)):
        for cell in row:
            assert not cell.startswith(FORMULA_START) or cell.lstrip("-").replace(".", "").isdigit(), cell
