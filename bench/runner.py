"""One benchmark run: generate the community, measure each backend, compare, grow.

The order is fixed so that figures measured side by side share the machine's state: the
PostgreSQL ledger and the plugin-style forum are scored alternately, in rounds, on the same
server.
"""

from __future__ import annotations

import gc
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any, cast

from bench import scales
from bench.corrections import Corrections, corrections_of, keys_to_retract, record, users_to_merge
from bench.databases import initialised, postgres_database, postgres_reachable, sqlite_file
from bench.discourse_baseline import load_forum, plugin_recalculate, settle_between_runs
from bench.discourse_compensation import measure_plan, measure_push, prepare_ledger, standin_forum
from bench.discourse_import import LEDGER as IMPORT_LEDGER
from bench.discourse_import import measure_first_import, measure_import_beside
from bench.generator import DAYS, FIRST_DAY, Community, generate, ledger_rows, more_rows
from bench.ingest_memory import measure as measure_ingest
from bench.ingest_memory import write_csv
from bench.machine import describe, host_speed
from bench.measurements import (
    Result,
    in_fresh_process,
    ingest,
    leaderboard_latencies,
    timed,
    top_user,
)
from bench.scales import Scale
from bench.schedule import change_effective, todays_values, versions
from ledger import Ledger
from ledger.discourse.plan import planned_events

SEED = 20_260_101
# The benchmark's "today": the day after the generated history ends.
HISTORY_END = FIRST_DAY + timedelta(days=DAYS - 1)
# Already-present rows re-offered to measure the idempotent no-op path.
REINGEST_SAMPLE = 100_000
# Time limits that keep a slow read path from stalling the whole run; what was measured
# within them is reported, with how much that was.
AUDIT_BUDGET_S = 60.0
WORST_AUDIT_TIMEOUT_S = 120.0
LEADERBOARD_REPEATS = 3
LEADERBOARD_BUDGET_S = 60.0
RECALC_TIMEOUT_S = 600.0
INGEST_TIMEOUT_S = 900.0
# Rounds of the side-by-side comparison: the plugin-style recalculation, then scoreledger's
# full recalc, alternately; their medians are compared.
SIDE_BY_SIDE_ROUNDS = 3


@dataclass
class Run:
    """Everything one run measured, in report order."""

    scale: Scale
    started: float = field(default_factory=time.perf_counter)
    results: list[Result] = field(default_factory=list)
    growth: list[dict] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    restarts: list[str] = field(default_factory=list)

    def say(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.started:7.1f}s] {message}", file=sys.stderr, flush=True)

    def add(self, result: Result) -> Result:
        self.results.append(result)
        shown = "not measured" if result.value is None else f"{result.value:,.3f} {result.unit}"
        self.say(f"{result.backend}: {result.name}: {shown}")
        return result

    def attempt_on_postgres(self, what: str, admin_url: str, operation: Callable[[], None]) -> None:
        """Run a PostgreSQL part; if the server went away meanwhile (the machine is shared,
        and other test suites restart it), wait for it and run the part once more from the
        start, dropping what the broken attempt reported. Other failures are not retried."""
        for attempt in (1, 2):
            reported = len(self.results)
            try:
                operation()
                return
            except Exception as exc:  # noqa: BLE001 - decided below, else recorded
                if attempt == 2 or not _server_went_away(exc):
                    self._record_failure(what, exc)
                    return
                del self.results[reported:]
                self.restarts.append(f"{what}: {_first_line(exc)}; waited for the server and ran it again")
                self.say(f"PostgreSQL went away during {what}; waiting for it, then running it again")
                _wait_for_server(admin_url)

    def _record_failure(self, what: str, exc: BaseException) -> None:
        self.errors.append(f"{what}: {type(exc).__name__}: {_first_line(exc)}")
        self.say(f"FAILED {what}: {exc}")
        traceback.print_exception(exc, file=sys.stderr)

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        """Run one part; a failure is recorded (and fails the run) but later parts still run."""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - every failure goes into the report
            self._record_failure(what, exc)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


def _server_went_away(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) is the server closing or refusing connections."""
    while exc is not None:
        text = str(exc).lower()
        if any(
            sign in text
            for sign in (
                "server closed the connection",
                "connection refused",
                "connection is lost",
                "terminating connection",
                "the database system is",
                "connection failed",
            )
        ):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def _wait_for_server(admin_url: str, limit_s: float = 300.0) -> None:
    deadline = time.perf_counter() + limit_s
    while postgres_reachable(admin_url) is not None and time.perf_counter() < deadline:
        time.sleep(2)


def run(scale: Scale, admin_url: str | None, seed: int = SEED) -> tuple[Run, dict]:
    """Measure everything for `scale`. Returns the run and the context for the report."""
    current = Run(scale)
    postgres_problem = postgres_reachable(admin_url) if admin_url else "no PostgreSQL URL given"
    context: dict[str, Any] = {
        "scale": scale.name,
        "seed": seed,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": describe(admin_url if postgres_problem is None else None),
        "postgresql_skipped": postgres_problem,
        "history": f"{FIRST_DAY.isoformat()} .. {HISTORY_END.isoformat()}",
        "schedule_versions": len(versions()),
    }
    current.say(f"generating {scale.actions:,} actions for {scale.users:,} users (seed {seed})")
    generate_seconds, community = timed(lambda: generate(scale.actions, scale.users, seed))
    rows_seconds, rows = timed(lambda: ledger_rows(community))  # type: ignore[arg-type]
    corrections_seconds, corrections = timed(lambda: corrections_of(community))  # type: ignore[arg-type]
    # The generated rows live for the whole run: keep the cyclic collector from rescanning
    # them during every later measurement (they are freed by reference counting anyway).
    gc.freeze()
    context["community"] = {
        "actions": len(rows),  # type: ignore[arg-type]
        "users": scale.users,
        "corrections": corrections.summary(),  # type: ignore[attr-defined]
        "generate_seconds": round(generate_seconds + rows_seconds + corrections_seconds, 1),
    }
    current.say(
        f"generated {len(rows):,} actions and {corrections.summary()} in "  # type: ignore[arg-type, attr-defined]
        f"{generate_seconds + rows_seconds + corrections_seconds:.1f}s"
    )

    main_figures: dict[str, float | None] = {}
    if postgres_problem is None:
        # The ledger's database outlives its part: the comparison recalculates it again,
        # alternating with the plugin-style side. A retry recreates it (same name).
        with ExitStack() as databases:
            ledger_urls: list[str] = []

            def ledger_part() -> None:
                url = databases.enter_context(postgres_database(admin_url, f"{scale.name}_ledger"))  # type: ignore[arg-type]
                main_figures.update(_ledger_suite(current, url, "postgresql", rows, community, corrections))  # type: ignore[arg-type]
                ledger_urls.append(url)

            def plugin_part() -> None:
                assert admin_url is not None
                with postgres_database(admin_url, f"{scale.name}_forum") as url:
                    context["forum_rows"] = _plugin_side(
                        current,
                        url,
                        cast(Community, community),
                        cast(Corrections, corrections),
                        ledger_urls[-1] if ledger_urls else None,
                        admin_url,
                    )

            current.attempt_on_postgres("PostgreSQL ledger", admin_url, ledger_part)  # type: ignore[arg-type]
            current.attempt_on_postgres("plugin-style comparison", admin_url, plugin_part)  # type: ignore[arg-type]
    else:
        current.say(f"PostgreSQL skipped: {postgres_problem}")
    with current.step("SQLite ledger"), sqlite_file(f"{scale.name}_ledger") as url:
        main_figures.update({f"sqlite_{k}": v for k, v in _ledger_suite(current, url, "sqlite", rows, community, corrections).items()})  # type: ignore[arg-type]

    # Let the 10M rows go before the growth runs generate their own. Rebinding, not `del`:
    # the PostgreSQL parts' closures refer to these names.
    rows = community = corrections = None
    gc.collect()
    _ingest_memory_measures(current, admin_url if postgres_problem is None else None)
    _growth(current, admin_url if postgres_problem is None else None, seed, main_figures)
    total = time.perf_counter() - current.started
    context["machine"].update(host_speed(admin_url if postgres_problem is None else None, "end"))
    context["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    context["duration_minutes"] = round(total / 60, 1)
    if scale.targets_apply:
        current.add(Result("whole benchmark run", "both", scale.actions, total / 60, "min", 30.0))
    return current, context


def discourse_import_only(scale: Scale, admin_url: str | None, seed: int = SEED) -> tuple[Run, dict]:
    """Only the Discourse import's rows (bench/discourse_import.py) at `scale`: the community
    generated and loaded as a forum, then imported into a ledger of its own."""
    current = Run(scale)
    context: dict[str, Any] = {
        "scale": scale.name,
        "seed": seed,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": describe(admin_url),
        "postgresql_skipped": postgres_reachable(admin_url) if admin_url else "no PostgreSQL URL given",
        "history": f"{FIRST_DAY.isoformat()} .. {HISTORY_END.isoformat()}",
        "schedule_versions": len(versions()),
        "only": "discourse-import",
    }
    if context["postgresql_skipped"] is not None:
        current.errors.append(f"the import reads a PostgreSQL forum: {context['postgresql_skipped']}")
        return current, context
    assert admin_url is not None
    current.say(f"generating {scale.actions:,} actions for {scale.users:,} users (seed {seed})")
    community = generate(scale.actions, scale.users, seed)
    corrections = corrections_of(community)
    context["community"] = {"actions": community.action_count, "users": scale.users, "corrections": corrections.summary()}

    def part() -> None:
        with postgres_database(admin_url, f"{scale.name}_forum") as forum_url:
            current.say("loading the Discourse-shaped forum")
            seconds, counts = timed(lambda: load_forum(forum_url, community, corrections))
            current.say(f"forum loaded in {seconds:.1f}s: {counts}")
            for result in measure_first_import(forum_url, admin_url, f"{scale.name}_ledger"):
                current.add(result)

    current.attempt_on_postgres("discourse import", admin_url, part)
    context["machine"].update(host_speed(admin_url, "end"))
    context["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    context["duration_minutes"] = round((time.perf_counter() - current.started) / 60, 1)
    return current, context


# The parts `python -m bench --only` runs alone.
PARTS: dict[str, Callable[[Scale, str | None, int], tuple[Run, dict]]] = {"discourse-import": discourse_import_only}


def _ingest_memory_measures(current: Run, admin_url: str | None) -> None:
    """Peak RSS of `scoreledger ingest` of a CSV file of the scale's size, on each backend,
    in a process of its own (bench/ingest_memory.py): the file is read a chunk at a time,
    so its size must not show in the figure. The two ingests run at once, each in its own
    process: only their peak memory is measured, which sharing the machine does not change,
    and it halves the time this part adds to the run."""
    rows = current.scale.actions
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as folder:
        path = Path(folder) / "actions.csv"
        current.say(f"writing a CSV file of {rows:,} actions for the ingest's peak memory")
        write_csv(path, rows, users=current.scale.users)
        probes: dict[str, dict | None] = {}
        # Alembic's migration context is global to the process: one init at a time.
        one_init = threading.Lock()

        def probe_on(url: str, backend: str) -> None:
            with one_init:
                initialised(url)
            current.say(f"{backend}: scoreledger ingest of the {rows:,}-row file in a process of its own")
            probes[backend] = measure_ingest(url, path, timeout=INGEST_TIMEOUT_S)

        def postgres_part() -> None:
            assert admin_url is not None
            with postgres_database(admin_url, f"{current.scale.name}_ingest_memory") as url:
                probe_on(url, "postgresql")

        def sqlite_part() -> None:
            with current.step("SQLite ingest peak memory"), sqlite_file(f"{current.scale.name}_ingest_memory") as url:
                probe_on(url, "sqlite")

        with ThreadPoolExecutor(max_workers=2) as pool:
            waits = [pool.submit(sqlite_part)]
            if admin_url is not None:
                waits.append(pool.submit(current.attempt_on_postgres, "ingest peak memory", admin_url, postgres_part))
            for finished in waits:
                finished.result()
        for backend in ("postgresql", "sqlite"):
            if backend not in probes:
                continue
            probe = probes[backend]
            current.add(
                Result(
                    "peak RSS of `scoreledger ingest` of a CSV file",
                    backend,
                    rows,
                    None if probe is None else probe["peak_rss_mib"],
                    "MiB",
                    scales.INGEST_PEAK_RSS_MIB,
                    note=_did_not_finish(INGEST_TIMEOUT_S)
                    if probe is None
                    else (
                        f"{probe['file_mib']:.0f} MiB file, {probe['new']:,} new in {probe['seconds']:.1f} s "
                        "(both backends' ingests at once); /usr/bin/time -v"
                    ),
                )
            )


def _ledger_suite(
    current: Run, url: str, backend: str, rows: list, community: Community, corrections: Corrections
) -> dict[str, float | None]:
    """Ingest, the community's corrections and full recalc; then, where this scale asks for them on this backend,
    incremental recalcs, audits and leaderboards."""
    scale = current.scale
    postgres = backend == "postgresql"
    figures: dict[str, float | None] = {}
    book = Ledger.open(url)
    try:
        book.init()
        book.record_schedule(versions(), retroactive=True)
        figures["ingest"] = _ingest_measures(current, book, backend, rows)
        _corrections_measure(current, book, backend, corrections)
        figures["full_recalc"] = _full_recalc_measure(current, url, backend, len(rows))
        if postgres or scale.sqlite_everything:
            _incremental_measures(current, book, url, backend, len(rows), community)
            _correction_recalc_measures(current, url, backend, rows, corrections)
        audits = in_fresh_process(
            url,
            "default",
            "audits",
            str(scale.users),
            str(scale.audit_samples),
            str(SEED),
            str(AUDIT_BUDGET_S),
            timeout=2 * AUDIT_BUDGET_S,
        )
        current.add(
            Result(
                "per-user audit p99",
                backend,
                len(rows),
                None if audits is None else audits["p99_ms"],
                "ms",
                scales.AUDIT_P99_MS,
                note=_did_not_finish(2 * AUDIT_BUDGET_S)
                if audits is None
                else (
                    f"{audits['samples']} users drawn uniformly, in a process of its own; "
                    f"p50 {audits['p50_ms']:.2f} ms, max {audits['max_ms']:.1f} ms"
                ),
            )
        )
        if postgres or scale.sqlite_everything:
            _worst_case_reads(current, book, url, backend, len(rows))
    finally:
        book.close()
    return figures


def _ingest_measures(current: Run, book: Ledger, backend: str, rows: list) -> float:
    postgres = backend == "postgresql"
    current.say(f"{backend}: ingesting {len(rows):,} actions as one batch")
    seconds, new = ingest(book, rows, "bench")
    current.add(
        Result(
            "bulk ingest (one batch, idempotency enforced)",
            backend,
            new,
            new / seconds,
            "actions/s",
            scales.PG_INGEST_PER_S if postgres else scales.SQLITE_INGEST_PER_S,
            higher_is_better=True,
            note=f"{seconds:.1f} s for {new:,} actions" + (" (COPY)" if postgres else " (executemany)"),
        )
    )
    sample = rows[:REINGEST_SAMPLE]
    again, repeated = ingest(book, sample, "bench again")
    current.add(
        Result(
            "re-ingest of already recorded actions (all no-ops)",
            backend,
            len(sample),
            len(sample) / again,
            "actions/s",
            note=f"{repeated} new of {len(sample):,}; every key compared with the recorded payload",
        )
    )
    return seconds


def _corrections_measure(current: Run, book: Ledger, backend: str, corrections: Corrections) -> None:
    summary = corrections.summary()
    current.say(f"{backend}: recording the community's corrections: {summary}")
    seconds, outcome = timed(lambda: record(book, corrections))
    written = cast(int, outcome)
    batches = len(corrections.correction_batches()) + len(corrections.adjustment_batches()) + summary["merges"]
    current.add(
        Result(
            "recording the community's corrections, adjustments and merges",
            backend,
            written,
            written / seconds,
            "events/s",
            note=f"{seconds:.1f} s for {', '.join(f'{count:,} {kind}' for kind, count in summary.items())}, in {batches:,} batches",
        )
    )


def _full_recalc_measure(current: Run, url: str, backend: str, actions: int) -> float | None:
    postgres = backend == "postgresql"
    probe = in_fresh_process(url, "default", "recalc", "--full", timeout=RECALC_TIMEOUT_S)
    current.add(
        Result(
            "full recalc (all projections)",
            backend,
            actions,
            None if probe is None else probe["seconds"],
            "s",
            scales.PG_FULL_RECALC_S if postgres else scales.SQLITE_FULL_RECALC_S,
            note=_did_not_finish(RECALC_TIMEOUT_S)
            if probe is None
            else f"{probe['user_days']:,} user-days, {probe['users']:,} users; with the community's corrections",
        )
    )
    if postgres and probe is not None:
        current.add(
            Result(
                "peak RSS of the recalc process",
                backend,
                actions,
                probe["peak_rss_mib"],
                "MiB",
                scales.RECALC_PEAK_RSS_MIB,
                note=f"{probe['rss_before_mib']:.0f} MiB before the recalc started",
            )
        )
    return None if probe is None else probe["seconds"]


def _incremental_measures(current: Run, book: Ledger, url: str, backend: str, actions: int, community: Community) -> None:
    postgres = backend == "postgresql"
    extra = more_rows(community, current.scale.incremental_actions, day=DAYS - 1)
    seconds, _ = ingest(book, extra, "bench increment")
    current.add(
        Result(
            f"ingest of {len(extra):,} new actions into the full ledger",
            backend,
            len(extra),
            len(extra) / seconds,
            "actions/s",
            note=f"{seconds * 1000:.0f} ms, existing keys looked up",
        )
    )
    probe = in_fresh_process(url, "default", "recalc", timeout=RECALC_TIMEOUT_S)
    current.add(
        Result(
            f"incremental recalc after {len(extra):,} new actions",
            backend,
            len(extra),
            None if probe is None else probe["seconds"],
            "s",
            scales.PG_INCREMENTAL_RECALC_S if postgres else None,
            note=_did_not_finish(RECALC_TIMEOUT_S) if probe is None else f"{probe['user_days']:,} user-days repriced",
        )
    )
    changed = HISTORY_END - timedelta(days=30)
    book.record_schedule([change_effective(changed)], retroactive=True)
    probe = in_fresh_process(url, "default", "recalc", timeout=RECALC_TIMEOUT_S)
    current.add(
        Result(
            "incremental recalc after a schedule change effective 30 days ago",
            backend,
            actions,
            None if probe is None else probe["seconds"],
            "s",
            scales.PG_SCHEDULE_CHANGE_RECALC_S if postgres else None,
            note=f"from {changed.isoformat()}; "
            + (_did_not_finish(RECALC_TIMEOUT_S) if probe is None else f"{probe['user_days']:,} user-days repriced"),
        )
    )


def _correction_recalc_measures(current: Run, url: str, backend: str, rows: list, corrections: Corrections) -> None:
    """Retract keys drawn from the whole history, then merge a user with about as many
    actions, each with the incremental recalc after it, in a fresh process. Both are booked
    on the last day of the history."""
    postgres = backend == "postgresql"
    number = current.scale.incremental_actions
    at = datetime.combine(HISTORY_END, clock_time(23, 59, 59)).isoformat()
    keys = keys_to_retract(rows, corrections, number, SEED)
    with tempfile.TemporaryDirectory(prefix="scoreledger-bench-") as folder:
        keys_file = Path(folder) / "keys.txt"
        keys_file.write_text("\n".join(keys) + "\n", encoding="utf-8")
        probe = in_fresh_process(url, "default", "retract", str(keys_file), at, timeout=RECALC_TIMEOUT_S)
    current.add(
        Result(
            f"retract {len(keys):,} keys + incremental recalc",
            backend,
            len(keys),
            None if probe is None else probe["seconds"],
            "s",
            scales.PG_RETRACT_RECALC_S if postgres else None,
            note=_did_not_finish(RECALC_TIMEOUT_S)
            if probe is None
            else (
                f"keys drawn uniformly from the history; retraction {probe['write_seconds'] * 1000:.0f} ms + recalc "
                f"{probe['recalc_seconds'] * 1000:.0f} ms, {probe['user_days']:,} user-days repriced"
            ),
        )
    )
    source, target, actions = users_to_merge(rows, corrections, number)
    probe = in_fresh_process(url, "default", "merge", str(source), str(target), at, timeout=RECALC_TIMEOUT_S)
    current.add(
        Result(
            f"merge a user with ~{number:,} actions + incremental recalc",
            backend,
            actions,
            None if probe is None else probe["seconds"],
            "s",
            scales.PG_MERGE_RECALC_S if postgres else None,
            note=f"user {source} ({actions:,} actions) into user {target}; "
            + (
                _did_not_finish(RECALC_TIMEOUT_S)
                if probe is None
                else f"merge {probe['write_seconds'] * 1000:.0f} ms + recalc {probe['recalc_seconds'] * 1000:.0f} ms, "
                f"{probe['user_days']:,} user-days repriced"
            ),
        )
    )


def _worst_case_reads(current: Run, book: Ledger, url: str, backend: str, actions: int) -> None:
    postgres = backend == "postgresql"
    user = top_user(book)
    if user is not None:
        probe = in_fresh_process(url, "default", "audit", str(user), timeout=WORST_AUDIT_TIMEOUT_S)
        current.add(
            Result(
                "audit of the top user (worst case)",
                backend,
                actions,
                None if probe is None else probe["seconds"] * 1000,
                "ms",
                note=f"user {user}: " + (_did_not_finish(WORST_AUDIT_TIMEOUT_S) if probe is None else f"{probe['lines']:,} audit lines"),
            )
        )
    boards = leaderboard_latencies(book, HISTORY_END, LEADERBOARD_REPEATS, LEADERBOARD_BUDGET_S)
    current.details[f"{backend}_leaderboard_ms"] = boards
    slowest = max(boards, key=boards.__getitem__)
    current.add(
        Result(
            "leaderboard top 100, slowest period",
            backend,
            actions,
            boards[slowest],
            "ms",
            scales.LEADERBOARD_MS if postgres else None,
            note=f"median of up to {LEADERBOARD_REPEATS}; slowest: {slowest}; "
            + ", ".join(f"{period} {ms:.0f}" for period, ms in boards.items()),
        )
    )


def _did_not_finish(limit: float) -> str:
    return f"did not finish within {limit:.0f} s (stopped)"


def _plugin_side(
    current: Run, url: str, community: Community, corrections: Corrections, ledger_url: str | None, admin_url: str
) -> dict[str, int]:
    """Load the forum, then SIDE_BY_SIDE_ROUNDS rounds of the plugin-style recalculation,
    each followed by scoreledger's full recalc of the ledger at `ledger_url` (None: the
    ledger part failed, so the plugin side alone). Medians are compared: on a shared machine
    the same full recalc took noticeably different times in runs a few minutes apart."""
    current.say("loading the Discourse-shaped forum")
    seconds, loaded = timed(lambda: load_forum(url, community, corrections))
    counts = cast(dict[str, int], loaded)
    current.say(f"forum loaded in {seconds:.1f}s: {counts}")
    plugin_times: list[float] = []
    ledger_times: list[float] = []
    for round_number in range(SIDE_BY_SIDE_ROUNDS):
        if round_number:
            # Untimed: a real forum's table is vacuumed between two daily runs. The first
            # round finds it empty, which spares it the delete; later ones find the previous
            # round's scores, as a real forum's run finds yesterday's.
            settle_between_runs(url)
        plugin_seconds, daily_rows = timed(lambda: plugin_recalculate(url, todays_values()))
        plugin_times.append(plugin_seconds)
        if ledger_url is not None:
            probe = in_fresh_process(ledger_url, "default", "recalc", "--full", timeout=RECALC_TIMEOUT_S)
            if probe is None:
                raise RuntimeError(f"scoreledger's full recalc {_did_not_finish(RECALC_TIMEOUT_S)}")
            ledger_times.append(probe["seconds"])
        current.say(
            f"side by side: plugin-style {plugin_times[-1]:.1f} s, scoreledger {ledger_times[-1] if ledger_times else float('nan'):.1f} s"
        )
    forum_rows = sum(counts.values())
    if ledger_url is not None:
        for result in measure_first_import(url, admin_url, f"{current.scale.name}_import"):
            current.add(result)
        # Then beside the benchmark's ledger, whose database the compensation measures plan
        # and push from, with the ledger that import leaves.
        with current.step("discourse import beside another ledger"):
            current.add(measure_import_beside(url, ledger_url))
        with current.step("discourse compensation plan and push"):
            _compensation_measures(current, url, ledger_url, admin_url, forum_rows)
    plugin_median = statistics.median(plugin_times)
    current.add(
        Result(
            "plugin-style full recalc (one set of values)",
            "postgresql",
            forum_rows,
            plugin_median,
            "s",
            note=f"{forum_rows:,} forum rows, {daily_rows:,} daily scores upserted; median of {_rounds(plugin_times)}",
        )
    )
    if ledger_times:
        ledger_median = statistics.median(ledger_times)
        current.add(
            Result(
                "side-by-side: plugin-style time / scoreledger full recalc",
                "postgresql",
                forum_rows,
                plugin_median / ledger_median,
                "x",
                scales.SIDE_BY_SIDE_SPEEDUP,
                higher_is_better=True,
                note=f"medians {plugin_median:.1f} s vs {ledger_median:.1f} s (scoreledger: {_rounds(ledger_times)}), "
                "alternating, same community, same server, same run",
            )
        )
    return counts


def _compensation_measures(current: Run, forum_url: str, ledger_url: str, admin_url: str, forum_rows: int) -> None:
    """The plan for every user of the forum, on the imported ledger after a point-value
    change; then the push's own time per event, its journal in the PostgreSQL ledger and in
    a fresh SQLite one."""
    current.say("compensation: the imported ledger gets the forum's score events and the SailPoint change")
    prepare_ledger(forum_url, ledger_url)
    result, plan = measure_plan(forum_url, ledger_url, HISTORY_END, forum_rows)
    current.add(result)
    events = planned_events(plan)[: current.scale.push_events]
    with postgres_database(admin_url, f"{current.scale.name}_standin") as standin_url, standin_forum(standin_url) as site:
        current.add(measure_push(site, standin_url, ledger_url, IMPORT_LEDGER, "postgresql", events))
        with sqlite_file(f"{current.scale.name}_push") as sqlite_url:
            journal_ledger = Ledger.open(sqlite_url, IMPORT_LEDGER)
            journal_ledger.init()
            journal_ledger.close()
            current.add(measure_push(site, standin_url, sqlite_url, IMPORT_LEDGER, "sqlite", events))


def _rounds(seconds: list[float]) -> str:
    return " / ".join(f"{value:.1f}" for value in seconds) + " s"


def _growth(current: Run, admin_url: str | None, seed: int, main_figures: dict[str, float | None]) -> None:
    """Ingest and full recalc at each growth size; the largest is the main run's figures."""
    scale = current.scale
    for size in scale.growth:
        entry: dict[str, float | int | None] = {"actions": size}
        if size == scale.actions:
            entry.update(
                postgresql_ingest_s=main_figures.get("ingest"),
                postgresql_recalc_s=main_figures.get("full_recalc"),
                sqlite_ingest_s=main_figures.get("sqlite_ingest"),
                sqlite_recalc_s=main_figures.get("sqlite_full_recalc"),
            )
        else:
            with current.step(f"growth at {size:,}"):
                current.say(f"growth: {size:,} actions")
                community = generate(size, scale.users, seed)
                rows = ledger_rows(community)
                corrections = corrections_of(community)
                del community
                entry["actions"] = len(rows)
                if admin_url:

                    def postgres_growth(rows: list = rows, corrections: Corrections = corrections, entry: dict = entry) -> None:
                        with postgres_database(admin_url, f"{scale.name}_growth") as url:
                            entry["postgresql_ingest_s"], entry["postgresql_recalc_s"] = _ingest_and_recalc(url, rows, corrections)

                    current.attempt_on_postgres(f"growth at {size:,} on PostgreSQL", admin_url, postgres_growth)
                if scale.sqlite_everything:
                    with sqlite_file(f"{scale.name}_growth") as url:
                        entry["sqlite_ingest_s"], entry["sqlite_recalc_s"] = _ingest_and_recalc(url, rows, corrections)
                del rows, corrections
                gc.collect()
        current.growth.append(entry)
        current.say(f"growth: {entry}")


def _ingest_and_recalc(url: str, rows: list, corrections: Corrections) -> tuple[float, float | None]:
    """Seconds of the one-batch ingest of `rows`, and of the full recalc once `corrections`
    are recorded too (untimed)."""
    book = Ledger.open(url)
    try:
        book.init()
        book.record_schedule(versions(), retroactive=True)
        seconds, _ = ingest(book, rows, "bench growth")
        record(book, corrections)
    finally:
        book.close()
    probe = in_fresh_process(url, "default", "recalc", "--full", timeout=RECALC_TIMEOUT_S)
    return seconds, None if probe is None else probe["seconds"]
