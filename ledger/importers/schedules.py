"""Reading schedule documents (YAML, JSON, or the CSV that `schedule export` writes).

YAML/JSON: either one version, a list of versions, or `{versions: [...]}`. Each version:

    effective_from: 2024-05-16
    reason: Likes matter more than volume
    author: ops@example.org
    link: https://forum.example.org/t/points-update/123
    rules:
      likes_received: 6                  # short for {value: 6}
      posts_read: {value: 1, per: 100, min_quantity: 5}
      rating_received: {by: {rating: {1: 0, 2: 0, 3: 30, 4: 40, 5: 50}}}
    levels: {kind: quadratic, coefficient: 100}

A document lists each version's complete rules: an action it does not list earns nothing
from that date.
"""

from __future__ import annotations

import csv
import io
import json
from typing import IO, Any

import yaml
from pydantic import ValidationError

from ledger.domain import ScheduleVersion
from ledger.errors import InputProblem, InvalidInput
from ledger.spreadsheet import restore

CSV_COLUMNS = ("effective_from", "action", "value", "per", "min_quantity", "by", "levels", "author", "reason", "link")
# Free-text columns, written through `ledger.spreadsheet.neutralise` and read back through `restore`.
CSV_TEXT_COLUMNS = ("action", "author", "reason", "link")


class _DatesAsText(yaml.SafeLoader):
    """YAML without implicit timestamps: dates stay text so the model validates (and
    reports) them like any other field, instead of the YAML parser raising on 2024-02-30."""


_DatesAsText.yaml_implicit_resolvers = {
    first: [resolver for resolver in resolvers if resolver[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def guess_format(name: str) -> str:
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith(".json"):
        return "json"
    return "yaml"


def read_schedule(stream: IO[bytes], source: str, fmt: str | None = None) -> list[ScheduleVersion]:
    """The versions in a schedule document. Raises InvalidInput listing every problem."""
    fmt = fmt or guess_format(source)
    try:
        text = stream.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput([InputProblem(source, None, None, f"not valid UTF-8: {exc}")], what="schedule") from None
    if fmt == "csv":
        documents, problems = _csv_documents(text, source)
    else:
        documents, problems = _tree_documents(text, source, fmt)
    versions: list[ScheduleVersion] = []
    for index, (line, document) in enumerate(documents, start=1):
        try:
            versions.append(ScheduleVersion.model_validate(document))
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(part) for part in error["loc"]) or None
                problems.append(InputProblem(source, line, f"version {index}: {field}", error["msg"]))
    if problems:
        raise InvalidInput(problems, what="schedule")
    if not versions:
        raise InvalidInput([InputProblem(source, None, None, "no schedule versions found")], what="schedule")
    return versions


def _tree_documents(text: str, source: str, fmt: str) -> tuple[list[tuple[int | None, Any]], list[InputProblem]]:
    try:
        tree = json.loads(text) if fmt == "json" else yaml.load(text, Loader=_DatesAsText)  # noqa: S506 - a SafeLoader
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        line = getattr(exc, "lineno", None)
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            line = mark.line + 1
        reason = f"not valid {fmt.upper()}: {str(exc).splitlines()[0]}"
        return [], [InputProblem(source, line, None, reason)]
    if isinstance(tree, dict) and "versions" in tree:
        tree = tree["versions"]
    if isinstance(tree, dict):
        tree = [tree]
    if not isinstance(tree, list) or not all(isinstance(item, dict) for item in tree):
        return [], [InputProblem(source, None, None, "expected a version, a list of versions, or {versions: [...]}")]
    return [(None, item) for item in tree], []


def _csv_documents(text: str, source: str) -> tuple[list[tuple[int | None, Any]], list[InputProblem]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [name for name in ("effective_from", "action", "value") if name not in (reader.fieldnames or [])]
    if missing:
        return [], [InputProblem(source, 1, None, f"missing column(s) {', '.join(missing)}")]
    documents: dict[tuple, tuple[int, dict[str, Any]]] = {}
    problems: list[InputProblem] = []
    for row in reader:
        line = reader.line_num
        row.update({name: restore(row[name]) for name in CSV_TEXT_COLUMNS if row.get(name)})
        try:
            levels = json.loads(row["levels"]) if row.get("levels") else None
            by = json.loads(row["by"]) if row.get("by") else None
        except json.JSONDecodeError as exc:
            problems.append(InputProblem(source, line, None, f"not valid JSON: {exc.msg}"))
            continue
        details = tuple(row.get(name) or None for name in ("author", "reason", "link"))
        key = (row["effective_from"], json.dumps(levels, sort_keys=True), details)
        _, document = documents.setdefault(
            key,
            (line, {"effective_from": row["effective_from"], "rules": {}, "levels": levels,
                    "author": details[0], "reason": details[1], "link": details[2]}),
        )
        if row["action"]:
            rule: dict[str, Any] = {"value": row["value"] or 0}
            for name in ("per", "min_quantity"):
                if row.get(name):
                    rule[name] = row[name]
            if by is not None:
                rule["by"] = by
            document["rules"][row["action"]] = rule
    return list(documents.values()), problems
