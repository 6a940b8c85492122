"""The library's errors name parameters, in backticks (`from_day`); the CLI shows the
options that set them (--from). One table, so the library never speaks of flags."""

from __future__ import annotations

import re
from typing import overload

from ledger.errors import InputProblem, InvalidInput, LedgerError

# Parameter names the library's messages use -> the command-line words that set them.
PARAMETER_FLAGS = {
    "from_day": "--from",
    "to_day": "--to",
    "limit": "--limit",
    "ledger": "--ledger",
    "retroactive": "--retroactive",
    "timezone": "--timezone",
    # A call the library suggests -> the command that makes it.
    "recalc(full=True)": "`scoreledger recalc --full`",
    "explorer_query(without=...)": "`scoreledger discourse explorer-query --without PART`",
}
_NAMED = re.compile(r"`([^`\s]+)`")


def as_flags(text: str) -> str:
    """`text` with each backticked parameter name the CLI knows replaced by its option."""
    return _NAMED.sub(lambda named: PARAMETER_FLAGS.get(named[1], named[0]), text)


@overload
def in_cli_words(error: InvalidInput) -> InvalidInput: ...


@overload
def in_cli_words(error: LedgerError) -> LedgerError: ...


def in_cli_words(error: LedgerError) -> LedgerError:
    """`error` as the CLI shows it: the same error, parameters named by their options."""
    if isinstance(error, InvalidInput):
        problems = [
            InputProblem(as_flags(p.source), p.line, as_flags(p.field) if p.field else p.field, as_flags(p.reason)) for p in error.problems
        ]
        return InvalidInput(problems, what=as_flags(error.what), writes=error.writes)
    text = as_flags(str(error))
    return error if text == str(error) else LedgerError(text)
