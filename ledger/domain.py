"""The ledger's core types: small, frozen, named after the domain.

Times are UTC. A timestamp without a zone is read as UTC; one with a zone is converted, then
stored without it. A day is a UTC calendar date.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Limits shared by the bulk importers and the models, so a row the CSV reader accepts is a
# row the model accepts. Integers stay well inside 64-bit and JSON-safe ranges.
MAX_INTEGER = 2**53 - 1
MAX_KEY_LENGTH = 200
MAX_NAME_LENGTH = 100
# Points per unit are at most 10^6 in size and a quantity at most 10^9, so one action is worth
# at most 10^15 points and a user's total stays inside 64 bits (2^63 > 9.2 * 10^18) up to
# MAX_USER_QUANTITY units, which ingest enforces: no accepted input can overflow a sum.
MAX_POINT_VALUE = 10**6
MAX_QUANTITY = 10**9
MAX_USER_QUANTITY = 9 * 10**12
ACTION_FIELDS = ("source_key", "user_id", "action", "occurred_at", "quantity", "attributes")
REQUIRED_ACTION_FIELDS = ("source_key", "user_id", "action", "occurred_at")


def utc_naive(moment: datetime) -> datetime:
    """A timestamp as naive UTC: zone-less input is taken as UTC already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def parse_timestamp(text: str) -> datetime:
    """Parse ISO 8601 (date, or date and time, `Z` or an offset allowed) into naive UTC."""
    text = text.strip()
    if not text:
        raise ValueError("empty timestamp")
    moment = datetime.fromisoformat(text)
    return utc_naive(moment)


def parse_day(text: str) -> date:
    """Parse a `YYYY-MM-DD` calendar day."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {text!r}") from None


def today_utc() -> date:
    return datetime.now(UTC).date()


def canonical_json(value: Any) -> str:
    """One spelling for one JSON value: sorted keys, no spaces. Used for storage and hashing."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _text_problem(text: str) -> str | None:
    """Why `text` cannot be stored as text on both backends, or None."""
    if "\x00" in text:
        return "contains a NUL character"  # PostgreSQL text cannot hold NUL
    if any("\ud800" <= char <= "\udfff" for char in text):
        return "is not valid UTF-8 text (a lone surrogate)"
    return None


class Action(BaseModel):
    """Something a user did that may earn points. `source_key` is its idempotency key."""

    model_config = ConfigDict(frozen=True)

    source_key: str = Field(min_length=1, max_length=MAX_KEY_LENGTH)
    user_id: int = Field(ge=-MAX_INTEGER, le=MAX_INTEGER)
    action: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    occurred_at: datetime
    quantity: int = Field(default=1, ge=0, le=MAX_INTEGER)
    attributes: dict[str, Any] = Field(default_factory=dict)

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _parse_occurred_at(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_timestamp(value)
        return value

    @field_validator("occurred_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return utc_naive(value)

    @property
    def day(self) -> date:
        return self.occurred_at.date()


class Rule(BaseModel):
    """How one action type is priced.

    - `value` points per unit of quantity;
    - `per`: bucket size; points = floor(sum of quantity per user and UTC day / per) * value;
    - `min_quantity`: an event whose quantity is below it earns nothing (and does not count
      towards a bucket);
    - `by`: an attribute -> points table, e.g. `{"rating": {"3": 30, "4": 40, "5": 50}}`;
      an event earns table[attribute value] * quantity, and a value missing from the table 0.
      The attribute is a top-level key of the event's attributes, named exactly (a `.` in
      the name is part of it, not a path), without a double quote.
    """

    # Strict: `value: yes` or `value: "6"` in a document is a mistake, not 1 or 6.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    value: int = Field(default=0, ge=-MAX_POINT_VALUE, le=MAX_POINT_VALUE)
    per: int | None = Field(default=None, ge=1, le=MAX_INTEGER)
    min_quantity: int | None = Field(default=None, ge=0, le=MAX_INTEGER)
    by: dict[str, dict[str, int]] | None = None

    @field_validator("by", mode="before")
    @classmethod
    def _string_keys(cls, value: Any) -> Any:
        # YAML reads `5: 50` with an integer key; attribute values are compared as text.
        if isinstance(value, dict):
            return {
                str(attribute): (
                    {str(k): v for k, v in table.items()} if isinstance(table, dict) else table
                )
                for attribute, table in value.items()
            }
        return value

    @field_validator("by")
    @classmethod
    def _storable_names(cls, value: dict[str, dict[str, int]] | None) -> dict[str, dict[str, int]] | None:
        # `is None`, not truthiness: the empty name is a name, and one no attribute can have.
        if value is None:
            return value
        for attribute, table in value.items():
            if attribute == "":
                raise ValueError("a `by` attribute name cannot be empty")
            problem = _text_problem(attribute)
            if problem:
                raise ValueError(f"a `by` attribute name {problem}")
            for attribute_value in table:
                problem = _text_problem(attribute_value) or (
                    f"is longer than {MAX_KEY_LENGTH} characters" if len(attribute_value) > MAX_KEY_LENGTH else None
                )
                if problem:
                    raise ValueError(f"a `by` table value {attribute_value[:40]!r} {problem}")
        return value

    @model_validator(mode="after")
    def _check_shape(self) -> Rule:
        if self.by is not None:
            if len(self.by) != 1:
                raise ValueError("`by` names exactly one attribute")
            if self.per is not None:
                raise ValueError("`by` and `per` cannot be combined")
            attribute = next(iter(self.by))
            if any(abs(points) > MAX_POINT_VALUE for points in self.by[attribute].values()):
                raise ValueError(f"`by` points are between -{MAX_POINT_VALUE} and {MAX_POINT_VALUE}")
            if len(attribute) > MAX_NAME_LENGTH:
                raise ValueError(f"a `by` attribute name is at most {MAX_NAME_LENGTH} characters")
            # SQLite looks the attribute up by a quoted JSON path, which has no escape for
            # a double quote (sql/sqlite/replay.sql `attribute_as_text`).
            if '"' in attribute:
                raise ValueError('a `by` attribute name cannot contain a double quote (")')
        return self

    @property
    def by_attribute(self) -> str | None:
        return next(iter(self.by)) if self.by is not None else None

    @property
    def by_points(self) -> dict[str, int]:
        return next(iter(self.by.values())) if self.by is not None else {}

    def to_document(self) -> dict[str, Any]:
        """The rule as a plain mapping, without fields left at their defaults."""
        return self.model_dump(exclude_none=True, exclude_defaults=True) or {"value": 0}


class LevelCurve(BaseModel):
    """Level thresholds. `quadratic`: level n needs coefficient * n * (n - 1) / 2 points
    (0, 100, 300, 600, 1000 ... for the default coefficient of 100)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    kind: Literal["quadratic"] = "quadratic"
    coefficient: int = Field(default=100, ge=1, le=MAX_INTEGER)

    def threshold(self, level: int) -> int:
        return self.coefficient * level * (level - 1) // 2

    def level_for(self, points: int) -> int:
        level = 1
        while self.threshold(level + 1) <= points:
            level += 1
        return level


class ScheduleVersion(BaseModel):
    """The point values in force from `effective_from` until the next version's date."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    effective_from: date
    rules: dict[str, Rule] = Field(default_factory=dict)
    levels: LevelCurve | None = None
    author: str | None = None
    reason: str | None = None
    link: str | None = None

    @field_validator("effective_from", mode="before")
    @classmethod
    def _parse_day(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_day(value)
        if isinstance(value, int | float):
            # pydantic would read a number as seconds since 1970: 86400 is not a day anyone means.
            raise ValueError(f"not a date (YYYY-MM-DD): {value!r}")
        if isinstance(value, datetime):
            return value.date()
        return value

    @field_validator("rules", mode="before")
    @classmethod
    def _plain_values(cls, value: Any) -> Any:
        # `likes_received: 3` is short for `likes_received: {value: 3}`.
        if isinstance(value, dict):
            return {
                str(action): ({"value": rule} if isinstance(rule, int) and not isinstance(rule, bool) else rule)
                for action, rule in value.items()
            }
        return value

    @field_validator("rules")
    @classmethod
    def _storable_actions(cls, value: dict[str, Rule]) -> dict[str, Rule]:
        for action in value:
            problem = _text_problem(action) or (
                "is empty" if action == "" else
                f"is longer than {MAX_NAME_LENGTH} characters" if len(action) > MAX_NAME_LENGTH else None
            )
            if problem:
                raise ValueError(f"action name {action[:40]!r} {problem}")
        return value

    @field_validator("author", "reason", "link")
    @classmethod
    def _storable_details(cls, value: str | None) -> str | None:
        problem = _text_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    def rule_for(self, action: str) -> Rule | None:
        return self.rules.get(action)

    def content_key(self) -> str:
        """A digest of everything the version says: the same version twice is one version."""
        body = canonical_json(self.to_document())
        return hashlib.sha256(body.encode()).hexdigest()

    def to_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "effective_from": self.effective_from.isoformat(),
            "rules": {action: rule.to_document() for action, rule in sorted(self.rules.items())},
        }
        if self.levels is not None:
            document["levels"] = self.levels.model_dump()
        for name in ("author", "reason", "link"):
            if getattr(self, name) is not None:
                document[name] = getattr(self, name)
        return document


class RecordedScheduleVersion(BaseModel):
    """A schedule version as stored: the version plus when the ledger learned it."""

    model_config = ConfigDict(frozen=True)

    seq: int
    recorded_at: datetime
    retroactive: bool
    version: ScheduleVersion
