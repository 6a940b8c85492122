"""The benchmark's sizes and the targets the issue sets for the large one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    actions: int
    users: int
    # Action counts of the growth table; the largest is the main run itself.
    growth: tuple[int, ...]
    incremental_actions: int
    audit_samples: int
    # Whether SQLite gets the whole suite and the growth table too, or only what the issue
    # sets targets for (ingest, full recalc, audit). SQLite's incremental recalc and its
    # top-user audit grow too slow at `large` to fit the 30-minute budget.
    sqlite_everything: bool
    # Targets are the issue's, for `large` on the reference machine; smaller scales show
    # them for orientation only.
    targets_apply: bool
    # Events the push benchmark posts to the stand-in forum, per ledger backend.
    push_events: int = 200


SCALES = {
    "small": Scale("small", 100_000, 2_000, (10_000, 30_000, 100_000), 1_000, 100, True, targets_apply=False),
    # Between the two: for measuring one part alone (`--only`) at a size that shows its rate
    # without the large run's hour.
    "medium": Scale("medium", 1_000_000, 10_000, (100_000, 300_000, 1_000_000), 10_000, 1_000, False, targets_apply=False, push_events=500),
    "large": Scale(
        "large", 10_000_000, 100_000, (1_000_000, 3_000_000, 10_000_000), 10_000, 1_000, False, targets_apply=True, push_events=2_000
    ),
}

# The targets.
PG_INGEST_PER_S = 150_000
PG_FULL_RECALC_S = 17.0
SIDE_BY_SIDE_SPEEDUP = 10.0
PG_INCREMENTAL_RECALC_S = 1.0
PG_SCHEDULE_CHANGE_RECALC_S = 5.0
PG_RETRACT_RECALC_S = 1.0
PG_MERGE_RECALC_S = 1.0
AUDIT_P99_MS = 5.0
LEADERBOARD_MS = 100.0
RECALC_PEAK_RSS_MIB = 300.0
INGEST_PEAK_RSS_MIB = 300.0
SQLITE_INGEST_PER_S = 100_000
SQLITE_FULL_RECALC_S = 60.0
DISCOURSE_IMPORT_PER_S = 100_000
DISCOURSE_PLAN_S = 5.0
DISCOURSE_PUSH_OWN_MS = 5.0
