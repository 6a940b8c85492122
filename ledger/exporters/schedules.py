"""Writing schedule history as JSON, YAML or CSV; each re-imports to the same history."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

import yaml

from ledger.domain import ScheduleVersion, canonical_json
from ledger.importers.schedules import CSV_COLUMNS, CSV_TEXT_COLUMNS
from ledger.spreadsheet import neutralise

FORMATS = ("json", "yaml", "csv")


def export_schedule(versions: Sequence[ScheduleVersion], fmt: str) -> str:
    """The versions as a document in `fmt` (json, yaml or csv)."""
    documents = [version.to_document() for version in versions]
    if fmt == "json":
        return json.dumps({"versions": documents}, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump({"versions": documents}, sort_keys=False, allow_unicode=True)
    if fmt == "csv":
        return _csv(versions)
    raise ValueError(f"unknown schedule format {fmt!r}; use one of {', '.join(FORMATS)}")


def _csv(versions: Sequence[ScheduleVersion]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for version in versions:
        common = {
            "effective_from": version.effective_from.isoformat(),
            "levels": canonical_json(version.levels.to_document()) if version.levels else "",
            "author": version.author or "",
            "reason": version.reason or "",
            "link": version.link or "",
        }
        rules = sorted(version.rules.items()) or [("", None)]
        for action, rule in rules:
            row = dict(common, action=action, value="", per="", min_quantity="", by="")
            if rule is not None:
                row.update(
                    value=str(rule.value),
                    per="" if rule.per is None else str(rule.per),
                    min_quantity="" if rule.min_quantity is None else str(rule.min_quantity),
                    by=canonical_json(rule.by) if rule.by else "",
                )
            # Names and notes are free text: keep them inert in a spreadsheet.
            writer.writerow([neutralise(row[name]) if name in CSV_TEXT_COLUMNS else row[name] for name in CSV_COLUMNS])
    return out.getvalue()
