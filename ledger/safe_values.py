"""Checks that an input value stays storable and readable on both backends, for good.

A value that one backend stores and the other refuses, or that is stored in a form JSON
cannot read back (Infinity, NUL, a lone surrogate), breaks every later read of the ledger,
so the importers and the domain models refuse it up front with one readable reason.
"""

from __future__ import annotations

import math
from typing import Any

# Attributes are at most this many bytes of canonical JSON (UTF-8): PostgreSQL's B-tree
# entries hold at most about 2.7 KB, and the index of a user's history carries the source
# key (up to 800 bytes), the action name (up to 400) and the attributes together.
MAX_ATTRIBUTES_BYTES = 1024
# Attributes nest at most this many objects and arrays deep, the attributes object included:
# deeper JSON makes parsers recurse until they fail.
MAX_ATTRIBUTE_DEPTH = 32


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored as text on every backend, or None."""
    if "\x00" in text:
        # PostgreSQL text and jsonb cannot hold NUL.
        return "contains a NUL character"
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Bytes that were not UTF-8 arrive as lone surrogates (surrogateescape), and so does
        # a JSON escape such as "\ud800": neither can be encoded to store.
        return "is not valid UTF-8 text (invalid bytes or a lone surrogate)"
    return None


def json_problem(value: Any, depth: int = 0) -> str | None:
    """Why the parsed JSON `value` cannot be stored as JSON on every backend, or None:
    a number that is not finite, text that `text_problem` refuses (keys included), or
    nesting deeper than MAX_ATTRIBUTE_DEPTH (the walk stops there, so it never recurses deeper)."""
    if depth >= MAX_ATTRIBUTE_DEPTH and isinstance(value, dict | list | tuple):
        return f"nests deeper than {MAX_ATTRIBUTE_DEPTH} levels"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"holds a number JSON cannot store ({value})"
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"has a key that is not text: {key!r}"
            problem = text_problem(key)
            if problem:
                return f"has a key that {problem}"
            problem = json_problem(item, depth + 1)
            if problem:
                return problem
        return None
    if isinstance(value, list | tuple):
        for item in value:
            problem = json_problem(item, depth + 1)
            if problem:
                return problem
        return None
    if value is None or isinstance(value, bool | int):
        return None
    return f"holds a value that is not JSON: {type(value).__name__}"


def attributes_size_problem(canonical: str) -> str | None:
    """Why canonical attributes text is too large to store, or None."""
    size = len(canonical.encode("utf-8"))
    if size > MAX_ATTRIBUTES_BYTES:
        return f"is {size} bytes as JSON; at most {MAX_ATTRIBUTES_BYTES} are stored"
    return None
