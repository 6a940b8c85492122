"""Reading small CSV or JSON Lines files of records (adjustments, corrections) into pydantic
models, every problem reported with file, line and field (action files, which can hold
millions of rows, have their own faster reader in actions.py)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from typing import IO, Any, TypeVar

from pydantic import BaseModel, ValidationError

from ledger.errors import InputProblem, InvalidInput

Model = TypeVar("Model", bound=BaseModel)


def read_records(
    stream: IO[bytes], source: str, fmt: str, build: Callable[[dict[str, Any]], Model], *, what: str
) -> list[tuple[int, Model]]:
    """(line, model) for each record of `stream`; refuses the whole file, listing every
    problem, if any record is bad."""
    try:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        records = list(_jsonl(text, source) if fmt == "jsonl" else _csv(text))
    except UnicodeDecodeError:
        raise InvalidInput([InputProblem(source, None, None, "not UTF-8 text")], what=what) from None
    problems: list[InputProblem] = []
    built: list[tuple[int, Model]] = []
    for line, record in records:
        if isinstance(record, InputProblem):
            problems.append(record)
            continue
        try:
            built.append((line, build(record)))
        except ValidationError as error:
            for detail in error.errors():
                field = ".".join(str(part) for part in detail["loc"]) or None
                problems.append(InputProblem(source, line, field, detail["msg"]))
        except ValueError as error:
            problems.append(InputProblem(source, line, None, str(error)))
    if problems:
        raise InvalidInput(problems, what=what)
    return built


def _csv(text: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(text)
    for record in reader:
        yield reader.line_num, {key: value for key, value in record.items() if key and value not in (None, "")}


def _jsonl(text: IO[str], source: str) -> Iterator[tuple[int, Any]]:
    for line, raw in enumerate(text, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            yield line, InputProblem(source, line, None, f"not JSON ({error.msg})")
            continue
        if not isinstance(record, dict):
            yield line, InputProblem(source, line, None, "a line must be a JSON object")
            continue
        yield line, record
