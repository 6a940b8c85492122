"""An action file whose rows also retract or amend recorded actions (columns `retracted_at`
and `amended_at`, ledger/domain.py CORRECTION_COLUMNS).

A row with `retracted_at` names a recorded action (same source_key, user_id, action and
occurred_at) that stopped counting at that time. A row with `amended_at` gives the action's
quantity and attributes as they are since that time; for a key not recorded yet it is a new
action. Every correction is checked before anything is written, so a bad row leaves the
ledger as it was; then the new actions are recorded, then the corrections (two batches).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import Engine

from ledger.domain import Amendment, Correction, Retraction
from ledger.errors import InputProblem, InvalidInput
from ledger.store.actions import LocatedRow, Progress, WriteResult, write_actions
from ledger.store.corrections import Located, read_action_states, write_corrections

IDENTITY_FIELDS = ("user_id", "action", "occurred_at")


def ingest_with_corrections(
    engine: Engine, ledger: str, rows: Sequence[LocatedRow], *, origin: str | None, progress: Progress | None
) -> WriteResult:
    """Record `rows` (some of which correct recorded actions); see the module's docstring."""
    correcting = [located for located in rows if located.correction is not None]
    recorded = read_action_states(engine, ledger, [located.row.source_key for located in correcting])
    plain = [located for located in rows if located.correction is None]
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
                problems.append(InputProblem(located.source, located.line, "retracted_at", f"source_key {key!r} is not recorded: nothing to retract"))
            continue
        differing = [name for name in IDENTITY_FIELDS if getattr(state, name) != getattr(located.row, name)]
        if differing:
            problems.append(InputProblem(
                located.source, located.line, ", ".join(differing),
                f"source_key {key!r} is recorded with a different {', '.join(differing)}",
            ))
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
    added = write_actions(engine, ledger, plain, origin=origin, progress=progress) if plain else WriteResult(0, 0, None)
    corrected = write_corrections(engine, ledger, corrections, origin=origin) if corrections else None
    if corrected is None:
        return added
    return WriteResult(added.new + corrected.new, added.already_present + corrected.already_present, corrected.batch_id or added.batch_id)
