"""Formatting results for people (table) and for pipes (csv, json)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any

from rich.console import Console
from rich.table import Table

from ledger.spreadsheet import FORMULA_START


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"




def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _csv_cell(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True)
    text = str(value)
    # A cell a spreadsheet would run as a formula is prefixed with ' (shown as text).
    if isinstance(value, str) and text.startswith(FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def render(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: OutputFormat, *, title: str | None = None) -> None:
    """Print `rows` (dicts keyed by `columns`) to standard output in `fmt`."""
    if fmt is OutputFormat.json:
        json.dump([{c: _plain(row.get(c)) for c in columns} for row in rows], sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    elif fmt is OutputFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_cell(row.get(c)) for c in columns])
    else:
        table = Table(title=title, show_lines=False)
        for name in columns:
            table.add_column(name, overflow="fold")
        for row in rows:
            table.add_row(*("" if row.get(c) is None else str(_plain(row.get(c))) for c in columns))
        Console().print(table)


def say(message: str) -> None:
    """A status line for people, on standard error so standard output stays pipeable."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(message)
