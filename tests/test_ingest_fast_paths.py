"""The ingest writer's fast paths change speed, never results: the batch hash equals the
reference spelling of every event (ledger/store/canonical.py), and a bulk load that sets the
indexes aside leaves the same indexes, the same idempotency and the same all-or-nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event, select

from ledger import Ledger, Rule
from ledger.errors import InvalidInput
from ledger.rows import ActionRow, CopyLines, LocatedRow
from ledger.store import actions as store_actions
from ledger.store import bulk_indexes
from ledger.store.canonical import action_bytes
from ledger.store.dialects import Dialect, PostgreSQL, dialect_of
from ledger.store.engine import SQLITE_PAGE_SIZE
from ledger.store.journal import GENESIS_HASH, PendingBatch
from ledger.store.tables import actions, batches


def rows(count: int, *, prefix: str = "k", user: int = 1) -> list[LocatedRow]:
    return [
        LocatedRow(
            "test",
            i + 1,
            ActionRow(f"{prefix}{i}", user + i % 7, "likes_received", datetime(2024, 5, 1, 12, i % 60, 0, i), 1 + i % 3, "{}"),
        )
        for i in range(count)
    ]


def recomputed_hashes(book: Ledger) -> list[tuple[str, str]]:
    """(stored, recomputed) hash of every batch, spelling each event with `action_bytes`."""
    pairs = []
    with book.engine.connect() as conn:
        for batch in conn.execute(select(batches).order_by(batches.c.batch_id)):
            pending = PendingBatch(
                batch.ledger, batch.kind, batch.origin, batch.batch_id, batch.first_seq, batch.recorded_at, batch.prev_hash or GENESIS_HASH
            )
            events = conn.execute(select(actions).where(actions.c.batch_id == batch.batch_id).order_by(actions.c.seq))
            for event in events:
                pending.next_seq()
                pending.add_event_bytes(
                    action_bytes(
                        event.seq,
                        event.ledger,
                        event.source_key,
                        event.user_id,
                        event.action,
                        event.occurred_at,
                        event.quantity,
                        event.attributes,
                    )
                )
            pairs.append((batch.hash, pending.final_hash()))
    return pairs


def index_names(book: Ledger) -> set[str]:
    with book.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            query = "SELECT indexname FROM pg_indexes WHERE tablename = 'actions'"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'actions'"
        return set(conn.exec_driver_sql(query).scalars())


def test_fast_and_careful_spellings_hash_the_same(book: Ledger) -> None:
    plain = rows(30)
    # Tabs, backslashes and newlines must be escaped: these chunks take the careful path.
    awkward = [
        LocatedRow("test", 1, ActionRow("tab\there", 2, "likes_received", datetime(2024, 1, 2, 3, 4, 5), 1, '{"a":"x\\\\y"}')),
        LocatedRow("test", 2, ActionRow("new\nline\\", 3, "likes_received", datetime(2024, 1, 2), 2, "{}")),
    ]
    book.ingest_rows(plain)
    book.ingest_rows(awkward)
    hashes = recomputed_hashes(book)
    assert len(hashes) == 2
    assert all(stored == recomputed for stored, recomputed in hashes)
    with book.engine.connect() as conn:
        keys = set(conn.execute(select(actions.c.source_key)).scalars())
    assert {"tab\there", "new\nline\\"} <= keys


def test_bulk_load_rebuilds_the_same_indexes(book: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    before = index_names(book)
    monkeypatch.setattr(bulk_indexes, "BULK_MIN_ROWS", 10)
    first = book.ingest_rows(rows(200))
    assert first.new == 200
    assert index_names(book) == before
    # Idempotency still holds after the rebuild, and a changed payload is still refused.
    assert book.ingest_rows(rows(200)).new == 0
    with pytest.raises(InvalidInput):
        book.ingest_rows(rows(200, user=50))
    assert all(stored == recomputed for stored, recomputed in recomputed_hashes(book))


def test_bulk_load_that_fails_leaves_nothing(book: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    before = index_names(book)
    monkeypatch.setattr(bulk_indexes, "BULK_MIN_ROWS", 10)
    bad = rows(50)
    # A quantity the database refuses fails the batch after the indexes were dropped.
    bad[40] = LocatedRow("test", 41, ActionRow("k40", 1, "likes_received", datetime(2024, 1, 1), 2**70, "{}"))
    with pytest.raises(Exception):  # noqa: B017 - each backend's own overflow error
        book.ingest_rows(bad)
    assert index_names(book) == before
    with book.engine.connect() as conn:
        assert conn.execute(select(actions.c.seq)).first() is None


def test_sqlite_bulk_load_sorts_on_helper_threads_in_a_small_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite rebuilds the indexes with PRAGMA threads set and the large append cache given
    back (large sort runs are slow, ledger/store/bulk_indexes.py), and the connection leaves
    the load with its own settings."""
    book = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    book.init()
    monkeypatch.setattr(bulk_indexes, "BULK_MIN_ROWS", 10)
    with book.engine.connect() as conn:
        own = (conn.exec_driver_sql("PRAGMA threads").scalar_one(), conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
    during_rebuild = []

    def note_settings(conn, cursor, statement, *_rest) -> None:
        if statement.startswith("CREATE") and "INDEX" in statement:
            raw = cursor.connection
            during_rebuild.append((raw.execute("PRAGMA threads").fetchone()[0], raw.execute("PRAGMA cache_size").fetchone()[0]))

    event.listen(book.engine, "before_cursor_execute", note_settings)
    try:
        assert book.ingest_rows(rows(200)).new == 200
    finally:
        event.remove(book.engine, "before_cursor_execute", note_settings)
    assert len(during_rebuild) == len(index_names(book))
    assert set(during_rebuild) == {(bulk_indexes.SQLITE_SORT_THREADS, own[1])}
    with book.engine.connect() as conn:
        assert (conn.exec_driver_sql("PRAGMA threads").scalar_one(), conn.exec_driver_sql("PRAGMA cache_size").scalar_one()) == own
    book.close()


def test_a_new_sqlite_database_takes_larger_pages_and_an_existing_one_keeps_its_own(tmp_path: Path) -> None:
    """New SQLite databases are created with SQLITE_PAGE_SIZE pages (fewer pages to write and
    to read per action); one made before, with SQLite's default 4096, opens unchanged and works."""
    book = Ledger.open(f"sqlite:///{tmp_path / 'new.db'}")
    book.init()
    assert page_size(book) == SQLITE_PAGE_SIZE != 4096
    book.close()

    older = tmp_path / "older.db"
    raw = sqlite3.connect(older)
    raw.execute("PRAGMA page_size=4096")
    raw.execute("PRAGMA journal_mode=WAL")
    raw.close()
    book = Ledger.open(f"sqlite:///{older}")
    book.init()
    book.set_schedule(date(2024, 1, 1), {"likes_received": Rule(value=2)}, retroactive=True)
    batch = rows(50)
    assert book.ingest_rows(batch).new == 50
    assert sum(user.points for user in book.scores()) == 2 * sum(located.row.quantity for located in batch)
    assert page_size(book) == 4096
    assert book.verify().events == 1 + len(batch)  # the schedule version and the actions
    book.close()


def page_size(book: Ledger) -> int:
    with book.engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA page_size").scalar_one()


@pytest.mark.parametrize("bulk", [False, True], ids=["rows checked as written", "key rebuilt after a bulk load"])
def test_a_batch_with_repeated_keys_is_written_again_with_them_collapsed(book: Ledger, monkeypatch: pytest.MonkeyPatch, bulk: bool) -> None:
    """A batch is first written as it is; the unique key refuses the repeat, and the batch is
    written once more with it collapsed. Progress still adds up to the batch, once."""
    if bulk:
        monkeypatch.setattr(bulk_indexes, "BULK_MIN_ROWS", 10)
    batch = rows(120)
    batch.insert(90, LocatedRow("test", 200, batch[3].row))
    reported: list[int] = []
    outcome = book.ingest_rows(batch, progress=reported.append)
    assert (outcome.new, outcome.already_present) == (120, 1)
    assert sum(reported) == len(batch)
    with book.engine.connect() as conn:
        stored = conn.execute(select(actions.c.source_key).order_by(actions.c.seq)).scalars().all()
    assert stored == [located.row.source_key for located in rows(120)]
    assert all(stored == recomputed for stored, recomputed in recomputed_hashes(book))


@pytest.mark.parametrize("bulk", [False, True], ids=["rows checked as written", "key rebuilt after a bulk load"])
def test_a_repeat_with_another_payload_is_refused_at_its_line(book: Ledger, monkeypatch: pytest.MonkeyPatch, bulk: bool) -> None:
    if bulk:
        monkeypatch.setattr(bulk_indexes, "BULK_MIN_ROWS", 10)
    batch = rows(60)
    first = batch[5].row
    batch.append(LocatedRow("test", 61, first._replace(quantity=first.quantity + 1)))
    with pytest.raises(InvalidInput) as caught:
        book.ingest_rows(batch)
    assert [(problem.line, problem.field) for problem in caught.value.problems] == [(61, "quantity")]
    with book.engine.connect() as conn:
        assert conn.execute(select(actions.c.seq)).first() is None


def test_repeats_are_compared_with_each_other_before_the_recorded_rows(book: Ledger) -> None:
    """Against a ledger that holds the key already, a repeat is still compared with its first
    copy: the second copy differs from both and is named, though the first matches what is recorded."""
    book.ingest_rows(rows(10))
    batch = rows(10)
    batch.append(LocatedRow("test", 11, batch[2].row._replace(user_id=99)))
    with pytest.raises(InvalidInput) as caught:
        book.ingest_rows(batch)
    assert [problem.line for problem in caught.value.problems] == [11]


def test_a_batch_adding_a_tenth_of_the_actions_refreshes_their_statistics(book: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """Row by row (not the bulk path, which analyzes anyway), a batch that adds a tenth of the
    table's rows analyzes it, as autovacuum would; a smaller one leaves that to autovacuum."""
    monkeypatch.setattr(bulk_indexes, "ANALYZE_MIN_ROWS", 10)
    analyzed: list[tuple[str, ...]] = []
    for dialect in (Dialect, PostgreSQL):

        def recorded(self: Dialect, conn: Connection, *tables: str, own: Callable[..., None] = dialect.analyze) -> None:
            analyzed.append(tables)
            own(self, conn, *tables)

        monkeypatch.setattr(dialect, "analyze", recorded)
    assert book.ingest_rows(rows(200)).new == 200
    assert analyzed == [("actions",)]
    assert book.ingest_rows(rows(15, prefix="more")).new == 15
    assert analyzed == [("actions",)]
    with book.engine.connect() as conn:
        if dialect_of(conn).is_postgresql:
            # The planner's row count is the one ANALYZE took, after the first batch.
            assert conn.exec_driver_sql("SELECT reltuples FROM pg_class WHERE relname = 'actions'").scalar_one() == 200


def copy_line(row: ActionRow, day: str) -> str:
    """`row` as PostgreSQL's COPY text format spells it (ledger/rows.py COPY_LINE_FIELDS)."""
    escaped = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
    fields = (
        row.source_key,
        str(row.user_id),
        row.action,
        row.occurred_at.isoformat(" ", "microseconds"),
        str(row.quantity),
        row.attributes,
    )
    return "\t".join(field.translate(escaped) for field in fields) + f"\t{day}"


def stored_rows(book: Ledger) -> list[tuple]:
    columns = (actions.c.source_key, actions.c.user_id, actions.c.action, actions.c.occurred_at, actions.c.quantity, actions.c.attributes)
    with book.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(*columns, actions.c.day).order_by(actions.c.seq))]


@pytest.mark.parametrize("bulk", [False, True], ids=["rows checked as written", "key rebuilt after a bulk load"])
def test_lines_spelled_for_a_copy_are_stored_as_their_rows(book: Ledger, monkeypatch: pytest.MonkeyPatch, bulk: bool) -> None:
    """A forum's rows come as COPY text (ledger/rows.py CopyLines): stored as the same rows
    given as ActionRows would be, hashed as `verify` spells them, escapes undone (the chunk
    with an escaped field takes the careful path)."""
    if bulk:
        monkeypatch.setattr(bulk_indexes, "BULK_MIN_ROWS", 10)
    plain = [located.row for located in rows(40)]
    awkward = [
        ActionRow("tab\there", 2, "likes_received", datetime(2024, 1, 2, 3, 4, 5), 1, '{"a":"x\\\\y"}'),
        ActionRow("back\\slash", 3, "likes_received", datetime(2024, 1, 2, 23, 59, 59, 999999), 2, "{}"),
    ]
    chunks = [
        CopyLines("forum", [copy_line(row, row.occurred_at.date().isoformat()) for row in plain]),
        CopyLines("forum", [copy_line(row, row.occurred_at.date().isoformat()) for row in awkward]),
    ]
    assert chunks[0].escapes_nothing and not chunks[1].escapes_nothing
    assert [chunk.quantity() for chunk in chunks] == [sum(row.quantity for row in plain), 3]
    appended_as_lines: list[bool] = []
    original = store_actions.append_lines

    def append_lines(*args: Any) -> bool:
        appended_as_lines.append(original(*args))
        return appended_as_lines[-1]

    monkeypatch.setattr(store_actions, "append_lines", append_lines)
    outcome = book.ingest_rows(ChunkSource(chunks))
    assert outcome.new == 42
    # On PostgreSQL the plain lines went on as they were, the escaped ones as rows.
    assert appended_as_lines == ([True, False] if book.engine.dialect.name == "postgresql" else [])
    expected = [(*row, row.occurred_at.date()) for row in plain + awkward]
    assert stored_rows(book) == expected
    assert all(stored == recomputed for stored, recomputed in recomputed_hashes(book))
    # Given again, every line is found recorded with the same payload.
    assert book.ingest_rows(ChunkSource(chunks)).new == 0


@pytest.mark.parametrize(
    ("name", "zone", "day"),
    [("zoned", "Pacific/Auckland", date(2024, 1, 3)), ("tab\tbed", None, date(2024, 1, 2))],
    ids=["a ledger in another zone", "a ledger whose name needs escaping"],
)
def test_lines_spelled_for_a_copy_take_the_careful_path_where_they_must(
    empty_database_url: str, name: str, zone: str | None, day: date
) -> None:
    """20:00 UTC is the next morning in Auckland: the line's UTC day is not such a ledger's. A
    tab in the ledger's name is escaped in canonical bytes and would split a COPY line."""
    book = Ledger.open(empty_database_url, name)
    try:
        book.init(timezone=zone)
        row = ActionRow("late", 1, "likes_received", datetime(2024, 1, 2, 20, 0), 1, "{}")
        book.ingest_rows(ChunkSource([CopyLines("forum", [copy_line(row, "2024-01-02")])]))
        assert stored_rows(book) == [(*row, day)]
        assert all(stored == recomputed for stored, recomputed in recomputed_hashes(book))
    finally:
        book.close()


class ChunkSource:
    """Chunks given as they are, as a RowSource (ledger/store/actions.py)."""

    def __init__(self, chunks: list[CopyLines]) -> None:
        self._chunks = chunks
        self.problems: list = []

    def chunks(self) -> Iterator[Sequence[LocatedRow]]:
        return iter(self._chunks)

    def estimated_rows(self) -> int:
        return sum(len(chunk) for chunk in self._chunks)
