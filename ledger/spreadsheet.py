"""CSV cells that a spreadsheet would run as formulas, made inert and back.

A cell starting with `=`, `+`, `-`, `@`, tab or carriage return is a formula to Excel,
LibreOffice and Google Sheets ("CSV injection"). Written CSV prefixes such a cell with `'`,
which spreadsheets show as text. Files the ledger reads back (schedule exports) must give the
same history, so a cell that already starts with `'` is prefixed too, and `restore` drops
exactly one leading `'`. Output nothing reads back (`--format csv` listings) uses `inert`.
"""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TEXT_MARK = "'"


def neutralise(text: str) -> str:
    """`text` safe to open in a spreadsheet, reversible with `restore`."""
    if text.startswith(FORMULA_START) or text.startswith(TEXT_MARK):
        return TEXT_MARK + text
    return text


def inert(text: str) -> str:
    """`text` safe to open in a spreadsheet, for output nothing reads back: numbers (`-5`)
    stay numbers, and a leading `'` needs no marking."""
    if text.startswith(FORMULA_START) and not _is_number(text):
        return TEXT_MARK + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def restore(text: str) -> str:
    """The text `neutralise` was given."""
    return text[1:] if text.startswith(TEXT_MARK) else text
