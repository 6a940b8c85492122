"""Named SQL statements kept in .sql files under sql/, aiosql-style.

A file holds one or more statements, each introduced by a `-- name: NAME` line and using
`:named` parameters, so it runs as-is in psql or sqlite3 once the parameters are set.
A dialect folder (sql/postgresql/, sql/sqlite/) overrides a statement of the same name in
the common folder: the most specific one wins. A line `-- include: NAME` stands for named
text NAME (a fragment that several statements share, such as a pricing expression), looked
up the same way, so the one piece of logic is written once.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from sqlalchemy import TextClause, text

_NAME = re.compile(r"^--\s*name:\s*(?P<name>[\w.-]+)\s*$", re.MULTILINE)
_INCLUDE = re.compile(r"^(?P<indent>[ \t]*)--\s*include:\s*(?P<name>[\w.-]+)\s*$", re.MULTILINE)


def _parse(body: str) -> dict[str, str]:
    statements: dict[str, str] = {}
    matches = list(_NAME.finditer(body))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(body)
        statement = body[match.end() : end].strip()
        statements[match["name"]] = statement.rstrip(";").strip()
    return statements


@cache
def _statements(package: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in sorted(resources.files(package).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            found.update(_parse(entry.read_text(encoding="utf-8")))
    return found


@cache
def statement_text(name: str, dialect: str) -> str:
    """The SQL of statement `name` for `dialect`, dialect override first, with its
    `-- include:` lines replaced by the named fragments (indented as the line was)."""
    for package in (f"ledger.sql.{dialect}", "ledger.sql"):
        try:
            statements = _statements(package)
        except ModuleNotFoundError:
            continue
        if name in statements:
            return _INCLUDE.sub(lambda line: _indented(statement_text(line["name"], dialect), line["indent"]), statements[name])
    raise KeyError(f"no SQL statement named {name!r} for {dialect}")


def _indented(fragment: str, indent: str) -> str:
    return "\n".join(indent + line if line else line for line in fragment.splitlines())


def statement(name: str, dialect: str) -> TextClause:
    """Statement `name` as a SQLAlchemy text clause with bound parameters."""
    return text(statement_text(name, dialect))
