"""Writing schedule history as JSON, YAML or CSV; each re-imports to the same history."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

import yaml

from ledger.domain import Rule, ScheduleVersion, canonical_json
from ledger.importers.schedules import CSV_COLUMNS, CSV_EMPTY_TEXT, CSV_TEXT_COLUMNS
from ledger.spreadsheet import neutralise

FORMATS = ("json", "yaml", "csv")


def export_schedule(versions: Sequence[ScheduleVersion], fmt: str) -> str:
    """The versions as a document in `fmt` (json, yaml or csv)."""
    documents = [version.to_document() for version in versions]
    if fmt == "json":
        return json.dumps({"versions": documents}, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        return yaml.dump({"versions": documents}, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
    if fmt == "csv":
        return _csv(versions)
    raise ValueError(f"unknown schedule format {fmt!r}; use one of {', '.join(FORMATS)}")


class _Dumper(yaml.SafeDumper):
    """Safe YAML that double-quotes text holding a character YAML reads as a line break
    (NEL, LINE/PARAGRAPH SEPARATOR, carriage return): written plain, they would read back
    as spaces."""


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = '"' if any(char in text for char in "\x85\u2028\u2029\r") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _text)


def _csv(versions: Sequence[ScheduleVersion]) -> str:
    out = io.StringIO()
    # CRLF (RFC 4180): the writer quotes a cell holding any character of the line terminator,
    # so a lone carriage return in a reason is quoted and reads back as itself.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for number, version in enumerate(versions, start=1):
        common = {
            "version": str(number),
            "effective_from": version.effective_from.isoformat(),
            "levels": canonical_json(version.levels.to_document()) if version.levels else "",
            "enabled": "" if version.enabled else "false",
            "start_date": version.start_date.isoformat() if version.start_date else "",
            "author": version.author,
            "reason": version.reason,
            "link": version.link,
        }
        rules: list[tuple[str | None, Rule | None]] = [*sorted(version.rules.items())] or [(None, None)]
        for action, rule in rules:
            row: dict[str, str | None] = dict(common, action=action, value="", per="", min_quantity="", by="")
            if rule is not None:
                row.update(
                    value=str(rule.value),
                    per="" if rule.per is None else str(rule.per),
                    min_quantity="" if rule.min_quantity is None else str(rule.min_quantity),
                    by=canonical_json(rule.by) if rule.by is not None else "",
                )
            writer.writerow([_text_cell(row[name]) if name in CSV_TEXT_COLUMNS else row[name] for name in CSV_COLUMNS])
    return out.getvalue()


def _text_cell(text: str | None) -> str:
    """A free-text cell: no value is empty, the empty text a lone `'`, and any other text kept
    inert in a spreadsheet (`neutralise`)."""
    if text is None:
        return ""
    return neutralise(text) if text else CSV_EMPTY_TEXT
