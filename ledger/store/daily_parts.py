"""PostgreSQL: daily_scores held in parts, each one ledger's rows over one range of days
(migration 0022), so that a full rebuild swaps a ledger's parts in whole.

A full rebuild (ledger/rebuild.py) prices each range of a ledger's days in a session of its
own. Every session writes its rows into its own table, `replay_rebuilt_<part>`, a partition
of the scratch table replay_rebuilt (partitioned as daily_scores is, so that the named
statements write to one table name), and builds that table's key there. The rebuilding
transaction then drops the ledger's old parts of daily_scores and attaches the new tables in
their place: a change to the catalog, where copying the other sessions' rows into one table
and building its key again took the longest serial steps of the rebuild.

The parts of ledger L are named daily_scores_<L>_<part>; together they cover every day, so
an incremental recalculation's rows always find theirs. Names and bounds are spliced into
DDL from integers and dates only (DDL takes no bind parameters).
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import Connection

DayRange = tuple[date, date]

PARENT = "daily_scores"
SCRATCH = "replay_rebuilt"


def part_name(ledger_id: int, part: int) -> str:
    """The name of ledger `ledger_id`'s part `part` of daily_scores."""
    return f"daily_scores_{int(ledger_id)}_{int(part)}"


def scratch_name(part: int) -> str:
    """The table a rebuild prices part `part` into."""
    return f"replay_rebuilt_{int(part)}"


def create_parent(conn: Connection, table: str) -> None:
    """Create daily_scores (or its scratch twin, `table` = replay_rebuilt), partitioned by
    (ledger, day). Only daily_scores carries the key: every part brings its own, built once
    from all its rows, and attaching it makes it part of the parent's."""
    if table == PARENT:
        conn.exec_driver_sql(
            "CREATE TABLE daily_scores (ledger_id INTEGER NOT NULL, day DATE NOT NULL, user_id BIGINT NOT NULL, "
            "points BIGINT NOT NULL, CONSTRAINT pk_daily_scores PRIMARY KEY (ledger_id, day, user_id) INCLUDE (points)) "
            "PARTITION BY RANGE (ledger_id, day)"
        )
    elif table == SCRATCH:
        conn.exec_driver_sql(
            "CREATE TABLE replay_rebuilt (ledger_id INTEGER NOT NULL, day DATE NOT NULL, user_id BIGINT NOT NULL, "
            "points BIGINT NOT NULL) PARTITION BY RANGE (ledger_id, day)"
        )
    else:
        raise ValueError(f"not a table partitioned by (ledger, day): {table!r}")


def create_whole_part(conn: Connection, ledger_id: int) -> None:
    """Ledger `ledger_id`'s one part of daily_scores over every day, empty, with its key
    (for a ledger's projections before its first rebuild, and for migrations)."""
    name = part_name(ledger_id, 1)
    conn.exec_driver_sql(f"CREATE UNLOGGED TABLE {name} PARTITION OF daily_scores {_bounds(ledger_id, [(date.min, date.max)], 1)}")


def parts_of(conn: Connection, ledger_id: int) -> list[str]:
    """The names of ledger `ledger_id`'s parts of daily_scores."""
    mine = re.compile(rf"^daily_scores_{int(ledger_id)}_[0-9]+$")
    children = conn.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = CAST('daily_scores' AS regclass) ORDER BY c.relname"
    ).scalars()
    return [name for name in children if mine.match(name)]


def drop_parts(conn: Connection, ledger_id: int) -> None:
    """Drop ledger `ledger_id`'s parts of daily_scores (readers of daily_scores wait for the
    transaction, as they would for a TRUNCATE)."""
    for name in parts_of(conn, ledger_id):
        conn.exec_driver_sql(f'DROP TABLE "{name}"')


def create_scratch_parts(conn: Connection, ledger_id: int, ranges: list[DayRange]) -> None:
    """replay_rebuilt's partition for each of `ranges`, empty and without a key."""
    for part in range(1, len(ranges) + 1):
        conn.exec_driver_sql(f"CREATE UNLOGGED TABLE {scratch_name(part)} PARTITION OF replay_rebuilt {_bounds(ledger_id, ranges, part)}")


def key_scratch_part(conn: Connection, ledger_id: int, ranges: list[DayRange], part: int) -> None:
    """Build part `part`'s key in its scratch table, and the check that its rows lie within
    its bounds, which lets attaching it to daily_scores skip reading them again."""
    name = scratch_name(part)
    conn.exec_driver_sql(f"ALTER TABLE {name} ADD CONSTRAINT {name}_pkey PRIMARY KEY (ledger_id, day, user_id) INCLUDE (points)")
    within = [f"ledger_id = {int(ledger_id)}"]
    first, last = ranges[part - 1]
    if part > 1:
        within.append(f"day >= {_date(first)}")
    if part < len(ranges):
        within.append(f"day <= {_date(last)}")
    conn.exec_driver_sql(f"ALTER TABLE {name} ADD CONSTRAINT {name}_within CHECK ({' AND '.join(within)})")


def adopt_scratch_parts(conn: Connection, ledger_id: int, ranges: list[DayRange]) -> None:
    """Make each keyed scratch table a part of daily_scores under its own name: detached from
    replay_rebuilt, renamed, attached (its key joins daily_scores' own), its check dropped."""
    for part in range(1, len(ranges) + 1):
        scratch, name = scratch_name(part), part_name(ledger_id, part)
        conn.exec_driver_sql(f"ALTER TABLE replay_rebuilt DETACH PARTITION {scratch}")
        conn.exec_driver_sql(f"ALTER TABLE {scratch} RENAME TO {name}")
        conn.exec_driver_sql(f"ALTER INDEX {scratch}_pkey RENAME TO {name}_pkey")
        conn.exec_driver_sql(f"ALTER TABLE daily_scores ATTACH PARTITION {name} {_bounds(ledger_id, ranges, part)}")
        conn.exec_driver_sql(f"ALTER TABLE {name} DROP CONSTRAINT {scratch}_within")


def _bounds(ledger_id: int, ranges: list[DayRange], part: int) -> str:
    """The partition bounds of part `part` of `ranges`: the first from the earliest day, the
    last to the latest, so that the parts cover every day."""
    low = "MINVALUE" if part == 1 else _date(ranges[part - 1][0])
    high = "MAXVALUE" if part == len(ranges) else _date(ranges[part][0])
    return f"FOR VALUES FROM ({int(ledger_id)}, {low}) TO ({int(ledger_id)}, {high})"


def _date(day: date) -> str:
    return f"make_date({int(day.year)}, {int(day.month)}, {int(day.day)})"
