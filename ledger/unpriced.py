"""Action types an ingest brings that no schedule version prices: most often a typo in an
export (`likes_recieved`), which would otherwise earn nothing, silently, for ever."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence


def unpriced_warnings(counts: Mapping[str, int], known: Sequence[str]) -> list[str]:
    """One line per action type in `counts` (rows per type) that no version has a rule for
    (`known`: every action some version prices), with the nearest known name if one is close;
    one line if the ledger has no schedule at all."""
    if not counts:
        return []
    if not known:
        return [
            f"the ledger has no schedule yet: none of the {sum(counts.values()):,} rows is priced "
            "(scoreledger schedule import FILE, or schedule set)"
        ]
    lines = []
    for action, rows in sorted(counts.items()):
        if action in known:
            continue
        nearest = difflib.get_close_matches(action, known, n=1)
        hint = f"; did you mean {nearest[0]}?" if nearest else ""
        lines.append(f"{action} ({rows:,} row{'s' if rows != 1 else ''}): no rule prices it{hint}")
    return lines
