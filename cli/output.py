"""Formatting results for people (table) and for pipes (csv, json).

Machines get typed values: numbers as numbers, attributes as JSON objects, times in ISO 8601
with their zone (`2024-05-14T09:12:00Z`; the ledger keeps every time in UTC). People get a
table that fits the terminal without breaking a word: columns the caller marks optional are
left out, least useful first, when all of them would not fit; its times are in the ledger's
time zone when it has one, with their offset, so they agree with the days it counts.
"""

from __future__ import annotations

import csv
import json
import sys
import unicodedata
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from ledger.errors import InputProblem, InvalidInput
from ledger.spreadsheet import inert


def write_output(path: Path, text: str, what: str) -> None:
    """Write a command's output file; a path that cannot be written (a missing folder, a
    directory, no permission) is one clear line, not a traceback."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        reason = f"cannot write it: {exc.strerror or exc}"
        raise InvalidInput([InputProblem(str(path), None, None, reason)], what=what, writes=False) from None


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


# A table column is never squeezed below its longest word, up to this many characters; a
# longer word (a long source_key, say) folds rather than pushing the table off the screen.
LONGEST_UNBROKEN = 40
# Bad input is reported this many problems at a time unless all of them are asked for.
PROBLEMS_SHOWN = 20
# A single problem line is cut here: a line of a binary file can be megabytes long.
PROBLEM_LINE_LIMIT = 300


def iso_time(moment: datetime) -> str:
    """ISO 8601 in UTC with `Z`; the ledger's naive times are UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat() + "Z"


# The time zone of the ledger a command opened, asked only when a table shows a time (reading
# it costs a query, and most outputs show none); None for UTC.
display_zone: ContextVar[Callable[[], ZoneInfo | None]] = ContextVar("display_zone", default=lambda: None)


def shown_time(moment: datetime) -> str:
    """A time for people, with its zone: `2024-05-14 09:12:00 UTC`, or in a ledger with its
    own time zone `2024-05-14 11:12:00+02:00`."""
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    zone = display_zone.get()()
    if zone is None:
        return utc.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds") + " UTC"
    return utc.astimezone(zone).isoformat(sep=" ", timespec="seconds")


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def _csv_cell(value: Any) -> str:
    value = _json_value(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = str(value)
    return inert(text) if isinstance(value, str) else text


def _table_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return shown_time(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(_json_value(value))


def render(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: OutputFormat,
    *,
    title: str | None = None,
    optional: Sequence[str] = (),
) -> None:
    """Print `rows` (dicts keyed by `columns`) to standard output in `fmt`.

    In a table, the columns in `optional` (first listed, first left out) are dropped when
    the table would not otherwise fit the terminal, and then others from the right (never
    the first); csv and json always hold every column."""
    if fmt is OutputFormat.json:
        json.dump([{c: _json_value(row.get(c)) for c in columns} for row in rows], sys.stdout, indent=2, default=str, ensure_ascii=False)
        sys.stdout.write("\n")
    elif fmt is OutputFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_cell(row.get(c)) for c in columns])
    else:
        _print_table(rows, columns, title, optional)


def _print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str | None, optional: Sequence[str]) -> None:
    console = Console()
    cells = [{c: _table_cell(row.get(c)) for c in columns} for row in rows]
    needed = {c: _unbroken_width(c, [cell[c] for cell in cells]) for c in columns}
    natural = {c: max([len(c), *(len(cell[c]) for cell in cells)]) for c in columns}
    shown = list(columns)
    left_out: list[str] = []
    # The caller's optional columns first; then, if that is not enough, from the right.
    for name in [*optional, *reversed(columns[1:])]:
        if table_width(needed[c] for c in shown) <= console.width:
            break
        if name in shown:
            shown.remove(name)
            left_out.append(name)
    widths = column_widths({c: needed[c] for c in shown}, {c: natural[c] for c in shown}, console.width)
    if title:
        console.print(title, markup=False, highlight=False)
    table = Table(show_lines=False)
    for name in shown:
        table.add_column(name, width=widths[name], overflow="fold")
    for cell in cells:
        table.add_row(*(cell[c] for c in shown))
    console.print(table)
    if left_out:
        say(f"left out to fit the terminal: {', '.join(left_out)} (every column: --format csv or json)")


def column_widths(needed: dict[str, int], natural: dict[str, int], width: int) -> dict[str, int]:
    """Each column's width: its natural width when the table fits `width`, else at least the
    width of its longest word, with what space is left shared out in proportion to how
    much more each column would like."""
    if table_width(natural.values()) <= width:
        return dict(natural)
    spare = max(0, width - table_width(needed.values()))
    wanted = {c: natural[c] - needed[c] for c in needed}
    total_wanted = sum(wanted.values()) or 1
    return {c: needed[c] + spare * wanted[c] // total_wanted for c in needed}


def table_width(column_widths: Any) -> int:
    """The characters a rich table with these column widths takes: each column has a space
    either side and a border after it, plus the border at the left edge."""
    widths = list(column_widths)
    return sum(widths) + 3 * len(widths) + 1


def _unbroken_width(header: str, texts: list[str]) -> int:
    """The narrowest a column can be without breaking a word."""
    longest = (max((len(word) for word in text.split()), default=0) for text in texts)
    return max([len(header), *(min(LONGEST_UNBROKEN, width) for width in longest)])


def say(message: str) -> None:
    """A status line for people, on standard error so standard output stays pipeable."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(message, markup=False)


def safe_text(text: str, limit: int | None = None) -> str:
    """`text` fit for a terminal: control characters, stray bytes of bad UTF-8 and other
    unprintable characters spelled as escapes, and cut at `limit` characters."""
    out: list[str] = []
    for char in text:
        if char == "\t" or char.isprintable() and unicodedata.category(char) != "Cs":
            out.append(char)
        elif "\udc80" <= char <= "\udcff":
            out.append(f"\\x{ord(char) - 0xDC00:02x}")
        else:
            out.append(char.encode("unicode_escape").decode("ascii"))
    shown = "".join(out)
    if limit is not None and len(shown) > limit:
        shown = shown[: limit - 3] + "..."
    return shown


@dataclass
class ProblemReport:
    """How many problems of refused input to print, and where to write all of them."""

    all_problems: bool = False
    problems_file: Path | None = None
    # Whether the command takes --all-problems and --problems-file, so the count names them.
    offered: bool = False


def report_problems(error: InvalidInput, report: ProblemReport) -> None:
    """Print the problems of refused input on standard error: the first PROBLEMS_SHOWN and a
    count of the rest unless all are asked for, and all of them to the problems file if one
    was named."""
    problems = error.problems
    written = _write_problems_file(error, report.problems_file) if report.problems_file else False
    shown = problems if report.all_problems else problems[:PROBLEMS_SHOWN]
    for problem in shown:
        typer.echo(safe_text(str(problem), PROBLEM_LINE_LIMIT), err=True)
    hidden = len(problems) - len(shown)
    if written:
        typer.echo(f"all {len(problems)} problem(s) written to {report.problems_file}", err=True)
    elif hidden:
        how = " (all of them: --all-problems, or --problems-file FILE)" if report.offered else ""
        typer.echo(f"... and {hidden} more problem(s){how}", err=True)
    typer.echo(f"error: {error.summary()}", err=True)


def _write_problems_file(error: InvalidInput, path: Path) -> bool:
    try:
        with path.open("w", encoding="utf-8", errors="backslashreplace") as out:
            for problem in error.problems:
                out.write(safe_text(str(problem)) + "\n")
    except OSError as exc:
        typer.echo(f"could not write {path}: {exc.strerror or exc}", err=True)
        return False
    return True
