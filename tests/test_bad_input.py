"""Bad input, generated: every file either imports exactly as written or is refused with a
clear error (exit 1, no traceback) and nothing of it is written. Never a crash, never a
partial write. Each example uses its own ledger namespace in the test's database."""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ledger import Ledger
from ledger.domain import MAX_INTEGER, MAX_POINT_VALUE, MAX_QUANTITY, canonical_json
from ledger.store.tables import actions, schedule_versions

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text a spreadsheet would run as a formula: must be stored as given, never interpreted.
FORMULAS = ["=1+2", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", '=HYPERLINK("http://x")']
# Readable text with the characters that stress CSV and canonical spelling: quotes, commas,
# tabs and newlines inside, backslashes, non-ASCII. No surrounding space (values are trimmed).
INNER = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]) | st.sampled_from(['"', ",", "\t", "\n", "\\", "'"]),
    max_size=12,
)
EDGE = st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Zs", "Zl", "Zp"])
NAME = st.builds(lambda a, b, c: a + b + c, EDGE, INNER, EDGE).filter(lambda t: t == t.strip()) | st.sampled_from(FORMULAS)
ZONES = st.sampled_from(
    [None, UTC, timezone(timedelta(hours=-11)), timezone(timedelta(hours=5, minutes=45)), timezone(timedelta(hours=14))]
)
MOMENT = st.builds(
    lambda naive, zone: naive.replace(tzinfo=zone),
    st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2100, 1, 1)),
    ZONES,
)
ATTRIBUTES = st.dictionaries(NAME, st.integers(-MAX_INTEGER, MAX_INTEGER) | NAME | st.booleans() | st.none(), max_size=3)


@dataclass
class Row:
    """One generated action: what the file says, and what the ledger must store for it."""

    values: dict[str, Any]
    expected: tuple | None = None
    fault: str | None = None


@st.composite
def valid_rows(draw: st.DrawFn, index: int) -> Row:
    key = f"{index}:{draw(NAME)}"
    user = draw(st.integers(-MAX_INTEGER, MAX_INTEGER))
    action = draw(NAME)
    moment = draw(MOMENT)
    quantity = draw(st.none() | st.integers(0, MAX_QUANTITY))
    attributes = draw(ATTRIBUTES)
    values: dict[str, Any] = {"source_key": key, "user_id": user, "action": action, "occurred_at": moment.isoformat()}
    if quantity is not None:
        values["quantity"] = quantity
    if attributes:
        values["attributes"] = attributes
    utc = moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    return Row(values, (key, user, action, utc, 1 if quantity is None else quantity, canonical_json(attributes)))


# Each fault makes a row certainly invalid: (field, bad value).
FAULTS: dict[str, list[Any]] = {
    # Any text of 1 to 200 characters is a user key ("abc", "1.5", 10**40 included).
    "user_id": ["", "   ", "u" * 201, "nul\x00user"],
    "quantity": ["-1", str(MAX_QUANTITY + 1), "x", "2.5", -7, 10**30],
    "occurred_at": [
        "2024-02-30",
        "2024-13-01T00:00:00",
        "2024-01-01T00:00:00+25:00",
        "2024-01-01T25:00:00",
        "yesterday",
        "",
        "2024-01-01T00:00:00 Europe/Paris",
        "20240101.5",
        1704067200,
    ],
    "source_key": ["", "k" * 201, "nul\x00key"],
    "action": ["", "a" * 101],
    "attributes": ["[1]", "{bad", '{"x": NaN}', '"text"', 5],
}


@st.composite
def faulty_rows(draw: st.DrawFn, index: int) -> Row:
    row = draw(valid_rows(index))
    name = draw(st.sampled_from(sorted(FAULTS)))
    row.values[name] = draw(st.sampled_from(FAULTS[name]))
    return Row(row.values, None, name)


@dataclass
class ActionFile:
    fmt: str
    rows: list[Row]
    file_fault: str | None = None
    extra_lines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return self.file_fault is not None or any(row.fault for row in self.rows)

    def body(self) -> bytes:
        records = [row.values for row in self.rows] + self.extra_lines
        if self.fmt == "jsonl":
            text = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
        else:
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            columns = ["source_key", "user_id", "action", "occurred_at", "quantity", "attributes"]
            if self.file_fault == "missing column":
                columns.remove("occurred_at")
            writer.writerow(columns)
            for record in records:
                writer.writerow([_csv_value(record.get(name)) for name in columns])
            text = out.getvalue()
        data = text.encode()
        if self.file_fault == "not UTF-8":
            data = data.replace(b":", b"\xff\xfe:", 1)
        return data


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@st.composite
def action_files(draw: st.DrawFn) -> ActionFile:
    fmt = draw(st.sampled_from(["csv", "jsonl"]))
    count = draw(st.integers(1, 6))
    rows = [draw(faulty_rows(i) if draw(st.integers(0, 4)) == 0 else valid_rows(i)) for i in range(count)]
    file_fault = draw(st.sampled_from([None, None, None, "missing column", "not UTF-8", "key repeated differently"]))
    found = ActionFile(fmt, rows, file_fault)
    if file_fault == "missing column" and fmt == "jsonl":
        del rows[0].values["occurred_at"]
    if file_fault == "key repeated differently":
        again = dict(rows[0].values, user_id=_other_user(rows[0].values.get("user_id")))
        found.extra_lines.append(again)
    return found


def _other_user(user: Any) -> int:
    return 7 if user != 7 else 8


def stored_actions(book: Ledger, ledger: str) -> list[tuple]:
    with book.engine.connect() as conn:
        rows = conn.execute(
            select(
                actions.c.source_key, actions.c.user_id, actions.c.action, actions.c.occurred_at, actions.c.quantity, actions.c.attributes
            )
            .where(actions.c.ledger == ledger)
            .order_by(actions.c.seq)
        ).all()
    return [tuple(row) for row in rows]


def assert_clean_refusal(result) -> None:
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert "error:" in result.stderr


@EXAMPLES
@given(generated=action_files())
def test_generated_action_files(book: Ledger, cli, tmp_path: Path, generated: ActionFile) -> None:
    ledger = f"bad-{uuid.uuid4().hex[:12]}"
    path = tmp_path / f"{ledger}.{generated.fmt}"
    path.write_bytes(generated.body())
    result = cli("--ledger", ledger, "ingest", str(path), ok=False)
    event(f"{generated.fmt}: {'refused' if generated.refused else 'imported'}")
    if generated.refused:
        assert_clean_refusal(result)
        assert stored_actions(book, ledger) == []  # nothing of a refused file is written
    else:
        assert result.exit_code == 0, (result.output, result.exception)
        assert stored_actions(book, ledger) == [row.expected for row in generated.rows]
        again = cli("--ledger", ledger, "ingest", str(path))  # and re-running adds nothing
        assert again.stdout.startswith("0 new")


# -- schedule documents --------------------------------------------------------------------------

RULE_FAULTS = [
    {"value": "six"},
    {"value": 1.5},
    {"value": 10**30},
    {"value": MAX_POINT_VALUE + 1},
    {"value": 1, "per": 0},
    {"value": 1, "per": -4},
    {"by": {"a": {"1": 1}, "b": {"2": 2}}},
    {"by": {"r": {"1": "x"}}},
    {"value": 1, "per": 2, "by": {"r": {"1": 1}}},
    "lots",
]
DAY_FAULTS = ["2024-02-30", "2024-13-01", "yesterday", "", 20240101, 86400, "2024-01-01T00:00:00+25:00"]


@st.composite
def schedule_documents(draw: st.DrawFn) -> tuple[bytes, bool]:
    versions = []
    refused = False
    for index in range(draw(st.integers(1, 3))):
        rules = {draw(NAME): draw(st.integers(-MAX_POINT_VALUE, MAX_POINT_VALUE)) for _ in range(draw(st.integers(0, 3)))}
        version: dict[str, Any] = {
            "effective_from": f"20{10 + index:02d}-0{draw(st.integers(1, 9))}-1{draw(st.integers(0, 9))}",
            "rules": rules,
            "reason": draw(NAME),
            "author": draw(st.sampled_from(FORMULAS)),
        }
        if draw(st.integers(0, 3)) == 0:
            refused = True
            if draw(st.booleans()):
                version["effective_from"] = draw(st.sampled_from(DAY_FAULTS))
            else:
                version["rules"] = {**rules, "broken": draw(st.sampled_from(RULE_FAULTS))}
        versions.append(version)
    body = yaml.safe_dump({"versions": versions}, allow_unicode=True).encode()
    if draw(st.integers(0, 5)) == 0:
        refused = True
        body = body.replace(b"versions", b"versions\xff", 1)
    return body, refused


@EXAMPLES
@given(generated=schedule_documents())
def test_generated_schedule_documents(book: Ledger, cli, tmp_path: Path, generated: tuple[bytes, bool]) -> None:
    body, refused = generated
    ledger = f"bad-{uuid.uuid4().hex[:12]}"
    path = tmp_path / f"{ledger}.yaml"
    path.write_bytes(body)
    result = cli("--ledger", ledger, "schedule", "import", str(path), "--retroactive", ok=False)
    event("refused" if refused else "imported")
    with book.engine.connect() as conn:
        written = conn.execute(select(func.count()).select_from(schedule_versions).where(schedule_versions.c.ledger == ledger)).scalar_one()
    if refused:
        assert_clean_refusal(result)
        assert written == 0
    else:
        assert result.exit_code == 0, (result.output, result.exception)
        document = yaml.safe_load(body.decode())
        history = Ledger(book.engine, ledger).schedule_history()
        assert written == len({json.dumps(v, sort_keys=True) for v in document["versions"]}) == len(history)
        exported = cli("--ledger", ledger, "schedule", "export", "--format", "json").stdout
        assert [v["rules"] for v in json.loads(exported)["versions"]] == [
            {action: ({"value": value} if value else {"value": 0}) for action, value in sorted(v["rules"].items())}
            for v in sorted(document["versions"], key=lambda v: v["effective_from"])
        ]
