"""The recalculations alone, on PostgreSQL, at a size of one's choosing: full recalc with the
community's corrections, incremental recalc after new actions, retraction of keys and merge of
a user each with the recalc after it. Optionally the same on another checkout's code
(`baseline`), alternately (each code first in every other round), on copies of the same
database, so both sets of figures share the machine's state.

The community is ingested and its corrections recorded once into a template database; each
round and each code gets a copy of it (CREATE DATABASE ... TEMPLATE), brought up to date by
a full recalc first (timed), then the new actions ingested by that code and the incremental,
retraction and merge measurements. The template is at this checkout's schema revision; a
baseline whose code knows an older one measures copies taken back to it by this checkout's
migrations (bench/databases.py `schema_taken_back`).
"""

from __future__ import annotations

import gc
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import psycopg
from psycopg import sql

from bench.corrections import corrections_of, keys_to_retract, record, users_to_merge
from bench.databases import _as_url, postgres_database, require_reachable, schema_taken_back
from bench.generator import DAYS, FIRST_DAY, generate, ledger_rows, more_rows
from bench.machine import describe, machine_line
from bench.measurements import (
    REPO,
    checkout,
    in_fresh_process,
    in_turn,
    ingest,
    ingested_with,
    median_of_rounds,
    schema_revision_of,
    write_action_file,
)
from bench.schedule import versions
from ledger import Ledger
from ledger.store.engine import vacuum_analyze
from ledger.store.schema import head_revision

SEED = 20_260_101
# The benchmark's community has a hundred actions per user.
ACTIONS_PER_USER = 100
HISTORY_END = FIRST_DAY + timedelta(days=DAYS - 1)
TIMEOUT_S = 900.0
EVENT_TABLES = ("actions", "corrections", "adjustments", "merges", "batches")
MEASURES = (
    "full recalc",
    "incremental recalc after new actions",
    "retract keys + recalc",
    "retract: the recalc alone",
    "merge a user + recalc",
    "merge: the recalc alone",
)


def run(admin_url: str, actions: int, changes: int, rounds: int, baseline: str | None) -> str:
    """Measure; returns a Markdown report (figures in seconds, medians over `rounds`).
    `baseline`: a git revision of this repository measured too."""
    if baseline is None:
        return _run(admin_url, actions, changes, rounds, None)
    with tempfile.TemporaryDirectory(prefix="scoreledger-baseline-") as folder:
        return _run(admin_url, actions, changes, rounds, checkout(baseline, Path(folder)))


def _run(admin_url: str, actions: int, changes: int, rounds: int, baseline: Path | None) -> str:
    started = time.perf_counter()

    def tell(message: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f}s] {message}", flush=True)

    machine = describe(admin_url)
    tell(f"generating {actions:,} actions")
    community = generate(actions, max(actions // ACTIONS_PER_USER, 100), SEED)
    rows = ledger_rows(community)
    corrections = corrections_of(community)
    gc.freeze()
    at = datetime.combine(HISTORY_END, clock_time(23, 59, 59)).isoformat()
    keys = keys_to_retract(rows, corrections, changes, SEED)
    source, target, merged_actions = users_to_merge(rows, corrections, changes)
    extra = more_rows(community, changes, day=DAYS - 1)
    codes = {"this checkout": REPO} if baseline is None else {"baseline": baseline, "this checkout": REPO}
    # The template is written at this checkout's schema; a baseline that knows an older one
    # measures copies taken back to it.
    revisions = {code: schema_revision_of(folder) if folder != REPO else head_revision() for code, folder in codes.items()}
    for revision in revisions.values():
        require_reachable(revision)
    figures: dict[str, dict[str, list[float]]] = {code: {measure: [] for measure in MEASURES} for code in codes}
    with postgres_database(admin_url, "recalcs_template") as template_url:
        book = Ledger.open(template_url)
        try:
            book.init()
            book.record_schedule(versions(), retroactive=True)
            tell("ingesting")
            ingest(book, rows, "bench")
            tell(f"recording corrections: {corrections.summary()}")
            record(book, corrections)
            # Autovacuum would otherwise take the freshly written template on during the
            # first round, and slow whichever code that round measures.
            tell("vacuuming the template")
            vacuum_analyze(book.engine, *EVENT_TABLES)
        finally:
            book.close()
        keys_file = Path(template_url.rsplit("/", 1)[1] + "-keys.txt").absolute()
        extra_file = keys_file.with_name(keys_file.name.replace("-keys.txt", "-new-actions.csv"))
        try:
            keys_file.write_text("\n".join(keys) + "\n", encoding="utf-8")
            write_action_file(extra_file, extra)
            for round_number in range(1, rounds + 1):
                for code, folder in in_turn(codes, round_number):
                    with _copy_of(admin_url, template_url, f"{round_number}") as url:
                        if revisions[code] != head_revision():
                            schema_taken_back(url, revisions[code])
                        taken = figures[code]

                        def probe(*operation: str, url: str = url, folder: Path = folder) -> dict:
                            found = in_fresh_process(url, "default", *operation, timeout=TIMEOUT_S, code=folder)
                            if found is None:
                                raise RuntimeError(f"{' '.join(operation)} did not finish in {TIMEOUT_S:.0f} s")
                            return found

                        taken["full recalc"].append(probe("recalc", "--full")["seconds"])
                        ingested_with(folder, url, extra_file)
                        taken["incremental recalc after new actions"].append(probe("recalc")["seconds"])
                        retracted = probe("retract", str(keys_file), at)
                        taken["retract keys + recalc"].append(retracted["seconds"])
                        taken["retract: the recalc alone"].append(retracted["recalc_seconds"])
                        merged = probe("merge", str(source), str(target), at)
                        taken["merge a user + recalc"].append(merged["seconds"])
                        taken["merge: the recalc alone"].append(merged["recalc_seconds"])
                        tell(f"round {round_number}, {code}: " + ", ".join(f"{m} {v[-1]:.2f} s" for m, v in taken.items()))
        finally:
            keys_file.unlink(missing_ok=True)
            extra_file.unlink(missing_ok=True)
    return _report(machine, actions, changes, merged_actions, corrections.summary(), figures)


@contextmanager
def _copy_of(admin_url: str, template_url: str, label: str) -> Iterator[str]:
    template = template_url.rsplit("/", 1)[1].split("?")[0]
    name = f"{template}_copy{label}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
    try:
        yield _as_url(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _report(
    machine: dict, actions: int, changes: int, merged_actions: int, summary: dict, figures: dict[str, dict[str, list[float]]]
) -> str:
    codes = list(figures)
    lines = [
        f"Recalculations on PostgreSQL, {actions:,} actions ({', '.join(f'{n:,} {kind}' for kind, n in summary.items())}); "
        f"{changes:,} new actions, {changes:,} keys retracted, a user with {merged_actions:,} actions merged.",
        machine_line(machine),
        "",
        "| measurement | " + " | ".join(f"{code} (s, median; rounds)" for code in codes) + " |",
        "| --- | " + " | ".join("---:" for _ in codes) + " |",
    ]
    for measure in MEASURES:
        cells = [median_of_rounds(figures[code][measure]) for code in codes]
        lines.append(f"| {measure} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
