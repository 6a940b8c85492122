"""An action file whose rows also retract or amend recorded actions (columns `retracted_at`
and `amended_at`, ledger/domain.py CORRECTION_COLUMNS).

A row with `retracted_at` names a recorded action (same source_key, user_id, action and
occurred_at) that stopped counting at that time. A row with `amended_at` gives the action's
quantity and attributes as they are since that time; for a key not recorded yet it is a new
action. Every correction is checked before anything is written, so a bad row leaves the
ledger as it was; then the new actions are recorded, then the corrections (two batches).
The correcting rows are held in memory; the plain ones are read again, a chunk at a time,
when they are written (a file is read as plain actions first, and takes this path at its
first correcting row: HasCorrections).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from ledger.domain import Amendment, Correction, Located, Retraction
from ledger.errors import InputProblem, InvalidInput
from ledger.problem_log import ProblemLog, reported
from ledger.store.actions import LocatedRow, Progress, RowSource, WriteResult, write_actions
from ledger.store.corrections import read_action_states, write_corrections

IDENTITY_FIELDS = ("user_id", "action", "occurred_at")


class HasCorrections(Exception):
    """A source read as plain actions holds a row that corrects one: take the corrections path."""


class PlainRows:
    """The rows of `source` (ledger/store/actions.py RowSource) that are plain actions,
    followed by `extra`; with `refuse`, raises HasCorrections at the first correcting row."""

    def __init__(self, source: RowSource, extra: Sequence[LocatedRow] = (), *, refuse: bool = False) -> None:
        self.source = source
        self.extra = extra
        self.refuse = refuse

    @property
    def problems(self) -> ProblemLog | list[InputProblem]:
        return self.source.problems

    def estimated_rows(self) -> int | None:
        return self.source.estimated_rows()

    def chunks(self) -> Iterator[Sequence[LocatedRow]]:
        for chunk in self.source.chunks():
            plain = [located for located in chunk if located.correction is None]
            if self.refuse and len(plain) != len(chunk):
                raise HasCorrections
            yield plain
        if self.extra:
            yield self.extra


def ingest_with_corrections(
    engine: Engine,
    ledger: str,
    source: RowSource,
    *,
    origin: str | None,
    progress: Progress | None,
    zone: ZoneInfo | None = None,
    before_commit: Callable[[], None] | None = None,
) -> WriteResult:
    """Record the rows of `source` (ledger/store/actions.py RowSource), some of which correct
    recorded actions; see the module's docstring. The correcting rows are held in memory,
    the plain ones read a chunk at a time."""
    correcting = [located for chunk in source.chunks() for located in chunk if located.correction is not None]
    if source.problems:
        raise InvalidInput(reported(source.problems), what="ingest")
    plain: list[LocatedRow] = []
    recorded = read_action_states(engine, ledger, [located.row.source_key for located in correcting])
    corrections: list[Located] = []
    problems: list[InputProblem] = []
    for located in correcting:
        assert located.correction is not None  # `correcting` holds only rows that correct
        kind, at = located.correction
        key = located.row.source_key
        state = recorded.get(key)
        if state is None:
            if kind == "amended":
                plain.append(located._replace(correction=None))
            else:
                problems.append(
                    InputProblem(located.source, located.line, "retracted_at", f"source_key {key!r} is not recorded: nothing to retract")
                )
            continue
        differing = [name for name in IDENTITY_FIELDS if getattr(state, name) != getattr(located.row, name)]
        if differing:
            problems.append(
                InputProblem(
                    located.source,
                    located.line,
                    ", ".join(differing),
                    f"source_key {key!r} is recorded with a different {', '.join(differing)}",
                )
            )
            continue
        correction: Correction = (
            Retraction(source_key=key, at=at)
            if kind == "retracted"
            else Amendment(source_key=key, at=at, quantity=located.row.quantity, attributes=json.loads(located.row.attributes))
        )
        corrections.append(Located(located.source, located.line, correction))
    if problems:
        raise InvalidInput(problems, what="ingest")
    if corrections:
        write_corrections(engine, ledger, corrections, check_only=True)
    added = write_actions(
        engine, ledger, PlainRows(source, plain), origin=origin, progress=progress, zone=zone, before_commit=before_commit
    )
    corrected = write_corrections(engine, ledger, corrections, origin=origin) if corrections else None
    if corrected is None:
        return added
    return WriteResult(added.new + corrected.new, added.already_present + corrected.already_present, corrected.batch_id or added.batch_id)
