"""Each measurement: one timed operation through scoreledger's public Python API.

A `Result` carries the measured figure and, where the issue sets one, the target it is held
to. Nothing here asserts: a missed target is reported as missed.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from ledger import Ledger
from ledger.standings import Period
from ledger.store.actions import LocatedRow

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


def recalc_in_fresh_process(url: str, ledger: str, *, full: bool) -> dict:
    """One recalculation in a child process (see bench/probe.py): seconds and peak RSS."""
    command = [sys.executable, "-m", "bench.probe", url, ledger] + (["--full"] if full else [])
    finished = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise RuntimeError(f"recalc probe failed: {finished.stderr.strip().splitlines()[-1:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def recalc_here(book: Ledger, *, full: bool) -> float:
    seconds, _ = timed(lambda: book.recalc(full=full))
    return seconds


def audit_latencies(book: Ledger, users: int, samples: int, seed: int) -> dict[str, float]:
    """Per-user audit over `samples` users drawn uniformly (seeded): p50, p99, max in ms."""
    rng = random.Random(seed)
    timings = []
    for _ in range(samples):
        user = rng.randrange(1, users + 1)
        seconds, _ = timed(lambda user=user: book.audit(user))
        timings.append(seconds * 1000)
    timings.sort()
    return {
        "samples": samples,
        "p50_ms": statistics.median(timings),
        "p99_ms": _percentile(timings, 0.99),
        "max_ms": timings[-1],
    }


def heaviest_user_audit_ms(book: Ledger) -> tuple[int, int, float]:
    """(user, audit lines, ms) for the user with the most points: the worst case for audit."""
    top = book.leaderboard(period=Period.all, limit=1)
    if not top:
        return 0, 0, 0.0
    user = top[0].user_id
    seconds, lines = timed(lambda: book.audit(user))
    return user, len(lines), seconds * 1000  # type: ignore[arg-type]


def leaderboard_latencies(book: Ledger, at: date, repeats: int = 5) -> dict[str, float]:
    """Median ms of a top-100 leaderboard for each period ending around `at`."""
    medians = {}
    for period in Period:
        timings = []
        for _ in range(repeats):
            seconds, _ = timed(lambda period=period: book.leaderboard(period=period, at=at, limit=100))
            timings.append(seconds * 1000)
        medians[period.value] = statistics.median(timings)
    return medians


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    index = max(0, min(len(ordered) - 1, int(round(fraction * len(ordered) + 0.5)) - 1))
    return ordered[index]
