"""The per-user audit: every line that makes up a user's points, in order.

Each line says when, what (action type, source_key, quantity, attributes), which schedule
version priced it (its effective_from and reason), the rule, the points, and the running
total. A `per` rule prices a (user, day, action) bucket rather than an event, so a bucket
is one line listing its events. Points are priced as `recalc` prices them: per event by
`audit_user` (sql/postgresql/audit.sql and sql/sqlite/audit.sql), per bucket by
`bucket_points` below from the bucket's quantities; so the last running total equals the
user's score.

A heavy user's audit has thousands of lines, so the cost per line is what matters (the
target is 5 ms for a user with a thousand). The actions come from the index
ix_actions_user_history alone, which carries every column shown (migration 0008): in the
table a user's actions lie on as many pages as there are actions. Rows come as the driver's
plain tuples (attribute access on SQLAlchemy rows costs about a microsecond a column), and
each rule is described, and each day parsed, once per audit rather than once per line.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import CursorResult, Date, Engine, TextClause, bindparam

from ledger.pricing import FIRST_DAY, LAST_DAY, as_day
from ledger.sqlfiles import statement
from ledger.standings import check_range
from ledger.store.engine import server_prepared, statement_reads, translate


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

    @property
    def source_key(self) -> str:
        return ", ".join(self.source_keys)


def describe_rule(
    version_seq: int | None, value: int | None, per: int | None, min_quantity: int | None, by_attribute: str | None, by_points: int | None
) -> str:
    """The rule that priced an event, in words, from the version in force (`version_seq`) and
    its rule for the event's action (`value` None: it has none); `by_points` is what a `by`
    table gave the event's attribute, None when nothing matched."""
    if version_seq is None:
        return "no schedule in force"
    if value is None:
        return "no rule for this action"
    minimum = f", min {min_quantity}" if min_quantity else ""
    if per is not None:
        return f"{value} per {per}/day{minimum}"
    if by_attribute is not None:
        return f"by {by_attribute}: {by_points if by_points is not None else 0} each{minimum}"
    return f"{value} each{minimum}"


def audit(engine: Engine, ledger: str, user_id: int, from_day: date | None = None, to_day: date | None = None) -> list[AuditLine]:
    """The lines making up `user_id`'s points from actions on `from_day`..`to_day`."""
    check_range(from_day, to_day)
    params = {"ledger": ledger, "user_id": user_id, "from_day": from_day or FIRST_DAY, "to_day": to_day or LAST_DAY}
    with statement_reads(engine) as conn, server_prepared(conn):
        # Prepared: planning took PostgreSQL 0.5 ms an audit, and this plan is the same for
        # every user (the spans drive the join; each parameter bounds one index range).
        rows = plain_rows(conn.execute(audit_statement(conn.dialect.name), params))
        # Read after the lines, in a snapshot of its own on PostgreSQL: schedule versions are
        # only ever added, so this holds every version the lines name.
        schedule = plain_rows(conn.execute(rules_statement(conn.dialect.name), {"ledger": ledger}))
    with collector_paused():
        return audit_lines(rows, schedule)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, unless something else turned it
    off already. Audit lines form no reference cycles, so it has nothing to find among them;
    left on, it ran every 700 or so new objects (two per line) and walked them again: 0.35 ms
    of the 1.35 ms that building an 800-line audit took. Memory is still freed as usual."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@cache
def audit_statement(dialect: str) -> TextClause:
    """`audit_user` for `dialect`, its days typed as `run` types them (SQLite compares them as
    ISO text). Built once: parsing the statement for its parameters took 0.1 ms an audit."""
    return statement("audit_user", dialect).bindparams(bindparam("from_day", type_=Date()), bindparam("to_day", type_=Date()))


@cache
def rules_statement(dialect: str) -> TextClause:
    """`audit_rules`: the versions and rules that `audit_user` rows name by version only."""
    return statement("audit_rules", dialect)


def plain_rows(result: CursorResult) -> list[tuple]:
    """All of `result`'s rows as the driver's own tuples: SQLAlchemy's Row objects cost about
    half a microsecond a row to make and unpack, a tenth of what a whole audit line may."""
    try:
        return result.cursor.fetchall()
    except result.dialect.loaded_dbapi.Error as exc:
        raise translate(exc) from exc
    finally:
        result.close()


def audit_lines(rows: Sequence[Sequence[Any]], schedule: Iterable[Sequence[Any]]) -> list[AuditLine]:
    """Audit lines from `audit_user` rows (in order), described by `schedule` (the
    `audit_rules` rows): a `per` rule's events of one day become one line, at the place of
    the first and with the bucket's points (`bucket_points`); the running total follows
    the lines."""
    versions, rules = _schedule_lookups(schedule)
    priced_buckets = bucket_points(rows, rules)
    lines: list[AuditLine] = []
    buckets: dict[tuple[Any, str], AuditLine] = {}
    # A few rules and days recur across thousands of rows: describe and parse each once.
    described: dict[tuple[int | None, str, int | None], _Described] = {}
    days: dict[Any, date] = {}
    total = 0
    for occurred_at, day, action, source_key, quantity, attributes, version_seq, by_points, points in rows:
        rule = described.get((version_seq, action, by_points))
        if rule is None:
            rule = described[(version_seq, action, by_points)] = _describe(versions, rules, version_seq, action, by_points)
        if rule.per:
            bucket = buckets.get((day, action))
            if bucket is not None:
                bucket.source_keys.append(source_key)
                bucket.quantity += quantity
                bucket.events += 1
                continue
            points = priced_buckets[(day, action)]
        parsed_day = days.get(day)
        if parsed_day is None:
            parsed_day = days[day] = as_day(day)
        total += points
        # Positional arguments: half the cost of keywords, which shows at thousands of lines.
        line = AuditLine(
            occurred_at if type(occurred_at) is datetime else datetime.fromisoformat(occurred_at),
            parsed_day, action, [source_key], quantity, attributes, rule.effective_from, rule.reason, rule.text, points, total,
        )  # fmt: skip
        if rule.per:
            buckets[(day, action)] = line
        lines.append(line)
    return lines


def bucket_points(rows: Sequence[Sequence[Any]], rules: _Rules) -> dict[tuple[Any, str], int]:
    """The points of each bucket of a `per` rule among `audit_user` rows (those whose points
    are NULL), by (day, action): (counted quantity // per) * value, where an event below the
    rule's min_quantity counts nothing. This is how `bucket_points` in sql/replay.sql prices
    a bucket for `recalc`: keep them in step. A day's events are all in the rows or none
    are, and one version, so one rule, prices them all. (Quantities that count are at least
    min_quantity >= 0, so // rounds as SQL's integer division does.)"""
    counted: dict[tuple[Any, str], int] = {}
    rule_of: dict[tuple[Any, str], tuple[int, int]] = {}
    for _, day, action, _, quantity, _, version_seq, _, points in rows:
        if points is not None:
            continue
        key = (day, action)
        value, per, min_quantity, _ = rules[(version_seq, action)]
        rule_of[key] = (per, value)
        counted[key] = counted.get(key, 0) + (0 if quantity < (min_quantity or 0) else quantity)
    return {key: (quantity // rule_of[key][0]) * rule_of[key][1] for key, quantity in counted.items()}


class _Described(NamedTuple):
    text: str
    effective_from: date | None
    reason: str | None
    per: bool


_Versions = dict[int, tuple[date, str]]
_Rules = dict[tuple[int, str], tuple[int, int | None, int | None, str | None]]


def _schedule_lookups(schedule: Iterable[Sequence[Any]]) -> tuple[_Versions, _Rules]:
    """From `audit_rules` rows: each version's (effective_from, reason), and each version's
    rule for an action as (value, per, min_quantity, by_attribute)."""
    versions: _Versions = {}
    rules: _Rules = {}
    for seq, effective_from, reason, action, value, per, min_quantity, by_attribute in schedule:
        versions[seq] = (as_day(effective_from), reason)
        if action is not None:
            rules[(seq, action)] = (value, per, min_quantity, by_attribute)
    return versions, rules


def _describe(versions: _Versions, rules: _Rules, version_seq: int | None, action: str, by_points: int | None) -> _Described:
    if version_seq is None:
        return _Described(describe_rule(None, None, None, None, None, None), None, None, False)
    effective_from, reason = versions[version_seq]
    value, per, min_quantity, by_attribute = rules.get((version_seq, action), (None, None, None, None))
    text = describe_rule(version_seq, value, per, min_quantity, by_attribute, by_points)
    return _Described(text, effective_from, reason, per is not None)
