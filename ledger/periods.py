"""Scoring periods: which actions earn nothing because scoring was off or not yet started.

A schedule version may turn scoring off (`enabled` false) or start it on a `start_date`. An
action earns nothing when, among the versions recorded before it (a lower journal seq), the
one in force on its day is off or starts after that day. So a version recorded later (a
moved start date, scoring turned off after the fact) never takes away what actions recorded
before it earned, while actions recorded after it obey it. Corrections of an action follow
the action's own gate: a retraction cancels exactly what the action earned (nothing, for a
gated one). Adjustments are given by hand and are never gated.

The gate is computed from the versions alone, as closed windows: for each span of days
between two effective dates, the journal seqs between two versions that apply there during
which the version in force was off or started later. Pricing loads them into the scratch
table replay_closed and tests each action against them set-based (sql/replay.sql
`action_closed`); the audit asks `Gate.why` here; tests hold both to the reference model
(tests/reference_model.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import NamedTuple

from ledger.time_bounds import LAST_DAY

# A journal seq beyond any recorded.
EVERY_SEQ = 2**62


class PeriodOf(NamedTuple):
    """A version as the gate needs it."""

    seq: int
    effective_from: date
    enabled: bool
    start_date: date | None


class Window(NamedTuple):
    """Actions on first_day..last_day recorded between after_seq and until_seq (exclusive)
    earn nothing when `off`, or on days before `start_date`."""

    first_day: date
    last_day: date
    after_seq: int
    until_seq: int
    off: bool
    start_date: date | None

    def closes(self, day: date, seq: int) -> bool:
        return (
            self.first_day <= day <= self.last_day
            and self.after_seq < seq < self.until_seq
            and (self.off or (self.start_date is not None and self.start_date > day))
        )


def closed_windows(versions: Iterable[PeriodOf]) -> list[Window]:
    """The windows in which the versions close scoring; none when no version ever does."""
    versions = sorted(versions, key=lambda v: v.seq)
    if all(v.enabled and v.start_date is None for v in versions):
        return []
    starts = sorted({v.effective_from for v in versions})
    windows = []
    for index, first in enumerate(starts):
        last = starts[index + 1] - timedelta(days=1) if index + 1 < len(starts) else LAST_DAY
        # The versions that apply to these days, in recording order: after each, the one in
        # force is the latest effective among those recorded so far (the last recorded on a tie).
        applying = [v for v in versions if v.effective_from <= first]
        winner: PeriodOf | None = None
        for position, version in enumerate(applying):
            if winner is None or (version.effective_from, version.seq) > (winner.effective_from, winner.seq):
                winner = version
            until = applying[position + 1].seq if position + 1 < len(applying) else EVERY_SEQ
            if not winner.enabled or (winner.start_date is not None and winner.start_date > first):
                windows.append(Window(first, last, version.seq, until, not winner.enabled, winner.start_date))
    return windows


class Gate:
    """Why an action earns nothing (the audit's words), from the closed windows."""

    def __init__(self, versions: Iterable[PeriodOf]) -> None:
        self.windows = closed_windows(versions)

    def why(self, day: date, seq: int) -> str | None:
        """ "scoring off", "before the start date D", or None when the action may earn."""
        for window in self.windows:
            if window.closes(day, seq):
                return "scoring off" if window.off else f"before the start date {window.start_date}"
        return None
