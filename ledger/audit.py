"""The per-user audit: every line that makes up a user's points, in order.

Each line says when, what (action type, source_key, quantity, attributes), which schedule
version priced it (its effective_from and reason), the rule, the points, and the running
total. A `per` rule prices a (user, day, action) bucket rather than an event, so a bucket
is one line listing its events. The database gives the user's events in order
(`audit_user`, sql/audit.sql); each event's version, the one in force on its day, is found
here from the schedule (`audit_rules`), except for a ledger with `by` rules, whose statement
gives each event its version and what that version's `by` table gives the event's attribute
(`audit_user_with_by_points`). The lines are priced here from the rules as `recalc` prices
them (`bucket_points` in sql/replay.sql), so the last running total equals the user's score.
An `Auditor` (one per `Ledger`) keeps the schedule it read, and reads it again only once a
version has been recorded since.

A heavy user's audit has thousands of lines, so the cost per line is what matters (the
target is 5 ms for a user with a thousand). The actions come from the index
ix_actions_user_history alone, which carries every column shown (migration 0008), in the
audit's order (0010): in the table a user's actions lie on as many pages as there are
actions. Rows come as the driver's plain tuples (attribute access on SQLAlchemy rows costs
time for every column, and a line reads every column), and each rule is described once per audit, and each day
parsed once, rather than once per line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import Connection, CursorResult, Date, Engine, TextClause, bindparam

from ledger.domain import MAX_INTEGER, LevelCurve
from ledger.in_force import InForce
from ledger.levels import stored_curve
from ledger.periods import Gate, PeriodOf
from ledger.rule_words import NO_RULE, NO_SCHEDULE, describe
from ledger.sqlfiles import statement
from ledger.standings import check_range
from ledger.store.dialects import dialect_of
from ledger.store.engine import read_transaction, server_prepared, statement_reads, translate
from ledger.time_bounds import FIRST_DAY, LAST_DAY, as_day, as_moment

# What one audit's reads give (ledger/corrections_audit.py: its lines and level curve).
Read = TypeVar("Read")


@dataclass(slots=True)
class AuditLine:
    """One priced event, or one bucket of events for a `per` rule."""

    when: datetime
    day: date
    action: str
    source_keys: list[str]
    quantity: int
    attributes: str
    effective_from: date | None
    reason: str | None
    rule: str
    points: int
    running_total: int = 0
    events: int = field(default=1)
    # What the line is: an action (or a `per` bucket of them), a retraction, reinstatement or
    # amendment, an adjustment, or a compensation (shown, not counted: its points are 0).
    kind: str = "action"
    # The user whose event it is, when it counts for another through a merge.
    merged_from: int | str | None = None

    @property
    def source_key(self) -> str:
        return ", ".join(self.source_keys)


class Auditor:
    """Per-user audits of one ledger, keeping the schedule the last one read.

    Schedule versions and their rules are append-only (ledger/store/append_only.py): a
    version once read never changes, and none is ever taken away. So while the ledger has
    as many versions as the kept schedule, which the lines' statement counts in its own
    snapshot, they are those versions, and the lines are priced from it without reading the
    schedule again; that read and its parsing were a large share of an audit. A version
    recorded since, by this process or another, makes the next audit read the schedule again.
    """

    def __init__(self, engine: Engine, ledger: str) -> None:
        self.engine = engine
        self.ledger = ledger
        self._schedule: Schedule | None = None

    def read(self, reads: Callable[[Connection, Schedule], Read]) -> Read:
        """What `reads` reads and prices on one connection with the ledger's schedule: the
        kept one first; read again, and `reads` run again, when a statement of `reads`
        (through `lines_of` or `require_whole_schedule`) finds versions the schedule lacks."""
        known = self._schedule
        if known is not None:
            try:
                with statement_reads(self.engine) as conn, server_prepared(conn):
                    return reads(conn, known)
            except _VersionRecordedMeanwhile:
                pass  # a version recorded since the schedule was kept: read it again
        try:
            return self._read_schedule_and(statement_reads, reads)
        except _VersionRecordedMeanwhile:
            # On PostgreSQL each statement read a snapshot of its own, and a version was
            # recorded between them: read them all again in one.
            return self._read_schedule_and(read_transaction, reads)

    def action_lines(self, user_id: int, from_day: date | None = None, to_day: date | None = None) -> list[AuditLine]:
        """The lines of `user_id`'s own actions on `from_day`..`to_day` (corrections,
        adjustments and merges are added by ledger/corrections_audit.py)."""
        check_range(from_day, to_day)
        params = {"ledger": self.ledger, "user_id": user_id, "from_day": from_day or FIRST_DAY, "to_day": to_day or LAST_DAY}
        return self.read(lambda conn, schedule: lines_of(conn, params, schedule))

    def _read_schedule_and(
        self, opened: Callable[[Engine], AbstractContextManager[Connection]], reads: Callable[[Connection, Schedule], Read]
    ) -> Read:
        with opened(self.engine) as conn, server_prepared(conn):
            schedule = Schedule(plain_rows(conn.execute(rules_statement(dialect_of(conn).name), {"ledger": self.ledger})))
            result = reads(conn, schedule)
        # Kept only once it priced lines: a schedule read in a snapshot older than the
        # lines' is not kept when they name a version it lacks.
        self._schedule = schedule
        return result


def lines_of(
    conn: Connection, params: dict[str, Any], schedule: Schedule, counted_into: dict[tuple[date, str], int] | None = None
) -> list[AuditLine]:
    """The lines of the user's actions (`params`: ledger, user_id, from_day, to_day), priced
    by `schedule`; `counted_into` (if given) receives each `per` bucket's counted quantity."""
    # Prepared: planning is a noticeable share of an audit, and this plan is the same for every
    # user (each parameter bounds one index range).
    rows = plain_rows(conn.execute(audit_statement(dialect_of(conn).name, schedule.has_by_rules), params))
    require_whole_schedule(rows, VERSIONS_COLUMN, schedule)
    return audit_lines(rows, schedule, counted_into)


def require_whole_schedule(rows: Sequence[Sequence[Any]], column: int, schedule: Schedule) -> None:
    """Raise _VersionRecordedMeanwhile if `rows` (which give in `column` how many versions the
    ledger has in their statement's snapshot) count versions that `schedule` lacks."""
    if rows and rows[0][column] != schedule.version_count:
        raise _VersionRecordedMeanwhile()


@cache
def audit_statement(dialect: str, with_by_points: bool = False) -> TextClause:
    """`audit_user` for `dialect` (`audit_user_with_by_points` for a schedule with `by`
    rules), its days typed as `run` types them (SQLite compares them as ISO text). Built
    once: parsing the statement for its parameters on every audit showed in its time."""
    return audit_statement_named("audit_user_with_by_points" if with_by_points else "audit_user", dialect)


@cache
def audit_statement_named(name: str, dialect: str, *, days: bool = True) -> TextClause:
    """A statement of sql/audit.sql for `dialect`; with `days` (from_day and to_day
    parameters), those typed as `run` types them."""
    found = statement(name, dialect)
    return found.bindparams(bindparam("from_day", type_=Date()), bindparam("to_day", type_=Date())) if days else found


def rules_statement(dialect: str) -> TextClause:
    """`audit_rules`: the versions and rules that `audit_user` rows name by version only."""
    return audit_statement_named("audit_rules", dialect, days=False)


def plain_rows(result: CursorResult) -> list[tuple]:
    """All of `result`'s rows as the driver's own tuples: SQLAlchemy's Row objects cost a
    noticeable share of an audit line to make and unpack."""
    try:
        # DB-API drivers return a list of tuples; their stubs only promise a sequence.
        return cast(list[tuple], result.cursor.fetchall())
    except result.dialect.loaded_dbapi.Error as exc:
        raise translate(exc) from exc
    finally:
        result.close()


class _Rule(NamedTuple):
    """How the lines of one (version, action, by_points) are described and priced."""

    text: str
    effective_from: date | None
    reason: str | None
    # Points per unit of quantity: the rule's value, or what its `by` table gave the event;
    # 0 without a rule.
    unit: int
    # Events with a smaller quantity earn nothing (nor count towards a bucket).
    min_quantity: int
    # Set for a `per` rule: the bucket earns unit points per `per` of counted quantity.
    per: int | None


class _VersionRecordedMeanwhile(Exception):
    """The ledger has a schedule version that the schedule read before the lines lacks."""


# Where `audit_user` rows give how many versions the ledger has.
VERSIONS_COLUMN = 8


class Schedule:
    """A ledger's schedule versions and rules, from `audit_rules` rows."""

    def __init__(self, rows: Iterable[Sequence[Any]]) -> None:
        self.versions: dict[int, tuple[date, str | None]] = {}
        # Per (version, action): (value, per, min_quantity, by_attribute).
        self.rules: dict[tuple[int, str], tuple[int | None, int | None, int | None, str | None]] = {}
        periods: dict[int, PeriodOf] = {}
        self._levels: dict[int, str | None] = {}
        for seq, effective_from, reason, action, value, per, min_quantity, by_attribute, enabled, start_date, levels in rows:
            self.versions[seq] = (as_day(effective_from), reason)
            self._levels[seq] = levels
            periods[seq] = PeriodOf(seq, as_day(effective_from), bool(enabled), as_day(start_date) if start_date is not None else None)
            if action is not None:
                self.rules[(seq, action)] = (value, per, min_quantity, by_attribute)
        # Why an action earns nothing under the scoring periods; None while none closes scoring.
        gate = Gate(periods.values())
        self.gate = gate if gate.windows else None
        self.has_by_rules = any(rule[3] is not None for rule in self.rules.values())
        self.version_count = len(self.versions)
        self._in_force = InForce((effective_from, seq, seq) for seq, (effective_from, _reason) in self.versions.items())
        self._curves: dict[int, LevelCurve | None] = {}
        # What each `by` rule's table gives (version, action) -> attribute value -> points, for
        # pricing corrections; read once, by ledger/corrections_audit.py, when first needed.
        self.by_tables: dict[tuple[int, str], dict[str, int]] | None = None

    def curve_on(self, day: date) -> LevelCurve | None:
        """The level curve of the version in force on `day` (ledger/levels.py `curve_in_force`)."""
        seq = self.version_on(day)
        if seq is None:
            return None
        if seq not in self._curves:
            self._curves[seq] = stored_curve(self._levels[seq])
        return self._curves[seq]

    def version_on(self, day: date) -> int | None:
        """The version in force on `day`; None before the first."""
        return self._in_force.on(day)

    def rule(self, version_seq: int | None, action: str, by_points: int | None) -> _Rule:
        """The rule of `action` in version `version_seq` (None: before the first version);
        `by_points`, what a `by` table gave the event."""
        if version_seq is None:
            return _Rule(NO_SCHEDULE, None, None, 0, 0, None)
        if version_seq not in self.versions:
            # `by` lines name their versions; with the version count matching, only a
            # database whose versions were replaced (restored from a backup, say) gets here.
            raise _VersionRecordedMeanwhile(version_seq)
        effective_from, reason = self.versions[version_seq]
        value, per, min_quantity, by_attribute = self.rules.get((version_seq, action), (None, None, None, None))
        text = (
            NO_RULE
            if value is None
            else describe(action, value, per=per, min_quantity=min_quantity, by_attribute=by_attribute, by_points=by_points)
        )
        unit = (by_points or 0) if by_attribute is not None else (value or 0)
        return _Rule(text, effective_from, reason, unit, min_quantity or 0, per)


def audit_lines(
    rows: Sequence[Sequence[Any]], schedule: Schedule, counted_into: dict[tuple[date, str], int] | None = None
) -> list[AuditLine]:
    """Audit lines from `audit_user` rows (in order, so in day order), priced and described by
    `schedule`; without `by` rules its rows name no versions, and each day's is looked up.

    Priced as `bucket_points` in sql/replay.sql prices for `recalc` (keep them in step): an
    event with a quantity below its rule's min_quantity earns nothing; otherwise quantity *
    value (for a `by` rule, what its table gave the event's attribute; no rule or no version
    yet: 0). A `per` rule's events of one day, which one version prices, become one line at
    the place of the first, earning (counted quantity // per) * value, where only events at
    or above min_quantity count. (Counted quantities are at least min_quantity >= 0, so //
    rounds as SQL's integer division does.) The running total follows the lines. Each `per`
    bucket's counted quantity goes into `counted_into`, if given, by (day, action): what its
    corrections are priced from (ledger/corrections_audit.py)."""
    lines: list[AuditLine] = []
    # Each `per` bucket's line, with its rule's `per` and value.
    buckets: dict[tuple[Any, str], tuple[AuditLine, int, int]] = {}
    counted: dict[tuple[Any, str], int] = {}
    # A few rules and days recur across thousands of rows: describe and parse each once.
    described: dict[tuple[int | None, str, int | None], _Rule] = {}
    versions_by_day = not schedule.has_by_rules
    last_day: Any = None
    gate = schedule.gate
    for occurred_at, day, action, source_key, quantity, attributes, version_seq, by_points, _versions, seq in rows:
        # Once per day, not per row: PostgreSQL gives dates, SQLite ISO text.
        if day != last_day:
            last_day = day
            parsed_day = day if type(day) is date else as_day(day)
            day_version = schedule.version_on(parsed_day) if versions_by_day else None
        if versions_by_day:
            version_seq = day_version
        rule = described.get((version_seq, action, by_points))
        if rule is None:
            rule = described[(version_seq, action, by_points)] = schedule.rule(version_seq, action, by_points)
        # Unpacked once: attribute access on the named tuple, six times a row, cost more.
        text, effective_from, reason, unit, min_quantity, per = rule
        closed = gate.why(parsed_day, seq) if gate is not None else None
        if closed is not None:
            # Earns nothing, and counts towards no bucket: as if below any min_quantity.
            text, min_quantity = f"nothing: {closed} ({text})", MAX_INTEGER + 1
        if per:
            key = (day, action)
            bucket = buckets.get(key)
            if bucket is not None:
                line = bucket[0]
                line.source_keys.append(source_key)
                line.quantity += quantity
                line.events += 1
                if quantity >= min_quantity:
                    counted[key] += quantity
                continue
            counted[key] = quantity if quantity >= min_quantity else 0
            points = 0  # the bucket's, once all its events are in
        else:
            points = unit * quantity if quantity >= min_quantity else 0
        # Positional arguments: cheaper than keywords, which shows at thousands of lines.
        line = AuditLine(
            as_moment(occurred_at),
            parsed_day, action, [source_key], quantity, attributes, effective_from, reason, text, points,
        )  # fmt: skip
        if per:
            buckets[(day, action)] = (line, per, unit)
        lines.append(line)
    for key, (line, per, unit) in buckets.items():
        line.points = (counted[key] // per) * unit
        if counted_into is not None:
            counted_into[(line.day, line.action)] = counted[key]
    total = 0
    for line in lines:
        total += line.points
        line.running_total = total
    return lines
