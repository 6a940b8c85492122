"""Scoring periods (a schedule version's `enabled` and `start_date`): what the documents say,
what is hashed, and what actions earn under them, on every backend."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pydantic import ValidationError

from ledger import Rule, ScheduleVersion
from ledger.errors import InvalidInput
from ledger.exporters.schedules import export_schedule
from ledger.importers.schedules import read_schedule

LAUNCH = ScheduleVersion(effective_from=date(2024, 1, 1), rules={"likes_received": Rule(value=3)}, reason="launch")


def test_a_version_at_the_defaults_keeps_its_document_and_key() -> None:
    """Versions recorded before scoring periods existed hash as they did."""
    document = LAUNCH.to_document()
    assert "enabled" not in document and "start_date" not in document
    assert LAUNCH.model_copy(update={"enabled": True}).content_key() == LAUNCH.content_key()


def test_a_period_is_part_of_the_content() -> None:
    off = LAUNCH.model_copy(update={"enabled": False})
    later = LAUNCH.model_copy(update={"start_date": date(2024, 3, 1)})
    assert len({LAUNCH.content_key(), off.content_key(), later.content_key()}) == 3
    assert off.to_document()["enabled"] is False
    assert later.to_document()["start_date"] == "2024-03-01"


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv"])
def test_documents_carry_the_period(fmt: str) -> None:
    versions = [
        LAUNCH,
        ScheduleVersion(effective_from=date(2024, 2, 1), rules={"likes_received": Rule(value=3)}, enabled=False),
        ScheduleVersion(effective_from=date(2024, 3, 1), rules={"likes_received": Rule(value=4)}, start_date=date(2024, 3, 15)),
    ]
    text = export_schedule(versions, fmt)
    assert read_schedule(io.BytesIO(text.encode()), f"s.{fmt}") == versions


def test_yaml_keys_and_refusals() -> None:
    document = "effective_from: 2024-01-01\nenabled: false\nstart_date: 2024-02-01\nrules: {likes_received: 3}\n"
    (version,) = read_schedule(io.BytesIO(document.encode()), "s.yaml")
    assert (version.enabled, version.start_date) == (False, date(2024, 2, 1))
    for document, name, field in [
        ('effective_from: 2024-01-01\nenabled: "off"\n', "s.yaml", "enabled"),
        ("effective_from: 2024-01-01\nstart_date: 2024-02-30\n", "s.yaml", "start_date"),
        ("effective_from,action,value,enabled\n2024-01-01,a,1,maybe\n", "s.csv", "enabled"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            read_schedule(io.BytesIO(document.encode()), name)
        assert field in str(refused.value.problems[0])
    with pytest.raises(ValidationError):
        ScheduleVersion(effective_from=date(2024, 1, 1), enabled=0)
