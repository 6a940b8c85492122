"""The extraction queries shipped in sql/discourse/, as text both transports run unchanged.

Each file is one query (named by a `-- name:` line, as every .sql file of the project) written
within Data Explorer's rules, so that an admin can paste it into Data Explorer as it is: no
`;`, parameters declared in a `-- [params]` header
(`-- TYPE :name = default`), paged by key (`WHERE key > :after ORDER BY key LIMIT :limit`),
never OFFSET. The same text runs over a database connection (`as_psycopg`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources.abc import Traversable

from ledger.errors import SqlFileError
from ledger.sqlfiles import sql_folder

# Data Explorer answers at most this many rows per call (newest core refuses more).
MAX_PAGE = 10_000
_PARAM_LINE = re.compile(r"^--\s*(?P<type>\w+)\s+:(?P<name>\w+)(?:\s*=\s*(?P<default>\S+))?\s*$")
_PLACEHOLDER = re.compile(r"(?<![:\w]):(?P<name>[A-Za-z_]\w*)")


@dataclass(frozen=True)
class Query:
    """One shipped query: its name (the file's stem), its text, and its declared parameters."""

    name: str
    text: str
    params: dict[str, str]

    @property
    def paged(self) -> bool:
        return {"after", "limit"} <= set(self.params)

    @property
    def reads_changes(self) -> bool:
        """It answers, given :changed_since, every row changed since then (a scoring query's
        with `scores`), and given 9999-12-31 every row as it is now."""
        return "changed_since" in self.params


def _declared(text: str) -> dict[str, str]:
    lines = text.splitlines()
    if "-- [params]" not in lines:
        return {}
    params = {}
    for line in lines[lines.index("-- [params]") + 1 :]:
        match = _PARAM_LINE.match(line.strip())
        if match is None:
            break
        params[match["name"]] = match["type"]
    return params


@cache
def load(name: str) -> Query:
    """The shipped query `name` (sql/discourse/NAME.sql)."""
    text = _folder().joinpath(f"{name}.sql").read_text(encoding="utf-8").strip()
    return Query(name, text, _declared(text))


def names() -> list[str]:
    """Every shipped query's name."""
    return sorted(entry.name[:-4] for entry in _folder().iterdir() if entry.name.endswith(".sql"))


def _folder() -> Traversable:
    folder = sql_folder("discourse")
    if folder is None:
        raise SqlFileError("the Discourse queries (sql/discourse/) are missing from this installation")
    return folder


def as_text_without_comments(text: str) -> str:
    """A query's text without its comment lines (the shipped queries comment whole lines only)."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def as_psycopg(text: str) -> str:
    """A query's text for psycopg: comments dropped, `%` doubled, `:name` as `%(name)s`."""
    return _PLACEHOLDER.sub(lambda m: f"%({m['name']})s", as_text_without_comments(text).replace("%", "%%"))
