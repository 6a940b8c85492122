"""The Discourse import's speed: a full `discourse import` from the benchmark's forum
database into a ledger, in scoring rows read per second."""

from __future__ import annotations

from bench import scales
from bench.measurements import Result, timed
from ledger import Ledger
from ledger.discourse.forum import PostgresForum
from ledger.discourse.importer import import_forum

LEDGER = "discourse-import"


def measure_import(forum_url: str, ledger_url: str) -> Result:
    """Import every scoring row of the forum at `forum_url` into a ledger of its own in the
    database at `ledger_url` (a namespace the other measurements do not read)."""
    book = Ledger.open(ledger_url, LEDGER)
    try:
        with PostgresForum(forum_url) as forum:
            seconds, report = timed(lambda: import_forum(book, forum))
    finally:
        book.close()
    rows = sum(report.found.values())
    skipped = ", ".join(sorted(report.skipped)) or "none"
    return Result(
        "discourse import from the forum database (full)", "postgresql", rows, rows / seconds if seconds else None, "rows/s",
        scales.DISCOURSE_IMPORT_PER_S, higher_is_better=True,
        note=f"{rows:,} scoring rows in {seconds:.1f} s, {sum(report.added.values()):,} actions added; scorables without tables here: {skipped}",
    )
