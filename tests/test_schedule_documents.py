"""Schedule documents: unknown keys and columns are refused with where they are (file, line,
version, action), every problem at once; names and texts no backend can store are refused
at input; a stored `by` on the empty name reads as a clear error, not a traceback."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from ledger import Ledger, Rule, ScheduleVersion
from ledger.errors import InvalidInput, StoreError
from ledger.importers.schedules import read_schedule


def problems_of(document: str, name: str = "schedule.yaml") -> list[str]:
    with pytest.raises(InvalidInput) as refused:
        read_schedule(io.BytesIO(document.encode()), name)
    return [str(problem) for problem in refused.value.problems]


def test_unknown_keys_are_named_with_file_line_version_and_action() -> None:
    document = """versions:
  - effective_from: 2024-01-01
    rules:
      likes_received: {valeu: 6}
      posts_read: {value: 1, per: 100, min_quantiy: 5}
  - effective_from: 2024-05-16
    reasn: typo
    levels: {kind: quadratic, coeficient: 100}
    rules: {likes_received: 6}
"""
    assert problems_of(document) == [
        "schedule.yaml:4: version 1 (2024-01-01), action likes_received: unknown key 'valeu'; did you mean 'value'?",
        "schedule.yaml:5: version 1 (2024-01-01), action posts_read: unknown key 'min_quantiy'; did you mean 'min_quantity'?",
        "schedule.yaml:8: version 2 (2024-05-16), levels: unknown key 'coeficient'; did you mean 'coefficient'?",
        "schedule.yaml:7: version 2 (2024-05-16): unknown key 'reasn'; did you mean 'reason'?",
    ]


def test_unknown_keys_in_json_and_beside_versions() -> None:
    found = problems_of('[{"effective_from": "2024-01-01", "rules": {"a": {"value": 1, "pre": 10}}}]', "s.json")
    assert found == ["s.json:1: version 1 (2024-01-01), action a: unknown key 'pre'; did you mean 'per'?"]
    assert "unknown key(s) 'version' beside `versions`" in problems_of("versions: []\nversion: 1\n")[0]


def test_unknown_csv_columns_are_refused() -> None:
    found = problems_of("effective_from,action,valeu,value\n2024-01-01,a,1,1\n", "s.csv")
    assert found == ["s.csv:1: unknown column 'valeu'; did you mean 'value'?"]


def test_a_csv_problem_names_the_row_of_its_action() -> None:
    document = "version,effective_from,action,value\n1,2024-01-01,a,1\n1,2024-01-01,b,x\n"
    assert problems_of(document, "s.csv") == ["s.csv:3: version 1 (2024-01-01), action b: value: Input should be a valid integer"]


@pytest.mark.parametrize("value", ["yes", "'6'", "6.0", "true"])
def test_values_are_whole_numbers_not_anything_that_converts(value: str) -> None:
    found = problems_of(f"effective_from: 2024-01-01\nrules: {{a: {{value: {value}}}}}\n")
    assert found == ["schedule.yaml:2: version 1 (2024-01-01), action a: value: Input should be a valid integer"]


@pytest.mark.parametrize(
    ("by", "reason"),
    [
        ({"": {"1": 1}}, "a `by` attribute name cannot be empty"),
        ({"a\x00b": {"1": 1}}, "a `by` attribute name contains a NUL character"),
        ({"a\ud800": {"1": 1}}, "a `by` attribute name is not valid UTF-8 text"),
        ({"rating": {"x" * 201: 1}}, "is longer than 200 characters"),
        ({"rating": {"a\x00": 1}}, "contains a NUL character"),
    ],
)
def test_by_names_no_backend_can_store_are_refused(by: dict, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason.replace("`", ".")):
        Rule(by=by)


def test_an_empty_by_name_in_a_document_is_refused() -> None:
    found = problems_of('effective_from: 2024-01-01\nrules: {rated: {by: {"": {5: 50}}}}\n')
    assert found == ["schedule.yaml:2: version 1 (2024-01-01), action rated: by: a `by` attribute name cannot be empty"]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"rules": {"x" * 101: 1}}, "is longer than 100 characters"),
        ({"rules": {"": 1}}, "is empty"),
        ({"rules": {"a\x00": 1}}, "contains a NUL character"),
        ({"reason": "why\x00"}, "contains a NUL character"),
        ({"levels": {"kind": "quadratic", "coefficient": 100, "extra": 1}}, "Extra inputs are not permitted"),
    ],
)
def test_version_texts_no_backend_can_store_are_refused(fields: dict, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        ScheduleVersion.model_validate({"effective_from": "2024-01-01", **fields})


def test_a_stored_by_on_the_empty_name_is_a_clear_error(book: Ledger, cli) -> None:
    """Ledgers written before the refusal may hold one: reading it must say so, not fail
    on the empty name taken for no name."""
    book.record_schedule(
        [ScheduleVersion(effective_from=date(2024, 1, 1), rules={"rated": Rule(by={"rating": {"5": 50}})})], retroactive=True
    )
    with book.engine.begin() as conn:
        seq = conn.execute(text("SELECT max(seq) FROM schedule_versions")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO schedule_rules (version_seq, action, value, per, min_quantity, by_attribute) "
                "VALUES (:seq, 'old', 0, NULL, NULL, '')"
            ),
            {"seq": seq},
        )
        conn.execute(
            text("INSERT INTO schedule_rule_points (version_seq, action, attribute_value, points) VALUES (:seq, 'old', '5', 5)"),
            {"seq": seq},
        )
    with pytest.raises(StoreError, match="is not a valid version as stored"):
        book.schedule_history()
    for command in (("schedule", "history"), ("schedule", "show", "--at", "2024-02-01")):
        result = cli(*command, ok=False)
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
        assert "is not a valid version as stored" in result.stderr


def test_a_csv_without_version_numbers_still_reads() -> None:
    """Files exported before the `version` column: rows that agree on a version's details
    are one version."""
    document = "effective_from,action,value,per,min_quantity,by,levels,author,reason,link\n2024-01-01,a,1,,,,,,,\n2024-01-01,b,2,10,,,,,,\n2024-02-01,a,3,,,,,,,\n"
    versions = read_schedule(io.BytesIO(document.encode()), "old.csv")
    assert [(v.effective_from.isoformat(), v.rules) for v in versions] == [
        ("2024-01-01", {"a": Rule(value=1), "b": Rule(value=2, per=10)}),
        ("2024-02-01", {"a": Rule(value=3)}),
    ]
