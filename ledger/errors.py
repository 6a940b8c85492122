"""The ledger's own exception types.

Driver and parser errors are turned into these at the library boundary, so callers (the CLI,
or a Python user) handle one family of errors and never see a SQL driver traceback.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, overload


class LedgerError(Exception):
    """Base of every error the library raises on purpose."""


@dataclass(frozen=True)
class InputProblem:
    """One thing wrong with one piece of input: where it is, which field, and why."""

    source: str
    line: int | None
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        field = f" {self.field}:" if self.field else ""
        # Lone surrogates (from bytes that were not UTF-8) would make printing the line fail.
        text = f"{where}:{field} {self.reason}"
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


class Problems(Protocol):
    """What refused input carries: a list, or a log that keeps the many beyond memory on disk
    (ledger/problem_log.py); indexing reaches those in memory."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[InputProblem]: ...

    @overload
    def __getitem__(self, index: int) -> InputProblem: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[InputProblem]: ...


class InvalidInput(LedgerError):
    """Input was refused; `problems` lists every problem found, not only the first.

    Nothing of the batch that carried this input was written. `writes` is false for input
    to something that only reads, whose summary then does not speak of writing.
    """

    def __init__(self, problems: Problems, *, what: str = "input", writes: bool = True) -> None:
        self.problems = problems
        self.what = what
        self.writes = writes
        super().__init__(self.summary())

    def summary(self) -> str:
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        return f"{self.what} refused: {count} {noun}" + ("; nothing was written" if self.writes else "")


class SqlFileError(LedgerError):
    """A .sql file of the library is malformed (named with file and line): a packaging or
    editing mistake, found when the statements are first loaded."""


class NotInitialized(LedgerError):
    """The database has no scoreledger schema yet (or an older one)."""


class DatabaseUnavailable(LedgerError):
    """The database could not be reached or opened."""


class StoreError(LedgerError):
    """The database refused an operation for a reason not covered by a narrower type."""


class ImmutableEventError(StoreError):
    """Something tried to change or delete a recorded event; the database refused it."""


class RetroactiveChangeRefused(LedgerError):
    """A schedule version dated before today was given without `retroactive`."""


class UnknownScheduleVersion(LedgerError):
    """A date was asked about for which no schedule version is in force."""


class JournalBroken(LedgerError):
    """`verify` found the journal altered: `place` names the first broken batch or event."""

    def __init__(self, place: object) -> None:
        self.place = place
        super().__init__(f"journal broken: {place}")


class UnknownLedger(LedgerError):
    """A ledger name was read that nothing was ever recorded in (a typo, most likely)."""

    def __init__(self, ledger: str, existing: list[str]) -> None:
        self.ledger = ledger
        self.existing = existing
        there = ", ".join(repr(name) for name in existing) if existing else "none yet (ingest actions or import a schedule first)"
        super().__init__(f"no ledger named {ledger!r} in this database; ledgers there: {there}")


class UnknownUser(LedgerError):
    """An audit asked for a user the ledger has never recorded an action of."""

    def __init__(self, ledger: str, user_id: int | str) -> None:
        self.ledger = ledger
        self.user_id = user_id
        super().__init__(f"user {user_id} has no recorded actions in ledger {ledger!r}")
