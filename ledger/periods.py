"""Scoring periods: whether an action earns anything at all, in Python (the audit).

A schedule version may turn scoring off (`enabled` false) or start it on a `start_date`. An
action earns nothing when, among the versions recorded before it (a lower journal seq), the
one in force on its day is off or starts after that day. So a version recorded later (a
moved start date, scoring turned off after the fact) never takes away what actions recorded
before it earned, and actions recorded after it obey it; corrections of an action follow
the action's own gate. SQL applies the same rule set-based (sql/replay.sql
`fill_replay_closed`); tests hold both to the reference model (tests/reference_model.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from ledger.domain import RecordedScheduleVersion
from ledger.in_force import in_force_on


def why_closed(version: RecordedScheduleVersion | None, day: date) -> str | None:
    """Why actions on `day` earn nothing under `version` ("scoring off", "before the start
    date ..."), or None when it scores them (or there is no version)."""
    if version is None or version.version.scores(day):
        return None
    if not version.version.enabled:
        return "scoring off"
    return f"before the start date {version.version.start_date}"


def gate(versions: Iterable[RecordedScheduleVersion], day: date, action_seq: int) -> str | None:
    """`why_closed` for an action on `day` recorded at journal seq `action_seq`: decided by the
    versions recorded before it."""
    known = [(v.version.effective_from, v.seq, v) for v in versions if v.seq < action_seq]
    return why_closed(in_force_on(known, day), day)
