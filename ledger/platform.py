"""What a platform's own recalculation from a day, at the values in force on another, makes of
each user's actions: every action in its current state (retracted ones gone, amended ones at
their new measure) on its own day, merged users under their targets, no adjustments. The
Discourse plan compares this with the ledger (ledger/discourse/plan.py).

Pricing every action again does not scale, and most of it is already in the projections: an
action whose rule is the same at its day's version and at the pinned one earns the same
either way. So the answer is each user's projected total from the day on, less what the
projections hold there that such a recalculation does not (counted adjustments, and
corrections booked on their own days rather than their actions'), plus the corrections as
booked on their actions' days at the pinned values, plus, for the (day, action)s whose rule
changed only, the actions' groups at the pinned rule less the same at the day's rule
(sql/platform.sql). It equals `points_in(..., values_of=..., current_state=True)`
(ledger/replay.py), which prices everything; tests/test_platform_points.py holds them
together.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import Connection, Engine

from ledger import overlay
from ledger.domain import UserPoints
from ledger.pricing import assign_rules_to_days, prepare_scratch
from ledger.replay import behind_in, points_in, pricing_transaction
from ledger.store import ledger_numbers
from ledger.store.dialects import dialect_of
from ledger.store.statements import run
from ledger.time_bounds import END_OF_TIME, FIRST_DAY, LAST_DAY

# Attempts at a snapshot whose projections are current before pricing from the events alone.
CURRENT_SNAPSHOT_ATTEMPTS = 3


def platform_points(
    engine: Engine, ledger: str, *, values_of: date, from_day: date | None = None, catch_up: Callable[[], None]
) -> list[UserPoints]:
    """Points per user with any, sorted by user (see the module's docstring). `catch_up`
    brings the projections up to date; should events keep arriving between it and the
    snapshot read, the events alone are priced."""
    for _attempt in range(CURRENT_SNAPSHOT_ATTEMPTS):
        catch_up()
        with pricing_transaction(engine) as conn:
            if not behind_in(conn, ledger):
                return from_projections(conn, ledger, values_of=values_of, from_day=from_day)
    with pricing_transaction(engine) as conn:
        priced = points_in(conn, ledger, values_of=values_of, from_day=from_day, current_state=True)
    return [row for row in priced if row.points]


def from_projections(conn: Connection, ledger: str, *, values_of: date, from_day: date | None = None) -> list[UserPoints]:
    """Points per user with any (sorted by user) for a recalculation from `from_day` at the
    values in force on `values_of`, from projections that are current in the caller's
    snapshot. Scoring periods close the same actions at either values (their windows come
    from the versions' periods, not their values), so an action they close earns nothing in
    the projections and nothing at the pinned rule alike."""
    start = from_day or FIRST_DAY
    number = ledger_numbers.number_of(conn, ledger)
    dialect = dialect_of(conn)
    prepare_scratch(conn, ledger)
    run(conn, "create_replay_changed_rules")
    run(conn, "clear_replay_changed_rules")
    overlay.fill_user_targets(conn, number)
    run(conn, "fill_replay_days", ledger_id=number, from_day=start, to_day=LAST_DAY)
    assign_rules_to_days(conn)
    # What the projections hold on the scoped days beyond the actions as first recorded.
    overlay.fill_overlay(conn, number)
    run(conn, "negate_replay_overlay")
    # From here on every version is the pinned one.
    run(conn, "clear_replay_versions")
    run(conn, "fill_replay_versions_pinned", ledger=ledger, known_at=END_OF_TIME, values_of=values_of)
    pinned_seq = run(conn, "pinned_version").scalar()
    overlay.fill_overlay(conn, number, current_state=True)
    run(conn, "fill_replay_changed_rules", pinned_seq=pinned_seq)
    if run(conn, "has_changed_rules").scalar():
        dialect.analyze(conn, "replay_changed_rules")
        dialect.analyze_if_stale(conn, "actions")
        run(conn, "reprice_changed_rules", ledger_id=number)
    return [UserPoints(row.user_id, int(row.points)) for row in run(conn, "platform_totals", ledger_id=number, from_day=start)]
