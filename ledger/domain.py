"""The ledger's core types: small, frozen, named after the domain.

Times are UTC. A timestamp without a zone is read as UTC; one with a zone is converted, then
stored without it. A day is a UTC calendar date.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime
from math import isqrt
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ledger.safe_values import attributes_size_problem, json_problem, text_problem

# Limits shared by the bulk importers and the models, so a row the CSV reader accepts is a
# row the model accepts. Integers stay well inside 64-bit and JSON-safe ranges.
MAX_INTEGER = 2**53 - 1
MAX_KEY_LENGTH = 200
MAX_NAME_LENGTH = 100
# Points per unit are at most 10^6 in size and a quantity at most 10^9, so one action is worth
# at most 10^15 points. No sum of a ledger's points can pass MAX_TOTAL_POINTS (inside 64 bits,
# 2^63 > 9.22 * 10^18, with room for a level's floor), which every write enforces from the
# ledger's running totals (ledger/store/quantity_caps.py).
MAX_POINT_VALUE = 10**6
MAX_QUANTITY = 10**9
MAX_TOTAL_POINTS = 9 * 10**18
ACTION_FIELDS = ("source_key", "user_id", "action", "occurred_at", "quantity", "attributes")
REQUIRED_ACTION_FIELDS = ("source_key", "user_id", "action", "occurred_at")
# Optional columns of an action file that correct a recorded action instead of adding one:
# the time it stopped counting, or the time its quantity / attributes changed to the row's.
CORRECTION_COLUMNS = ("retracted_at", "amended_at")


class OutsideCalendar(ValueError):
    """A moment that is a valid timestamp with an offset but falls outside the years 1 to 9999
    once converted to UTC."""


def utc_naive(moment: datetime) -> datetime:
    """A timestamp as naive UTC: zone-less input is taken as UTC already."""
    if moment.tzinfo is None:
        return moment
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        raise OutsideCalendar(f"{moment.isoformat()} is outside the years 1 to 9999 in UTC") from None


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


def user_reference(value: Any) -> Any:
    """A model's user field as a user reference (ledger/user_keys.py): the int of a direct
    integer key, else the key's text."""
    from ledger.user_keys import user_ref  # ledger.user_keys builds on this module's limits

    return user_ref(value)


UserField = int | str


def storable_attributes(value: dict[str, Any]) -> dict[str, Any]:
    """`value` if both backends store it as the same JSON, else ValueError saying why."""
    problem = json_problem(value) or attributes_size_problem(canonical_json(value))
    if problem:
        raise ValueError(f"attributes {problem}")
    return value


class Action(BaseModel):
    """Something a user did that may earn points. `source_key` is its idempotency key."""

    model_config = ConfigDict(frozen=True)

    source_key: str = Field(min_length=1, max_length=MAX_KEY_LENGTH)
    # The user's key: any text (ledger/user_keys.py); a canonical integer is kept as an int.
    user_id: UserField
    action: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    occurred_at: datetime
    quantity: int = Field(default=1, ge=0, le=MAX_QUANTITY)
    attributes: dict[str, Any] = Field(default_factory=dict)

    @field_validator("source_key", "action")
    @classmethod
    def _storable_text(cls, value: str) -> str:
        problem = text_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    _user_key = field_validator("user_id", mode="before")(user_reference)

    @field_validator("attributes")
    @classmethod
    def _storable_attributes(cls, value: dict[str, Any]) -> dict[str, Any]:
        return storable_attributes(value)

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
                str(attribute): ({str(k): v for k, v in table.items()} if isinstance(table, dict) else table)
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
            problem = text_problem(attribute)
            if problem:
                raise ValueError(f"a `by` attribute name {problem}")
            for attribute_value in table:
                problem = text_problem(attribute_value) or (
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
    """Where each level starts. `quadratic`: level n starts at coefficient * n * (n - 1) / 2
    points (0, 100, 300, 600, 1000 ... for the default coefficient of 100), without end;
    `thresholds`: an explicit list of starts, the first 0 (level 1), strictly increasing.
    `never_level_down`: a user's score is never let fall below the start of the highest level
    it reached (ledger/levels.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    kind: Literal["quadratic", "thresholds"] = "quadratic"
    coefficient: int = Field(default=100, ge=1, le=MAX_INTEGER)
    thresholds: list[int] | None = None
    never_level_down: bool = False

    @model_validator(mode="after")
    def _check_thresholds(self) -> LevelCurve:
        if self.kind == "thresholds":
            starts = self.thresholds
            if not starts or starts[0] != 0:
                raise ValueError("a `thresholds` level curve lists where each level starts, from 0 (level 1)")
            if any(later <= earlier for earlier, later in zip(starts, starts[1:], strict=False)):
                raise ValueError("level thresholds must increase strictly")
            if starts[-1] > MAX_INTEGER:
                raise ValueError(f"level thresholds are at most {MAX_INTEGER}")
        elif self.thresholds is not None:
            raise ValueError("`thresholds` belong to a curve of kind `thresholds`")
        return self

    def threshold(self, level: int) -> int:
        """Where `level` starts (levels from 1); past an explicit list's last level, never."""
        if self.kind == "thresholds":
            assert self.thresholds is not None
            return self.thresholds[level - 1] if level <= len(self.thresholds) else MAX_INTEGER + 1
        return self.coefficient * level * (level - 1) // 2

    def level_for(self, points: int) -> int:
        """The level a score reaches (1 for anything below the second level's start)."""
        if points <= 0:
            return 1
        if self.kind == "thresholds":
            assert self.thresholds is not None
            return bisect_right(self.thresholds, points)
        # The largest n with c * n * (n - 1) / 2 <= points, from the quadratic's root.
        level = (1 + isqrt(1 + 8 * (points // self.coefficient))) // 2
        while self.threshold(level + 1) <= points:
            level += 1
        while level > 1 and self.threshold(level) > points:
            level -= 1
        return level

    def to_document(self) -> dict[str, Any]:
        """The curve as stored and hashed: a quadratic curve as {kind, coefficient} (the
        spelling of versions recorded before the other options existed), options only when set."""
        document: dict[str, Any] = {"kind": self.kind}
        if self.kind == "quadratic":
            document["coefficient"] = self.coefficient
        else:
            document["thresholds"] = list(self.thresholds or [])
        if self.never_level_down:
            document["never_level_down"] = True
        return document


class ScheduleVersion(BaseModel):
    """The point values in force from `effective_from` until the next version's date.

    A scoring period (`enabled`, `start_date`): while a version with `enabled` false is in
    force, or before its `start_date`, actions earn nothing; which version decides is the one
    in force on the action's day among those recorded before the action (ledger/periods.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    effective_from: date
    rules: dict[str, Rule] = Field(default_factory=dict)
    levels: LevelCurve | None = None
    enabled: bool = True
    start_date: date | None = None
    author: str | None = None
    reason: str | None = None
    link: str | None = None

    @field_validator("enabled", mode="before")
    @classmethod
    def _a_boolean(cls, value: Any) -> Any:
        # `enabled: "no"` or `enabled: 0` in a document is a mistake, not false.
        if not isinstance(value, bool):
            raise ValueError(f"`enabled` is true or false, not {value!r}")
        return value

    @field_validator("effective_from", "start_date", mode="before")
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
            problem = text_problem(action) or (
                "is empty" if action == "" else f"is longer than {MAX_NAME_LENGTH} characters" if len(action) > MAX_NAME_LENGTH else None
            )
            if problem:
                raise ValueError(f"action name {action[:40]!r} {problem}")
        return value

    @field_validator("author", "reason", "link")
    @classmethod
    def _storable_details(cls, value: str | None) -> str | None:
        problem = text_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    def rule_for(self, action: str) -> Rule | None:
        return self.rules.get(action)

    def scores(self, day: date) -> bool:
        """Whether actions on `day` earn points under this version's scoring period."""
        return self.enabled and (self.start_date is None or self.start_date <= day)

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
            document["levels"] = self.levels.to_document()
        # Only when set: versions recorded before scoring periods existed keep their hashes.
        if not self.enabled:
            document["enabled"] = False
        if self.start_date is not None:
            document["start_date"] = self.start_date.isoformat()
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


# -- corrections: what changes a score after the fact, as dated events ----------------------

ADJUSTMENT_KINDS = ("manual", "imported", "compensation")
# Kinds that count in the ledger's own scores: a compensation records what was sent to an
# outside system so that its recalculation shows the ledger's total, not points of its own.
COUNTED_ADJUSTMENT_KINDS = ("manual", "imported")
MAX_REASON_LENGTH = 2000
# An adjustment's points: as much as a thousand of the largest actions; what they add up to
# counts towards MAX_TOTAL_POINTS.
MAX_ADJUSTMENT_POINTS = 10**12


def _parse_moment(value: Any) -> Any:
    if isinstance(value, str):
        return parse_timestamp(value)
    return value


class Adjustment(BaseModel):
    """Points given to (or taken from) a user on a day, with a reason. `key` is its
    idempotency key, unique per ledger as an action's source_key is."""

    model_config = ConfigDict(frozen=True)

    @field_validator("key", "reason", "author", "reference")
    @classmethod
    def _storable_text(cls, value: str | None) -> str | None:
        problem = text_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    key: str = Field(min_length=1, max_length=MAX_KEY_LENGTH)
    user_id: UserField
    points: int = Field(ge=-MAX_ADJUSTMENT_POINTS, le=MAX_ADJUSTMENT_POINTS)
    on: date
    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)
    kind: Literal["manual", "imported", "compensation"] = "manual"
    author: str | None = Field(default=None, max_length=MAX_NAME_LENGTH)
    reference: str | None = Field(default=None, max_length=MAX_KEY_LENGTH)

    _user_key = field_validator("user_id", mode="before")(user_reference)

    @field_validator("on", mode="before")
    @classmethod
    def _parse_on(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_day(value)
        if isinstance(value, datetime):
            return value.date()
        return value

    @property
    def counts(self) -> bool:
        """Whether it counts in the ledger's own scores (see COUNTED_ADJUSTMENT_KINDS)."""
        return self.kind in COUNTED_ADJUSTMENT_KINDS


class _Correction(BaseModel):
    """A change to a recorded action, booked at `at` (the day it was made)."""

    model_config = ConfigDict(frozen=True)

    source_key: str = Field(min_length=1, max_length=MAX_KEY_LENGTH)
    at: datetime
    reason: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)

    _parse_at = field_validator("at", mode="before")(_parse_moment)

    @field_validator("at")
    @classmethod
    def _at_utc(cls, value: datetime) -> datetime:
        return utc_naive(value)


class Retraction(_Correction):
    """The action stopped counting (a post deleted, a solution unaccepted): it cancels what
    the action earned, priced at the version of the action's own day."""


class Reinstatement(_Correction):
    """A retracted action counts again (a post restored)."""


class Amendment(_Correction):
    """The action's measure changed (a visit's reading time grew, a rating changed): the
    difference between the new and the old measure is booked at `at`."""

    quantity: int = Field(ge=0, le=MAX_QUANTITY)
    attributes: dict[str, Any] = Field(default_factory=dict)

    @field_validator("attributes")
    @classmethod
    def _storable_attributes(cls, value: dict[str, Any]) -> dict[str, Any]:
        return storable_attributes(value)


Correction = Retraction | Reinstatement | Amendment


class Merge(BaseModel):
    """From now on, every event of `source` (past and future) counts for `target`."""

    model_config = ConfigDict(frozen=True)

    source: UserField
    target: UserField
    at: datetime
    reason: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)

    _user_keys = field_validator("source", "target", mode="before")(user_reference)
    _parse_at = field_validator("at", mode="before")(_parse_moment)

    @field_validator("at")
    @classmethod
    def _at_utc(cls, value: datetime) -> datetime:
        return utc_naive(value)

    @model_validator(mode="after")
    def _not_self(self) -> Merge:
        if self.source == self.target:
            raise ValueError("a user cannot be merged into itself")
        return self


class UserNames(BaseModel):
    """A user's username and display name (either may be absent), as of when it is recorded.
    Names label outputs; they never change a score."""

    model_config = ConfigDict(frozen=True)

    user: UserField
    username: str | None = Field(default=None, max_length=MAX_NAME_LENGTH)
    name: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)

    _user_key = field_validator("user", mode="before")(user_reference)

    @field_validator("username", "name", mode="before")
    @classmethod
    def _storable_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            problem = text_problem(value)
            if problem:
                raise ValueError(problem)
            return value or None
        return value


class ActionState(BaseModel):
    """A recorded action as it stands after its corrections."""

    model_config = ConfigDict(frozen=True)

    source_key: str
    user_id: UserField
    action: str
    occurred_at: datetime
    quantity: int
    attributes: dict[str, Any]
    active: bool
    last_changed_at: datetime | None = None


@dataclass(frozen=True)
class UserPoints:
    # The stored number inside the ledger; the user's reference (ledger/user_keys.py) once
    # `ledger.users.labelled` has turned it back, with the user's names when known.
    user_id: int | str
    points: int
    # Where the points stand on the level curve in force (ledger/levels.py); None without one.
    level: int | None = None
    username: str | None = None
    name: str | None = None


class Located(NamedTuple):
    """An input item and where it came from, for error messages."""

    source: str
    line: int | None
    item: Any


def now_utc() -> datetime:
    """This moment, as the naive UTC time the ledger stores."""
    return datetime.now(UTC).replace(tzinfo=None)
