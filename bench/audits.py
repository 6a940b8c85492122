"""Per-user audits alone, on PostgreSQL and SQLite, at a size of one's choosing, with the
community's corrections (retractions, amendments, adjustments, merges): the p50, p99 and max
of audits of uniformly drawn users, timed in a child process (bench/probe.py) as the large
run times them (bench/measurements.py `audit_latencies`). Optionally the same on another
checkout's code (`baseline`), alternately, round by round, each code first in every other round, so both sets of figures share the
machine's state.

Each code audits ledgers that it built itself, in a child process on its own code (the
community ingested, its corrections recorded): a baseline may have another schema, which this
checkout's code would refuse, and the other way round.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import psycopg

from bench.databases import postgres_database, sqlite_file
from bench.machine import describe, machine_line
from bench.measurements import REPO, checkout, in_fresh_process, in_turn, median_of_rounds

SEED = 20_260_101
# The benchmark's community has a hundred actions per user.
ACTIONS_PER_USER = 100
# As many users as the large run audits, within the same time limit; the same users in each
# round, so rounds differ by the machine only.
SAMPLES = 1_000
BUDGET_S = 60.0
BUILD_TIMEOUT_S = 1_800.0
BACKENDS = ("postgresql", "sqlite")
MEASURES = ("p50_ms", "p99_ms", "max_ms")

# Run as `python -c` with a checkout's code first on the path: builds one ledger with that
# code's ingest and corrections, both of which every revision with corrections has.
BUILD = """
import sys
from bench.corrections import corrections_of, record
from bench.generator import generate, ledger_rows
from bench.schedule import versions
from ledger import Ledger

url, actions, users, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
community = generate(actions, users, seed)
book = Ledger.open(url)
try:
    book.init()
    book.record_schedule(versions(), retroactive=True)
    book.ingest_rows(ledger_rows(community), origin="bench")
    record(book, corrections_of(community))
finally:
    book.close()
"""


def run(admin_url: str, actions: int, rounds: int, baseline: str | None) -> str:
    """Measure; returns a Markdown report (figures in ms, medians over `rounds`).
    `baseline`: a git revision of this repository measured too."""
    if baseline is None:
        return _run(admin_url, actions, rounds, {"this checkout": REPO})
    with tempfile.TemporaryDirectory(prefix="scoreledger-baseline-") as folder:
        return _run(admin_url, actions, rounds, {"baseline": checkout(baseline, Path(folder)), "this checkout": REPO})


def _run(admin_url: str, actions: int, rounds: int, codes: dict[str, Path]) -> str:
    started = time.perf_counter()

    def tell(message: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f}s] {message}", flush=True)

    machine = describe(admin_url)
    users = max(actions // ACTIONS_PER_USER, 100)
    figures: dict[str, dict[str, dict[str, list[float]]]] = {
        code: {backend: {measure: [] for measure in MEASURES} for backend in BACKENDS} for code in codes
    }
    with ExitStack() as stack:
        urls: dict[str, dict[str, str]] = {}
        for number, (code, folder) in enumerate(codes.items()):
            urls[code] = {
                "postgresql": stack.enter_context(postgres_database(admin_url, f"audits{number}")),
                "sqlite": stack.enter_context(sqlite_file(f"audits{number}")),
            }
            for backend, url in urls[code].items():
                tell(f"{code}: building {actions:,} actions with corrections on {backend}")
                _build(url, folder, actions, users)
            _settle(urls[code]["postgresql"])
        seed = _draw_seed(next(iter(urls.values()))["postgresql"], users)
        tell(f"users drawn with seed {seed}")
        for round_number in range(1, rounds + 1):
            for code, folder in in_turn(codes, round_number):
                for backend, url in urls[code].items():
                    found = in_fresh_process(
                        url, "default", "audits", str(users), str(SAMPLES), str(seed), str(BUDGET_S),
                        timeout=2 * BUDGET_S, code=folder,
                    )  # fmt: skip
                    if found is None:
                        raise RuntimeError(f"audits on {backend} did not finish in {2 * BUDGET_S:.0f} s")
                    for measure in MEASURES:
                        figures[code][backend][measure].append(found[measure])
                    tell(
                        f"round {round_number}, {code}, {backend}: {found['samples']:.0f} audits, "
                        + ", ".join(f"{measure} {found[measure]:.2f}" for measure in MEASURES)
                    )
    return _report(machine, actions, users, figures)


def _build(url: str, folder: Path, actions: int, users: int) -> None:
    command = [sys.executable, "-c", BUILD, url, str(actions), str(users), str(SEED)]
    environment = {**os.environ, "PYTHONPATH": str(folder)}
    finished = subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False)
    if finished.returncode != 0:
        raise RuntimeError(f"building the ledger failed: {finished.stderr.strip().splitlines()[-1:]}")


def _draw_seed(url: str, users: int) -> int:
    """The first seed from SEED whose draws (as bench/measurements.py `audit_latencies` draws:
    one untimed user, then SAMPLES) miss every user merged into another, whose audit is
    refused: a baseline revision's own `audit_latencies` may not skip them, and both codes
    must audit the same users. The community is the same for every code, and so are its merges."""
    with psycopg.connect(url) as conn:
        merged = {source for (source,) in conn.execute("SELECT source_user FROM merges")}
    seed = SEED
    while True:
        rng = random.Random(seed)
        if not merged.intersection(rng.randrange(1, users + 1) for _ in range(SAMPLES + 1)):
            return seed
        seed += 1


def _settle(url: str) -> None:
    """VACUUM (ANALYZE) the whole database, as autovacuum would in time: corrections recorded
    after the bulk load leave tables without fresh statistics or a visibility map, and an
    autovacuum landing in the middle of one code's audits would slow them alone."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


def _report(machine: dict, actions: int, users: int, figures: dict[str, dict[str, dict[str, list[float]]]]) -> str:
    codes = list(figures)
    lines = [
        f"Per-user audits, {actions:,} actions and {users:,} users with the community's corrections; "
        f"{SAMPLES:,} users drawn uniformly per round, in a process of their own.",
        machine_line(machine),
        "",
        "| backend | measurement | " + " | ".join(f"{code} (ms, median; rounds)" for code in codes) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in codes) + " |",
    ]
    for backend in BACKENDS:
        for measure in MEASURES:
            cells = [median_of_rounds(figures[code][backend][measure]) for code in codes]
            lines.append(f"| {backend} | {measure.removesuffix('_ms')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
