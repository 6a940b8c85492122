"""Reading actions from CSV or JSON Lines, reporting every bad row at once.

Columns (CSV) or keys (JSONL): source_key, user_id (the user's key: any text, see
ledger/user_keys.py), action, occurred_at, and optionally
quantity (default 1) and attributes (a JSON object). occurred_at is ISO 8601; without a zone
it is UTC. Values are checked here with plain conversions rather than a pydantic model per
row, because this is the bulk path; the limits are the same ones `ledger.domain.Action` uses.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, cast

from typing_extensions import Buffer

from ledger.domain import (
    ACTION_FIELDS,
    CORRECTION_COLUMNS,
    MAX_INTEGER,
    MAX_KEY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_QUANTITY,
    REQUIRED_ACTION_FIELDS,
    canonical_json,
    parse_timestamp,
)
from ledger.errors import InputProblem, InvalidInput
from ledger.problem_log import ProblemLog
from ledger.rows import ActionRow, LocatedRow, ParsedRows
from ledger.safe_values import attributes_size_problem, json_problem, text_problem
from ledger.user_keys import user_ref

FORMATS = ("csv", "jsonl")
# How much of a file is looked at to tell a binary file from text before parsing it.
SNIFFED_BYTES = 8192
# Rows per chunk handed to the writer: what is held of a file at once.
CHUNK_ROWS = 50_000


def guess_format(name: str) -> str:
    """The input format implied by a file name; CSV unless it ends in .jsonl/.ndjson/.json."""
    lowered = name.lower()
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "csv"


def read_actions(stream: IO[bytes], source: str, fmt: str) -> list[LocatedRow]:
    """Every row of `stream`, validated. Raises InvalidInput listing every problem found.
    Holds the whole file: ingest reads it in chunks (`read_action_chunks`) instead."""
    problems = ProblemLog()
    rows = [located for chunk in read_action_chunks(stream, source, fmt, problems) for located in chunk]
    if problems:
        raise InvalidInput(problems.as_reported(), what="ingest")
    return rows


def read_action_chunks(
    stream: ByteStream, source: str, fmt: str, problems: ProblemLog, chunk_rows: int | None = None
) -> Iterator[list[LocatedRow]]:
    """The valid rows of `stream`, `chunk_rows` at a time, in file order; every bad row's
    problems go to `problems` (the caller decides what a file with problems means)."""
    if fmt not in FORMATS:
        problems.append(InputProblem(source, None, None, f"unknown format {fmt!r}; use csv or jsonl"))
        return
    stream = _peekable(stream)
    binary = _not_text(stream.peek(SNIFFED_BYTES)[:SNIFFED_BYTES])
    if binary:
        problems.append(InputProblem(source, None, None, binary))
        return
    # surrogateescape keeps reading past bytes that are not UTF-8 so that every such row is
    # reported, instead of the first one ending the read.
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="surrogateescape", newline="")
    records = _csv_records(text, source) if fmt == "csv" else _jsonl_records(text, source)
    rows = ParsedRows()
    chunk_rows = chunk_rows or CHUNK_ROWS
    for line, record in records:
        if isinstance(record, InputProblem):
            problems.append(record)
            continue
        row_problems: list[InputProblem] = []
        correction = _correction(record, source, line, row_problems) if _has_correction(record) else None
        row, converted_problems = _convert(record, source, line)
        row_problems.extend(converted_problems)
        if row_problems:
            problems.extend(row_problems)
        elif row is not None:
            rows.append(LocatedRow(source, line, row, correction))
            if type(row.user_id) is str:
                rows.text_user_keys[row.user_id] = None
            if len(rows) >= chunk_rows:
                yield rows
                rows = ParsedRows()
    if rows:
        yield rows


Record = tuple[int, "dict[str, Any] | InputProblem"]
# Reports a problem with the named field of the row being read.
ProblemAt = Callable[[str, str], None]
# A file opened unbuffered, standard input, or the spooled copy of it (`_Unclosed`).
ByteStream = IO[bytes] | io.RawIOBase


def _peekable(stream: ByteStream) -> io.BufferedReader:
    if isinstance(stream, io.BufferedReader):
        return stream
    # Buffered streams (BytesIO, pipes) have readinto too, all that BufferedReader reads through.
    return io.BufferedReader(cast(io.RawIOBase, stream))


def _not_text(head: bytes) -> str | None:
    """Why a file that starts with `head` is not CSV or JSON Lines text, or None. A NUL byte
    never occurs in UTF-8 text, and reporting a binary file row by row would fill the terminal
    with its bytes."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "the file is UTF-16 text: save it as UTF-8"
    if b"\x00" in head:
        return "not a text file (it contains NUL bytes): give a CSV or JSON Lines file in UTF-8"
    return None


def _csv_records(text: IO[str], source: str) -> Iterator[Record]:
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        yield 1, InputProblem(source, 1, None, f"unreadable CSV header: {exc}")
        return
    header = [name.strip().lstrip("\ufeff") for name in header]
    header_problem = _check_columns(header, source)
    if header_problem:
        yield 1, header_problem
        return
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, InputProblem(source, reader.line_num, None, f"unreadable CSV: {exc}")
            return
        if not values or all(not value.strip() for value in values):
            continue
        if len(values) != len(header):
            yield reader.line_num, InputProblem(source, reader.line_num, None, f"expected {len(header)} values, found {len(values)}")
            continue
        yield reader.line_num, dict(zip(header, values, strict=True))


def _check_columns(header: list[str], source: str) -> InputProblem | None:
    missing = [name for name in REQUIRED_ACTION_FIELDS if name not in header]
    unknown = [name for name in header if name not in ACTION_FIELDS and name not in CORRECTION_COLUMNS]
    repeated = sorted({name for name in header if header.count(name) > 1})
    reasons = []
    if missing:
        reasons.append(f"missing column(s) {', '.join(missing)}")
    if unknown:
        reasons.append(f"unknown column(s) {', '.join(unknown)} (expected {', '.join(ACTION_FIELDS)})")
    if repeated:
        reasons.append(f"repeated column(s) {', '.join(repeated)}")
    return InputProblem(source, 1, None, "; ".join(reasons)) if reasons else None


def _jsonl_records(text: IO[str], source: str) -> Iterator[Record]:
    for line_number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, parse_constant=_refuse_constant)
        except ValueError as exc:
            yield line_number, InputProblem(source, line_number, None, f"not valid JSON: {exc}")
            continue
        except RecursionError:
            yield line_number, InputProblem(source, line_number, None, "not valid JSON: nested too deeply")
            continue
        if not isinstance(record, dict):
            yield line_number, InputProblem(source, line_number, None, "each line must be a JSON object")
            continue
        unknown = [key for key in record if key not in ACTION_FIELDS and key not in CORRECTION_COLUMNS]
        if unknown:
            yield line_number, InputProblem(source, line_number, ", ".join(unknown), f"unknown key(s); expected {', '.join(ACTION_FIELDS)}")
            continue
        yield line_number, record


def _has_correction(record: dict[str, Any]) -> bool:
    return any(record.get(name) not in (None, "") for name in CORRECTION_COLUMNS)


def _correction(record: dict[str, Any], source: str, line: int, problems: list[InputProblem]) -> tuple[str, Any] | None:
    """("retracted" or "amended", when) from a row's correction column; taken out of `record`."""
    given = {name: record.pop(name) for name in CORRECTION_COLUMNS if record.get(name) not in (None, "")}
    for name in CORRECTION_COLUMNS:
        record.pop(name, None)
    if len(given) > 1:
        problems.append(InputProblem(source, line, ", ".join(given), "a row either retracts or amends, not both"))
        return None
    ((name, value),) = given.items()
    try:
        return name.removesuffix("_at"), parse_timestamp(str(value))
    except ValueError:
        problems.append(InputProblem(source, line, name, f"not an ISO 8601 timestamp: {value!r}"))
        return None


def _convert(record: dict[str, Any], source: str, line: int) -> tuple[ActionRow | None, list[InputProblem]]:
    problems: list[InputProblem] = []

    def problem(name: str, reason: str) -> None:
        problems.append(InputProblem(source, line, name, reason))

    def text_field(name: str, limit: int) -> str:
        value = record.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            problem(name, "is required")
            return ""
        if not isinstance(value, str):
            if isinstance(value, bool) or not isinstance(value, int):
                problem(name, f"must be text, got {type(value).__name__}")
                return ""
            value = str(value)
        value = value.strip()
        refused = text_problem(value)
        if refused:
            # Refused here, the same on every backend: PostgreSQL cannot store it at all.
            problem(name, refused)
        elif len(value) > limit:
            problem(name, f"is longer than {limit} characters")
        return value

    source_key = text_field("source_key", MAX_KEY_LENGTH)
    action = text_field("action", MAX_NAME_LENGTH)
    user_id = _user(record.get("user_id"), problem)
    quantity = _integer(record.get("quantity"), "quantity", problem, required=False, minimum=0, maximum=MAX_QUANTITY)
    occurred_at = None
    raw_time = record.get("occurred_at")
    if raw_time is None or (isinstance(raw_time, str) and not raw_time.strip()):
        problem("occurred_at", "is required")
    elif not isinstance(raw_time, str):
        problem("occurred_at", "must be an ISO 8601 timestamp string")
    else:
        try:
            occurred_at = parse_timestamp(raw_time)
        except (ValueError, OverflowError):
            problem("occurred_at", f"not an ISO 8601 timestamp: {_shown(raw_time)}")
    attributes = _attributes(record.get("attributes"), problem)
    if problems:
        return None, problems
    assert occurred_at is not None and user_id is not None and attributes is not None
    return ActionRow(source_key, user_id, action, occurred_at, 1 if quantity is None else quantity, attributes), []


def _user(value: Any, problem: ProblemAt) -> int | str | None:
    """The user column as a user reference (ledger/user_keys.py): any text key, or an integer."""
    if value is None:
        problem("user_id", "is required")
        return None
    if type(value) is int and -MAX_INTEGER <= value <= MAX_INTEGER:
        return value
    try:
        return user_ref(value)
    except ValueError as exc:
        problem("user_id", str(exc) if isinstance(value, str) else f"{exc} ({_shown(value)})")
        return None


def _integer(value: Any, name: str, problem: ProblemAt, *, required: bool, minimum: int, maximum: int = MAX_INTEGER) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problem(name, "is required")
        return None
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        problem(name, f"must be a whole number, got {_shown(value)}")
        return None
    try:
        number = int(value.strip()) if isinstance(value, str) else int(value)
    except (ValueError, TypeError, OverflowError):
        problem(name, f"must be a whole number, got {_shown(value)}")
        return None
    if not minimum <= number <= maximum:
        problem(name, f"must be between {minimum} and {maximum}, got {_shown(value)}")
        return None
    return number


def _attributes(value: Any, problem: ProblemAt) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return "{}"
    if isinstance(value, str):
        if _has_bad_bytes(value):
            problem("attributes", "is not valid UTF-8")
            return None
        try:
            value = json.loads(value, parse_constant=_refuse_constant)
        except ValueError as exc:
            problem("attributes", f"not valid JSON: {getattr(exc, 'msg', exc)}")
            return None
        except RecursionError:
            problem("attributes", "not valid JSON: nested too deeply")
            return None
    if not isinstance(value, dict):
        problem("attributes", "must be a JSON object")
        return None
    refused = json_problem(value)
    if refused:
        problem("attributes", refused)
        return None
    text = canonical_json(value)
    refused = attributes_size_problem(text)
    if refused:
        problem("attributes", refused)
        return None
    return text


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _has_bad_bytes(value: str) -> bool:
    # Bytes that were not UTF-8 arrive as lone surrogates (see surrogateescape above).
    return any("\udc80" <= char <= "\udcff" for char in value)


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else repr(value.encode("utf-8", "replace").decode())
    return text if len(text) <= 60 else text[:57] + "..."


def rows_from_actions(actions: Iterable[Any], source: str = "<python>") -> list[LocatedRow]:
    """`ledger.domain.Action` objects as rows for the writer (the library's typed entry)."""
    return [
        LocatedRow(
            source,
            index,
            ActionRow(
                action.source_key,
                action.user_id,
                action.action,
                action.occurred_at,
                action.quantity,
                canonical_json(action.attributes),
            ),
        )
        for index, action in enumerate(actions, start=1)
    ]


class ActionFile:
    """An action file (`-` for standard input) as chunks of validated rows, read again from the
    start each time `chunks` is called: a writer that must retry reads the file twice rather
    than hold it. Standard input is first copied to a temporary file for that reason.

    `problems` holds the problems of the latest read; `bytes_read` and `size` tell how far it
    has got."""

    def __init__(self, path: str, fmt: str | None = None, *, chunk_rows: int | None = None) -> None:
        self.path = path
        self.source = "<stdin>" if path == "-" else path
        self.fmt = fmt or ("csv" if path == "-" else guess_format(path))
        self.chunk_rows = chunk_rows or CHUNK_ROWS
        self.problems = ProblemLog()
        self.bytes_read = 0
        self.rows_read = 0
        # Rows per action type in the latest read (for reporting types nothing prices).
        self.action_counts: Counter[str] = Counter()
        self._spool: IO[bytes] | None = None
        self.size = self._measure()

    def _measure(self) -> int:
        if self.path == "-":
            self._spool = tempfile.TemporaryFile()  # noqa: SIM115 - kept open across chunks, closed by close()
            shutil.copyfileobj(sys.stdin.buffer, self._spool)
            return self._spool.tell()
        try:
            return os.path.getsize(self.path)
        except OSError as exc:
            raise InvalidInput([InputProblem(self.path, None, None, exc.strerror or str(exc))], what="ingest") from None

    def chunks(self) -> Iterator[list[LocatedRow]]:
        # A new log, not the old one emptied: an error may still carry the old one.
        self.problems = ProblemLog()
        self.bytes_read = self.rows_read = 0
        self.action_counts = Counter()
        with self._open() as raw:
            for chunk in read_action_chunks(raw, self.source, self.fmt, self.problems, self.chunk_rows):
                self.bytes_read = raw.tell()
                self.rows_read += len(chunk)
                self.action_counts.update([located.row.action for located in chunk])
                yield chunk
        self.bytes_read = self.size

    @contextlib.contextmanager
    def _open(self) -> Iterator[ByteStream]:
        if self._spool is not None:
            self._spool.seek(0)
            yield _Unclosed(self._spool)
            return
        try:
            stream = open(self.path, "rb", buffering=0)  # noqa: SIM115 (closed below)
        except OSError as exc:
            raise InvalidInput([InputProblem(self.path, None, None, exc.strerror or str(exc))], what="ingest") from None
        with stream:
            yield stream

    def estimated_rows(self) -> int | None:
        """How many rows the file holds, judged from the bytes per row read so far."""
        if not self.rows_read or not self.bytes_read:
            return None
        return max(self.rows_read, round(self.size * self.rows_read / self.bytes_read))

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None


class _Unclosed(io.RawIOBase):
    """A view of the spooled standard input that reading through a TextIOWrapper may close
    without closing the spool itself."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Buffer) -> int:
        view = memoryview(buffer)
        data = self.inner.read(len(view))
        view[: len(data)] = data
        return len(data)

    def tell(self) -> int:
        return self.inner.tell()
