"""How much the hash chain costs bulk ingest: 200k actions written with and without hashing,
side by side, on each backend. Prints ratios; asserts nothing (tests never time).

    python -m tests.measure_hash_overhead [--rows 200000] [--repeat 3] [--postgres URL]

"Without hashing" swaps the batch's running SHA-256 for a no-op, so the difference is what
hashing costs: building each event's canonical bytes where the writer does that only for
the hash, and SHA-256 over them. Parsing the file is timed separately and added for the
end-to-end figure, because that is what a user waits for.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from unittest import mock

from sqlalchemy import Engine, create_engine, text

from ledger import Ledger
from ledger.store.engine import normalize_url
from ledger.store.journal import PendingBatch
from tests.factories import csv_text, many_rows


def _fresh(kind: str, folder: Path, postgres: str | None) -> tuple[str, tuple[Engine, str] | None]:
    if kind == "sqlite":
        return f"sqlite:///{folder / (uuid.uuid4().hex + '.db')}", None
    assert postgres
    admin = create_engine(normalize_url(postgres), isolation_level="AUTOCOMMIT")
    name = f"sl_hash_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = str(admin.url.set(database=name).render_as_string(hide_password=False))
    return url, (admin, name)


def _drop(handle: tuple[Engine, str] | None) -> None:
    if handle is None:
        return
    admin, name = handle
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _write_once(kind: str, path: str, folder: Path, postgres: str | None, hashing: bool) -> tuple[float, float]:
    url, handle = _fresh(kind, folder, postgres)
    book = Ledger.open(url)
    try:
        book.init()
        began = time.perf_counter()
        rows = book.read_action_file(path)
        parsed = time.perf_counter()
        if hashing:
            book.ingest_rows(rows)
        else:
            with contextlib.ExitStack() as patches:
                patches.enter_context(mock.patch.object(PendingBatch, "add_event_bytes", lambda self, data: None))
                if kind == "sqlite":
                    # On SQLite the canonical lines serve only the hash (on PostgreSQL they are
                    # also the COPY text, so they stay: that side's figure leaves out one join
                    # and encode per chunk, measured by `join_cost`).
                    patches.enter_context(mock.patch("ledger.store.actions._canonical_lines", lambda *args: []))
                book.ingest_rows(rows)
        written = time.perf_counter()
        return parsed - began, written - parsed
    finally:
        book.close()
        _drop(handle)


def measure(kind: str, rows: int, repeat: int, postgres: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "actions.csv"
        path.write_text(csv_text(many_rows(rows)))
        runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for _ in range(repeat):
            for hashing in (False, True):  # alternate, so drift on a busy machine hits both
                runs[hashing].append(_write_once(kind, str(path), folder, postgres, hashing))
    parse = statistics.median(p for p, _ in runs[True] + runs[False])
    plain = statistics.median(w for _, w in runs[False])
    hashed = statistics.median(w for _, w in runs[True])
    print(
        f"{kind:10} {rows} rows: write {plain:.2f}s without hashing, {hashed:.2f}s with "
        f"(x{hashed / plain:.3f}); with parsing {parse + plain:.2f}s vs {parse + hashed:.2f}s "
        f"(x{(parse + hashed) / (parse + plain):.3f})"
    )


def join_cost(rows: int) -> float:
    """Seconds to join and encode `rows` canonical lines: the hash's own share of the
    PostgreSQL fast path that the no-hash run above still pays."""
    lines = [f"{seq}\tdefault\tk{seq}\t{seq % 500}\tlikes_received\t2024-01-01 00:00:00.000000\t1\t{{}}" for seq in range(rows)]
    began = time.perf_counter()
    ("action\t" + "\naction\t".join(lines) + "\n").encode()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to measure too")
    args = parser.parse_args()
    measure("sqlite", args.rows, args.repeat, None)
    if args.postgres:
        measure("postgresql", args.rows, args.repeat, args.postgres)
        print(f"postgresql: the no-hash run still joins and encodes the lines, {join_cost(args.rows):.3f}s")


if __name__ == "__main__":
    main()
