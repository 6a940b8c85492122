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
from that date. A key the format does not know (`valeu: 6`) is refused, naming the file, the
line where it can tell, the version and the action; every problem is reported at once.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
from collections.abc import Callable
from typing import IO, Any

import yaml
from pydantic import ValidationError

from ledger.domain import LevelCurve, Rule, ScheduleVersion
from ledger.errors import InputProblem, InvalidInput
from ledger.spreadsheet import restore

# `version` numbers the versions of the file, so two versions of one day stay two.
CSV_COLUMNS = (
    "version",
    "effective_from",
    "action",
    "value",
    "per",
    "min_quantity",
    "by",
    "levels",
    "enabled",
    "start_date",
    "author",
    "reason",
    "link",
)
# The `enabled` cell: empty is the default (on).
CSV_BOOLEANS = {"true": True, "false": False}
# Free-text columns, written through `ledger.spreadsheet.neutralise` and read back through `restore`.
CSV_TEXT_COLUMNS = ("action", "author", "reason", "link")
# A detail written as this cell is the empty text; an empty cell is no detail at all.
CSV_EMPTY_TEXT = "'"
CSV_INTEGER_COLUMNS = ("value", "per", "min_quantity")

# Where a version's problem is, from a pydantic error location: a line number or None.
LineFinder = Callable[[tuple[Any, ...]], int | None]

KNOWN_KEYS = {
    "version": tuple(ScheduleVersion.model_fields),
    "rule": tuple(Rule.model_fields),
    "levels": tuple(LevelCurve.model_fields),
}


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
    for index, (line_of, document) in enumerate(documents, start=1):
        try:
            versions.append(ScheduleVersion.model_validate(document))
        except ValidationError as exc:
            for error in exc.errors():
                problems.append(_problem(source, index, document, line_of, error))
    if problems:
        raise InvalidInput(problems, what="schedule")
    if not versions:
        raise InvalidInput([InputProblem(source, None, None, "no schedule versions found")], what="schedule")
    return versions


def _problem(source: str, index: int, document: Any, line_of: LineFinder, error: Any) -> InputProblem:
    """One validation error as a problem naming the version, the action and the key."""
    loc = tuple(error["loc"])
    effective = document.get("effective_from") if isinstance(document, dict) else None
    where = f"version {index}" + (f" ({effective})" if isinstance(effective, str) and effective else "")
    rest: tuple[Any, ...] = loc
    known = KNOWN_KEYS["version"]
    if loc[:1] == ("rules",) and len(loc) > 1:
        where += f", action {loc[1]}"
        rest, known = loc[2:], KNOWN_KEYS["rule"]
    elif loc[:1] == ("levels",):
        where += ", levels"
        rest, known = loc[1:], KNOWN_KEYS["levels"]
    if error["type"] == "extra_forbidden" and len(rest) == 1:
        key = str(rest[0])
        reason = f"unknown key {key!r}"
        nearest = difflib.get_close_matches(key, known, n=1)
        reason += f"; did you mean {nearest[0]!r}?" if nearest else f"; known keys: {', '.join(known)}"
        return InputProblem(source, line_of(loc), where, reason)
    message = error["msg"].removeprefix("Value error, ")
    field = ".".join(str(part) for part in rest)
    return InputProblem(source, line_of(loc), f"{where}: {field}" if field else where, message)


def _tree_documents(text: str, source: str, fmt: str) -> tuple[list[tuple[LineFinder, Any]], list[InputProblem]]:
    try:
        tree = json.loads(text) if fmt == "json" else yaml.load(text, Loader=_DatesAsText)  # noqa: S506 - a SafeLoader
    except (json.JSONDecodeError, yaml.YAMLError, RecursionError) as exc:
        line = getattr(exc, "lineno", None)
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            line = mark.line + 1
        reason = f"not valid {fmt.upper()}: {(str(exc).splitlines() or ['too deeply nested'])[0]}"
        return [], [InputProblem(source, line, None, reason)]
    nodes = _version_nodes(text)
    if isinstance(tree, dict) and "versions" in tree:
        extra = sorted(str(key) for key in tree if key != "versions")
        if extra:
            reason = f"unknown key(s) {', '.join(map(repr, extra))} beside `versions`"
            return [], [InputProblem(source, None, None, reason)]
        tree = tree["versions"]
    if isinstance(tree, dict):
        tree = [tree]
    if not isinstance(tree, list) or not all(isinstance(item, dict) for item in tree):
        return [], [InputProblem(source, None, None, "expected a version, a list of versions, or {versions: [...]}")]
    if len(nodes) != len(tree):
        nodes = [None] * len(tree)
    return [(_node_lines(node), item) for node, item in zip(nodes, tree, strict=True)], []


def _version_nodes(text: str) -> list[yaml.Node | None]:
    """Each version's YAML node (JSON is read as YAML here, for line numbers only); [] when
    the text does not compose."""
    try:
        root = yaml.compose(text, Loader=_DatesAsText)  # noqa: S506 - a SafeLoader
    except (yaml.YAMLError, RecursionError):
        return []
    if isinstance(root, yaml.MappingNode):
        versions = _child(root, "versions")
        if versions is None:
            return [root]
        root = versions
    if isinstance(root, yaml.SequenceNode):
        return list(root.value)
    return []


def _child(node: yaml.Node, key: Any) -> yaml.Node | None:
    """The node under `key` (a mapping key or a sequence index) of `node`, or None."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == str(key):
                return value_node
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key]
    return None


def _node_lines(version: yaml.Node | None) -> LineFinder:
    """The line of the deepest node of an error location that the document has: an unknown
    key's own line, a bad value's line, else the version's first line."""

    def line_of(loc: tuple[Any, ...]) -> int | None:
        if version is None:
            return None
        node, line = version, version.start_mark.line + 1
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if key_node.value == str(part):
                        line = key_node.start_mark.line + 1
                        node = value_node
                        break
                else:
                    break
            else:
                child = _child(node, part)
                if child is None:
                    break
                node, line = child, child.start_mark.line + 1
        return line

    return line_of


def _csv_documents(text: str, source: str) -> tuple[list[tuple[LineFinder, Any]], list[InputProblem]]:
    reader = csv.DictReader(io.StringIO(text))
    columns = reader.fieldnames or []
    problems: list[InputProblem] = []
    missing = [name for name in ("effective_from", "action", "value") if name not in columns]
    if missing:
        problems.append(InputProblem(source, 1, None, f"missing column(s) {', '.join(missing)}"))
    for name in columns:
        if name not in CSV_COLUMNS:
            nearest = difflib.get_close_matches(name, CSV_COLUMNS, n=1)
            hint = f"; did you mean {nearest[0]!r}?" if nearest else f"; known columns: {', '.join(CSV_COLUMNS)}"
            problems.append(InputProblem(source, 1, None, f"unknown column {name!r}{hint}"))
    if problems:
        return [], problems
    numbered = "version" in columns
    documents: dict[Any, tuple[int, dict[str, Any], dict[str, int]]] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            problems.append(InputProblem(source, line, None, "more cells than columns"))
            continue
        row = {name: row.get(name) or "" for name in CSV_COLUMNS}
        row.update({name: _csv_text(row[name]) for name in CSV_TEXT_COLUMNS})
        try:
            levels = json.loads(row["levels"]) if row["levels"] else None
            by = json.loads(row["by"]) if row["by"] else None
        except json.JSONDecodeError as exc:
            problems.append(InputProblem(source, line, None, f"not valid JSON: {exc.msg}"))
            continue
        if row["enabled"] and row["enabled"].lower() not in CSV_BOOLEANS:
            problems.append(InputProblem(source, line, "enabled", f"expected true or false, got {row['enabled']!r}"))
            continue
        details = (row["author"], row["reason"], row["link"])
        header = {"effective_from": row["effective_from"], "levels": levels, "author": details[0], "reason": details[1], "link": details[2]}
        if row["enabled"]:
            header["enabled"] = CSV_BOOLEANS[row["enabled"].lower()]
        if row["start_date"]:
            header["start_date"] = row["start_date"]
        # Without a `version` column (files from before it), rows that agree on the version's
        # details are one version.
        period = (header.get("enabled"), header.get("start_date"))
        key = row["version"] if numbered else (row["effective_from"], json.dumps(levels, sort_keys=True), details, period)
        if numbered and not row["version"].isdigit():
            problems.append(InputProblem(source, line, "version", f"expected a version number, got {row['version']!r}"))
            continue
        first_line, document, action_lines = documents.setdefault(key, (line, {**header, "rules": {}}, {}))
        if numbered and {name: document[name] for name in header} != header:
            problems.append(InputProblem(source, line, f"version {row['version']}", f"its details differ from line {first_line}'s"))
            continue
        if row["action"] is not None:
            rule: dict[str, Any] = {"value": _csv_integer(row["value"] or "0")}
            for name in ("per", "min_quantity"):
                if row[name]:
                    rule[name] = _csv_integer(row[name])
            if by is not None:
                rule["by"] = by
            if row["action"] in document["rules"]:
                problems.append(InputProblem(source, line, "action", f"{row['action']!r} is listed twice in this version"))
            document["rules"][row["action"]] = rule
            action_lines[row["action"]] = line
    return [(_csv_lines(first, actions), document) for first, document, actions in documents.values()], problems


def _csv_text(cell: str) -> str | None:
    """A free-text cell as written by the exporter: empty is no value, `'` the empty text."""
    if cell == "":
        return None
    return restore(cell)


def _csv_integer(cell: str) -> int | str:
    """A whole number, or the cell as it is for the model to refuse with its reason."""
    return int(cell) if re.fullmatch(r"[+-]?[0-9]{1,30}", cell.strip()) else cell


def _csv_lines(first: int, actions: dict[str, int]) -> LineFinder:
    def line_of(loc: tuple[Any, ...]) -> int | None:
        if loc[:1] == ("rules",) and len(loc) > 1 and str(loc[1]) in actions:
            return actions[str(loc[1])]
        return first

    return line_of
