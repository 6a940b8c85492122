"""Each measurement: one timed operation through scoreledger's public Python API.

A `Result` carries the measured figure and, where the issue sets one, the target it is held
to. Nothing here asserts: a missed target is reported as missed.
"""

from __future__ import annotations

import csv
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from functools import partial
from pathlib import Path

from sqlalchemy import text

from ledger import Ledger
from ledger.collector import collector_paused
from ledger.rows import ActionRow, LocatedRow
from ledger.standings import Period

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    """One reported figure. `higher_is_better` decides how the ratio to target reads:
    the ratio is always "how many times the target", so >= 1 means met."""

    name: str
    backend: str
    actions: int
    value: float | None
    unit: str
    target: float | None = None
    higher_is_better: bool = False
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or self.target is None or self.value == 0:
            return None
        return self.value / self.target if self.higher_is_better else self.target / self.value

    @property
    def met(self) -> bool | None:
        ratio = self.ratio
        return None if ratio is None else ratio >= 1.0

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio_to_target": self.ratio, "met": self.met}


def timed(operation: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    outcome = operation()
    return time.perf_counter() - started, outcome


def ingest(book: Ledger, rows: list[LocatedRow], origin: str) -> tuple[float, int]:
    """Seconds to record `rows` as one batch, and how many were new."""
    seconds, outcome = timed(lambda: book.ingest_rows(rows, origin=origin))
    return seconds, outcome.new  # type: ignore[attr-defined]


def in_fresh_process(url: str, ledger: str, *operation: str, timeout: float | None = None, code: Path = REPO) -> dict | None:
    """One operation in a child process (see bench/probe.py): its seconds and peak RSS.
    None if it did not finish within `timeout` seconds (the child is stopped). `code`: the
    checkout whose ledger and probe the child runs (another revision's, to compare)."""
    try:
        finished = _python_in(code, "-m", "bench.probe", url, ledger, *operation, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if finished.returncode != 0:
        raise RuntimeError(f"probe {' '.join(operation)} failed: {finished.stderr.strip().splitlines()[-1:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def checkout(revision: str, folder: Path) -> Path:
    """The files of git revision `revision` of this repository in `folder`, importable as they would be installed: the
    installed package maps ledger.sql to this checkout's sql/, so the copy's own is linked
    where its ledger package looks first."""
    archive = subprocess.run(["git", "archive", revision], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    (folder / "ledger" / "sql").symlink_to(folder / "sql", target_is_directory=True)
    return folder


def ingested_with(code: Path, url: str, path: Path) -> None:
    """Ingest the action file `path` into the default ledger at `url` with the checkout in
    `code`, in a child process: a database at that checkout's schema takes its code's writes."""
    script = "import sys; from ledger import Ledger; book = Ledger.open(sys.argv[1]); book.ingest_file(sys.argv[2]); book.close()"
    finished = _python_in(code, "-c", script, url, str(path))
    if finished.returncode != 0:
        raise RuntimeError(f"ingest of {path.name} failed: {finished.stderr.strip().splitlines()[-1:]}")


def write_action_file(path: Path, rows: list[LocatedRow]) -> None:
    """`rows` as a CSV action file, as `scoreledger ingest` reads it."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(ActionRow._fields)
        writer.writerows([*located.row[:3], located.row.occurred_at.isoformat(), *located.row[4:]] for located in rows)


def schema_revision_of(code: Path) -> str:
    """The newest ledger schema revision that the checkout in `code` knows (its code refuses a
    database at any other)."""
    finished = _python_in(code, "-c", "from ledger.store.schema import head_revision; print(head_revision())")
    if finished.returncode != 0:
        raise RuntimeError(f"reading {code}'s schema revision failed: {finished.stderr.strip().splitlines()[-1:]}")
    return finished.stdout.strip()


def _python_in(code: Path, *arguments: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """This interpreter run with `arguments` in a child process that imports the checkout in
    `code` (its ledger, its bench), output captured."""
    environment = {**os.environ, "PYTHONPATH": str(code)}
    return subprocess.run(
        [sys.executable, *arguments], cwd=code, env=environment, capture_output=True, text=True, check=False, timeout=timeout
    )


def audit_latencies(book: Ledger, users: int, samples: int, seed: int, budget_s: float) -> dict[str, float]:
    """Per-user audit over up to `samples` users drawn uniformly (seeded): p50, p99, max in
    ms. Stops drawing once `budget_s` is spent, so a slow audit cannot stall the run; the
    count actually taken is reported. One audit comes first, untimed: the first in a process
    builds its statements and, on PostgreSQL, prepares them on the connection: timed, that one
    audit could set the p99."""
    rng = random.Random(seed)
    merged_away = _merged_away(book)

    def draw() -> int:
        # Uniform over the users that can be audited: one merged into another is refused.
        while (user := rng.randrange(1, users + 1)) in merged_away:
            pass
        return user

    book.audit(draw())
    timings: list[float] = []
    deadline = time.perf_counter() + budget_s
    # As a service auditing many users may choose to (ledger.collector.collector_paused).
    with collector_paused():
        while len(timings) < samples and time.perf_counter() < deadline:
            seconds, _ = timed(partial(book.audit, draw()))
            timings.append(seconds * 1000)
    timings.sort()
    return {
        "samples": len(timings),
        "p50_ms": statistics.median(timings),
        "p99_ms": _percentile(timings, 0.99),
        "max_ms": timings[-1],
    }


def _merged_away(book: Ledger) -> set[int]:
    """The users merged into others (the benchmark's users are integer keys, stored as they are)."""
    with book.engine.connect() as conn:
        return {source for (source,) in conn.execute(text("SELECT source_user FROM merges"))}


def top_user(book: Ledger) -> int | str | None:
    """The user with the most points: the worst case for an audit."""
    top = book.leaderboard(period=Period.all, limit=1)
    return top[0].user_id if top else None


def leaderboard_latencies(book: Ledger, at: date, repeats: int, budget_s: float) -> dict[str, float]:
    """Median ms of a top-100 leaderboard for each period ending around `at`; fewer repeats
    once `budget_s` is spent (always at least one per period)."""
    medians = {}
    deadline = time.perf_counter() + budget_s
    for period in Period:
        timings: list[float] = []
        while not timings or (len(timings) < repeats and time.perf_counter() < deadline):
            seconds, _ = timed(partial(book.leaderboard, period=period, at=at, limit=100))
            timings.append(seconds * 1000)
        medians[period.value] = statistics.median(timings)
    return medians


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    index = max(0, min(len(ordered) - 1, int(round(fraction * len(ordered) + 0.5)) - 1))
    return ordered[index]


def in_turn(codes: dict[str, Path], round_number: int) -> list[tuple[str, Path]]:
    """The codes measured in round `round_number` (from 1), in the order of that round: the
    order is reversed every other round, so that neither code always runs first, on the
    machine as the previous round left it."""
    order = list(codes.items())
    return order if round_number % 2 else order[::-1]


def median_of_rounds(taken: list[float]) -> str:
    """A table cell: the median of the rounds' figures, then each round's."""
    return f"{statistics.median(taken):.2f} ({', '.join(f'{v:.2f}' for v in taken)})"
