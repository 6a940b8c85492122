"""PostgreSQL: daily_scores and period_totals held in parts, each one ledger's rows over one
range of days (migration 0022), so that a full rebuild swaps a ledger's parts in whole.

A full rebuild (ledger/rebuild.py) prices each range of a ledger's days in a session of its
own. Every session writes its daily rows, months and quarters into tables of its own,
partitions of the scratch tables replay_rebuilt and replay_rebuilt_periods (partitioned as
daily_scores and period_totals are, so that the named statements write to one table name),
and builds those tables' keys there. The rebuilding transaction sums the years into a table
of their own, then drops the ledger's old parts and attaches the new tables in their place:
a change to the catalog, where copying the other sessions' rows into one table and building
its key again took the longest serial steps of the rebuild.

A ledger's parts of a table are named <table>_<ledger>_<part>; together they cover every
day, so an incremental recalculation's rows always find theirs. Names and bounds are spliced
into DDL from integers, dates and the literals below only (DDL takes no bind parameters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection

from ledger.time_bounds import DayRange


@dataclass(frozen=True)
class PartedTable:
    """A projection held in parts, and its scratch twin for a rebuild."""

    name: str
    scratch: str
    columns: str
    key_name: str
    key: str
    # The partition key: the leading `fixed` columns, then a date column.
    fixed: tuple[str, ...]
    dated: str
    # Storage parameters of each part.
    storage: str = ""

    @property
    def partition_by(self) -> str:
        return f"RANGE ({', '.join((*self.fixed, self.dated))})"


DAILY = PartedTable(
    name="daily_scores",
    scratch="replay_rebuilt",
    columns="ledger_id INTEGER NOT NULL, day DATE NOT NULL, user_id BIGINT NOT NULL, points BIGINT NOT NULL",
    key_name="pk_daily_scores",
    key="(ledger_id, day, user_id) INCLUDE (points)",
    fixed=("ledger_id",),
    dated="day",
)
# Pages keep a tenth free, so that an incremental recalc's updates stay in place (0020).
PERIODS = PartedTable(
    name="period_totals",
    scratch="replay_rebuilt_periods",
    columns="ledger_id INTEGER NOT NULL, period_months SMALLINT NOT NULL, period_start DATE NOT NULL, "
    "user_id BIGINT NOT NULL, points BIGINT NOT NULL, CONSTRAINT ck_period_totals_period_months CHECK (period_months IN (1, 3, 12))",
    key_name="pk_period_totals",
    key="(ledger_id, period_months, period_start, user_id)",
    fixed=("ledger_id", "period_months"),
    dated="period_start",
    storage=" WITH (fillfactor = 90)",
)
# Period lengths in months, as period_totals.period_months names them.
MONTHS, QUARTERS, YEARS = 1, 3, 12


@dataclass(frozen=True)
class Part:
    """One part of a parted table: rows whose fixed columns are `fixed` and whose date lies
    from `low` (None: the earliest) up to, not including, `high` (None: beyond the latest)."""

    table: PartedTable
    suffix: str
    fixed: tuple[int, ...]
    low: date | None
    high: date | None

    @property
    def name(self) -> str:
        """<table>_<ledger>_<suffix>; the ledger is the first fixed column's value."""
        return f"{self.table.name}_{int(self.fixed[0])}_{_checked_suffix(self.suffix)}"

    @property
    def scratch_name(self) -> str:
        return f"{self.table.scratch}_{_checked_suffix(self.suffix)}"

    @property
    def bounds(self) -> str:
        """Partition bounds; a part fixing fewer columns than the table's partition key spans
        every value of the others."""
        fixed = [str(int(value)) for value in self.fixed]
        free = len(self.table.fixed) - len(self.fixed)
        low = ["MINVALUE"] * free + ["MINVALUE" if self.low is None else _date(self.low)]
        high = ["MAXVALUE"] * free + ["MAXVALUE" if self.high is None else _date(self.high)]
        return f"FOR VALUES FROM ({', '.join(fixed + low)}) TO ({', '.join(fixed + high)})"

    @property
    def within(self) -> str:
        """A check equivalent to the bounds, which lets attaching skip reading the rows."""
        # A part may fix fewer columns than the partition key has: those it fixes.
        conditions = [f"{column} = {int(value)}" for column, value in zip(self.table.fixed, self.fixed, strict=False)]
        if self.low is not None:
            conditions.append(f"{self.table.dated} >= {_date(self.low)}")
        if self.high is not None:
            conditions.append(f"{self.table.dated} < {_date(self.high)}")
        return " AND ".join(conditions)


def rebuilt_parts(ledger_id: int, ranges: list[DayRange], number: int) -> list[Part]:
    """The tables the session pricing range `number` (from 1) of `ranges` fills: its daily
    rows, months and quarters."""
    low = None if number == 1 else ranges[number - 1][0]
    high = None if number == len(ranges) else ranges[number][0]
    return [
        Part(DAILY, str(number), (ledger_id,), low, high),
        Part(PERIODS, f"months_{number}", (ledger_id, MONTHS), low, high),
        Part(PERIODS, f"quarters_{number}", (ledger_id, QUARTERS), low, high),
    ]


def years_part(ledger_id: int) -> Part:
    """The table of a rebuild's years, which the rebuilding transaction sums once every
    range's pieces of them are in."""
    return Part(PERIODS, "years", (ledger_id, YEARS), None, None)


def create_parent(conn: Connection, table: PartedTable, *, scratch: bool = False) -> None:
    """Create `table` (or its scratch twin), partitioned. Only the table itself carries the
    key: every part brings its own, built once from all its rows, and attaching it makes it
    part of the table's."""
    name = table.scratch if scratch else table.name
    key = "" if scratch else f", CONSTRAINT {table.key_name} PRIMARY KEY {table.key}"
    conn.exec_driver_sql(f"CREATE TABLE {name} ({table.columns}{key}) PARTITION BY {table.partition_by}")


def create_whole_part(conn: Connection, table: PartedTable, ledger_id: int) -> None:
    """Ledger `ledger_id`'s one part of `table` over every row, empty, with its key (for
    migrations: the ledger's next full rebuild splits it)."""
    part = Part(table, "all", (ledger_id,), None, None)
    conn.exec_driver_sql(f"CREATE UNLOGGED TABLE {part.name} PARTITION OF {table.name} {part.bounds}{table.storage}")


def parts_of(conn: Connection, table: PartedTable, ledger_id: int) -> list[str]:
    """The names of ledger `ledger_id`'s parts of `table`."""
    mine = re.compile(rf"^{table.name}_{int(ledger_id)}_[a-z0-9_]+$")
    children = conn.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = CAST(%s AS regclass) ORDER BY c.relname",
        (table.name,),
    ).scalars()
    return [name for name in children if mine.match(name)]


def drop_parts(conn: Connection, table: PartedTable, ledger_id: int) -> None:
    """Drop ledger `ledger_id`'s parts of `table` (its readers wait for the transaction, as
    they would for a TRUNCATE)."""
    for name in parts_of(conn, table, ledger_id):
        conn.exec_driver_sql(f'DROP TABLE "{name}"')


def create_scratch_parts(conn: Connection, parts: list[Part]) -> None:
    """Each of `parts` as a partition of its table's scratch twin, empty and without a key."""
    for part in parts:
        conn.exec_driver_sql(
            f"CREATE UNLOGGED TABLE {part.scratch_name} PARTITION OF {part.table.scratch} {part.bounds}{part.table.storage}"
        )


def key_scratch_parts(conn: Connection, parts: list[Part]) -> None:
    """Build each scratch part's key, and the check that its rows lie within its bounds."""
    for part in parts:
        name = part.scratch_name
        conn.exec_driver_sql(f"ALTER TABLE {name} ADD CONSTRAINT {name}_pkey PRIMARY KEY {part.table.key}")
        conn.exec_driver_sql(f"ALTER TABLE {name} ADD CONSTRAINT {name}_within CHECK ({part.within})")


def adopt_scratch_parts(conn: Connection, parts: list[Part]) -> None:
    """Make each keyed scratch part a part of its table under its own name: detached from
    the scratch twin, renamed, attached (its key joins the table's own), its check dropped."""
    for part in parts:
        scratch, name, table = part.scratch_name, part.name, part.table
        conn.exec_driver_sql(f"ALTER TABLE {table.scratch} DETACH PARTITION {scratch}")
        conn.exec_driver_sql(f"ALTER TABLE {scratch} RENAME TO {name}")
        conn.exec_driver_sql(f"ALTER INDEX {scratch}_pkey RENAME TO {name}_pkey")
        conn.exec_driver_sql(f"ALTER TABLE {table.name} ATTACH PARTITION {name} {part.bounds}")
        conn.exec_driver_sql(f"ALTER TABLE {name} DROP CONSTRAINT {scratch}_within")


def _checked_suffix(suffix: str) -> str:
    if not re.fullmatch(r"[a-z0-9_]+", suffix):
        raise ValueError(f"not a part's name: {suffix!r}")
    return suffix


def _date(day: date) -> str:
    return f"make_date({int(day.year)}, {int(day.month)}, {int(day.day)})"
