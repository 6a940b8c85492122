"""Which schedule version is in force on a day: the one rule, in Python.

The version in force on a day is the one with the latest `effective_from` on or before it;
among versions sharing that date, the one recorded last (the highest sequence number). SQL
applies the same rule set-based (sql/replay.sql `assign_versions_to_days`); tests hold both
to the reference model (tests/reference_model.py).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import date
from typing import Generic, TypeVar

Item = TypeVar("Item")


def in_force_on(entries: Iterable[tuple[date, int, Item]], day: date) -> Item | None:
    """The item of the entry (effective_from, seq, item) in force on `day`; None before the first."""
    chosen: tuple[date, int, Item] | None = None
    for entry in entries:
        if entry[0] <= day and (chosen is None or entry[:2] > chosen[:2]):
            chosen = entry
    return chosen[2] if chosen is not None else None


class InForce(Generic[Item]):
    """`in_force_on` for many days over one fixed set of entries, by bisection."""

    def __init__(self, entries: Iterable[tuple[date, int, Item]]) -> None:
        winners: dict[date, tuple[int, Item]] = {}
        for effective_from, seq, item in entries:
            if effective_from not in winners or seq > winners[effective_from][0]:
                winners[effective_from] = (seq, item)
        self._starts = sorted(winners)
        self._items = [winners[start][1] for start in self._starts]

    def on(self, day: date) -> Item | None:
        index = bisect_right(self._starts, day)
        return self._items[index - 1] if index else None
