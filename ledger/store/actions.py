"""Writing and reading action events.

`write_actions` is the one way actions enter the ledger. It is idempotent per
(ledger, source_key): the same key with the same payload again adds nothing, the same key with
a different payload is refused naming the fields that differ, and a batch is all-or-nothing.
On PostgreSQL rows travel by COPY; on SQLite by executemany.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, column, exists, select, table

from ledger.errors import InputProblem, InvalidInput
from ledger.store.canonical import action_bytes
from ledger.store.engine import write_transaction
from ledger.store.journal import begin_batch, commit_batch
from ledger.store.tables import actions


@dataclass(frozen=True)
class ActionRow:
    """One action as it will be stored; `attributes` is canonical JSON text."""

    source_key: str
    user_id: int
    action: str
    occurred_at: datetime
    quantity: int
    attributes: str

    PAYLOAD_FIELDS = ("user_id", "action", "occurred_at", "quantity", "attributes")

    def differing_fields(self, other: ActionRow) -> list[str]:
        return [name for name in self.PAYLOAD_FIELDS if getattr(self, name) != getattr(other, name)]


@dataclass(frozen=True)
class LocatedRow:
    """A row and where it came from, for error messages."""

    source: str
    line: int | None
    row: ActionRow


@dataclass(frozen=True)
class WriteResult:
    new: int
    already_present: int
    batch_id: int | None


Progress = Callable[[int], None]
# Rows per COPY/executemany chunk: big enough to amortise round trips, small enough to
# report progress smoothly.
CHUNK = 50_000


def write_actions(
    engine: Engine,
    ledger: str,
    rows: Sequence[LocatedRow],
    *,
    origin: str | None = None,
    progress: Progress | None = None,
) -> WriteResult:
    """Record `rows` in `ledger` as one all-or-nothing batch."""
    unique, duplicates, problems = _dedupe_input(rows)
    if problems:
        raise InvalidInput(problems, what="ingest")
    with write_transaction(engine) as conn:
        present, conflicts = _compare_with_recorded(conn, ledger, unique)
        if conflicts:
            raise InvalidInput(conflicts, what="ingest")
        new_rows = [located.row for located in unique if located.row.source_key not in present]
        if progress:
            progress(len(rows) - len(new_rows))
        if not new_rows:
            return WriteResult(0, len(rows), None)
        batch = begin_batch(conn, ledger, "actions", origin)
        _insert(conn, batch, ledger, new_rows, progress)
        commit_batch(conn, batch)
        return WriteResult(len(new_rows), len(rows) - len(new_rows), batch.batch_id)


def _dedupe_input(rows: Sequence[LocatedRow]) -> tuple[list[LocatedRow], int, list[InputProblem]]:
    """Collapse repeats of a key within the input; a key repeated with another payload is an error."""
    first_seen: dict[str, LocatedRow] = {}
    unique: list[LocatedRow] = []
    problems: list[InputProblem] = []
    duplicates = 0
    for located in rows:
        earlier = first_seen.get(located.row.source_key)
        if earlier is None:
            first_seen[located.row.source_key] = located
            unique.append(located)
            continue
        duplicates += 1
        differing = located.row.differing_fields(earlier.row)
        if differing:
            problems.append(
                InputProblem(
                    located.source,
                    located.line,
                    ", ".join(differing),
                    f"source_key {located.row.source_key!r} appears again (first at line "
                    f"{earlier.line}) with a different {', '.join(differing)}",
                )
            )
    return unique, duplicates, problems


def _compare_with_recorded(
    conn: Connection, ledger: str, rows: list[LocatedRow]
) -> tuple[set[str], list[InputProblem]]:
    """Which keys the ledger already holds, and the problems where the payload differs."""
    if not rows or not _ledger_has_actions(conn, ledger):
        return set(), []
    by_key = {located.row.source_key: located for located in rows}
    present: set[str] = set()
    problems: list[InputProblem] = []
    for recorded in _recorded_with_keys(conn, ledger, list(by_key)):
        present.add(recorded.source_key)
        given = by_key[recorded.source_key]
        differing = given.row.differing_fields(recorded)
        if differing:
            shown = "; ".join(
                f"{name}: recorded {getattr(recorded, name)!s}, given {getattr(given.row, name)!s}"
                for name in differing
            )
            problems.append(
                InputProblem(
                    given.source,
                    given.line,
                    ", ".join(differing),
                    f"source_key {recorded.source_key!r} is already recorded with a different "
                    f"payload ({shown})",
                )
            )
    return present, problems


def _ledger_has_actions(conn: Connection, ledger: str) -> bool:
    return conn.execute(select(exists().where(actions.c.ledger == ledger))).scalar_one()


def _recorded_with_keys(conn: Connection, ledger: str, keys: list[str]) -> Iterable[ActionRow]:
    """Recorded actions whose source_key is among `keys`, found through a temporary table."""
    staged = table("staged_keys", column("source_key"))
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("CREATE TEMP TABLE staged_keys (source_key text) ON COMMIT DROP")
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy("COPY staged_keys (source_key) FROM STDIN") as copy:
            for key in keys:
                copy.write_row((key,))
    else:
        conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS staged_keys (source_key text)")
        conn.exec_driver_sql("DELETE FROM staged_keys")
        conn.exec_driver_sql(
            "INSERT INTO staged_keys (source_key) VALUES (?)", [(key,) for key in keys]
        )
    query = select(
        actions.c.source_key,
        actions.c.user_id,
        actions.c.action,
        actions.c.occurred_at,
        actions.c.quantity,
        actions.c.attributes,
    ).join(staged, staged.c.source_key == actions.c.source_key).where(actions.c.ledger == ledger)
    found = [ActionRow(*row) for row in conn.execute(query)]
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DELETE FROM staged_keys")
    return found


_COLUMNS = (
    "seq, batch_id, ledger, source_key, user_id, action, occurred_at, day, quantity, "
    "attributes, recorded_at"
)


def _insert(conn, batch, ledger: str, rows: list[ActionRow], progress: Progress | None) -> None:  # type: ignore[no-untyped-def]
    if conn.dialect.name == "postgresql":
        _insert_by_copy(conn, batch, ledger, rows, progress)
    else:
        _insert_sqlite(conn, batch, ledger, rows, progress)


def _stored_values(batch, ledger: str, row: ActionRow) -> tuple:  # type: ignore[no-untyped-def]
    seq = batch.next_seq()
    batch.add_event_bytes(
        action_bytes(
            seq, ledger, row.source_key, row.user_id, row.action, row.occurred_at, row.quantity, row.attributes
        )
    )
    return (
        seq,
        batch.batch_id,
        ledger,
        row.source_key,
        row.user_id,
        row.action,
        row.occurred_at,
        row.occurred_at.date(),
        row.quantity,
        row.attributes,
        batch.recorded_at,
    )


def _insert_by_copy(conn, batch, ledger, rows, progress) -> None:  # type: ignore[no-untyped-def]
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY actions ({_COLUMNS}) FROM STDIN") as copy:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            for row in chunk:
                copy.write_row(_stored_values(batch, ledger, row))
            if progress:
                progress(len(chunk))


def _sqlite_time(moment: datetime) -> str:
    # SQLAlchemy's own SQLite DATETIME spelling, so Core reads these back as datetimes and
    # text comparisons in sql/ order correctly.
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _insert_sqlite(conn, batch, ledger, rows, progress) -> None:  # type: ignore[no-untyped-def]
    statement = f"INSERT INTO actions ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        values = []
        for row in chunk:
            stored = _stored_values(batch, ledger, row)
            values.append(
                stored[:6] + (_sqlite_time(stored[6]), stored[7].isoformat()) + stored[8:10] + (_sqlite_time(stored[10]),)
            )
        conn.exec_driver_sql(statement, values)
        if progress:
            progress(len(chunk))
