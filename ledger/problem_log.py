"""Problems of refused input, kept in memory up to a bound and in a temporary file beyond it.

A file of ten million bad rows has ten million problems: every one of them must still be
reported (`--all-problems`, `--problems-file`), but holding them all would cost more memory
than the file itself, so past KEPT_IN_MEMORY they wait on disk.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from typing import IO, overload

from ledger.errors import InputProblem

KEPT_IN_MEMORY = 50_000


class ProblemLog:
    """An append-only list of problems whose first KEPT_IN_MEMORY are kept in memory."""

    def __init__(self, kept: int = KEPT_IN_MEMORY) -> None:
        self.kept = kept
        self.first: list[InputProblem] = []
        self.count = 0
        self._spilled: IO[str] | None = None

    def append(self, problem: InputProblem) -> None:
        self.count += 1
        if len(self.first) < self.kept:
            self.first.append(problem)
            return
        if self._spilled is None:
            self._spilled = tempfile.TemporaryFile("w+", encoding="utf-8", errors="surrogateescape")  # noqa: SIM115 - lives as long as the log
        self._spilled.write(json.dumps([problem.source, problem.line, problem.field, problem.reason]) + "\n")

    def extend(self, problems: list[InputProblem]) -> None:
        for problem in problems:
            self.append(problem)

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0

    def __iter__(self) -> Iterator[InputProblem]:
        yield from self.first
        if self._spilled is None:
            return
        self._spilled.flush()
        self._spilled.seek(0)
        for line in self._spilled:
            yield InputProblem(*json.loads(line))
        self._spilled.seek(0, 2)

    @overload
    def __getitem__(self, index: int) -> InputProblem: ...

    @overload
    def __getitem__(self, index: slice) -> list[InputProblem]: ...

    def __getitem__(self, index: int | slice) -> InputProblem | list[InputProblem]:
        """Problems by position among those kept in memory (the first KEPT_IN_MEMORY)."""
        return self.first[index]

    def as_reported(self) -> list[InputProblem] | ProblemLog:
        """A plain list when everything fits in memory, else this log."""
        return self.first if self._spilled is None else self

    def close(self) -> None:
        if self._spilled is not None:
            self._spilled.close()
            self._spilled = None


def reported(problems: ProblemLog | list[InputProblem]) -> list[InputProblem] | ProblemLog:
    """`problems` as InvalidInput carries them: a plain list when they fit in memory."""
    return problems.as_reported() if isinstance(problems, ProblemLog) else list(problems)
