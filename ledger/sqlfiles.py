"""Named SQL statements kept in .sql files under sql/, aiosql-style, loaded strictly.

A file holds one or more statements, each introduced by a `-- name: NAME` line and using
`:named` parameters, so it runs as-is in psql or sqlite3 once the parameters are set.
A dialect folder (sql/postgresql/, sql/sqlite/) overrides a statement of the same name in
the common folder: the most specific one wins. A line `-- include: NAME` stands for named
text NAME (a fragment that several statements share, such as a pricing expression), looked
up the same way, so the one piece of logic is written once.

Every statement of a dialect is read and its includes resolved the first time any is asked
for, and a mistake in the files fails then, naming the file and line: a name defined twice
in one folder, an include of a name that does not exist or that includes itself (a cycle),
an empty statement, or text before a file's first `-- name:` line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from sqlalchemy import TextClause, text

from ledger.errors import SqlFileError

_NAME = re.compile(r"^--\s*name:\s*(?P<name>[\w.-]+)\s*$", re.MULTILINE)
_INCLUDE = re.compile(r"^(?P<indent>[ \t]*)--\s*include:\s*(?P<name>[\w.-]+)\s*$", re.MULTILINE)
COMMON_PACKAGE = "ledger.sql"
# A checkout run without installing (PYTHONPATH=.) keeps sql/ beside ledger/, and so does a
# second checkout run with another's editable install: its own files must win there.
_CHECKOUT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Named:
    """One named statement or fragment as written, and where."""

    name: str
    body: str
    file: str
    line: int  # of its `-- name:` line
    body_line: int  # of the first line of `body`

    def where(self, offset: int | None = None) -> str:
        """`file:line` of the name line, or of the line `offset` characters into the body."""
        if offset is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.body_line + self.body.count(chr(10), 0, offset)}"


def parse(body: str, file: str) -> list[Named]:
    """The named statements of one file's text, in order."""
    matches = list(_NAME.finditer(body))
    first = matches[0].start() if matches else len(body)
    for number, line in enumerate(body[:first].splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("--"):
            raise SqlFileError(f"{file}:{number}: SQL before the first `-- name:` line belongs to no statement")
    found = []
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(body)
        name_line = body.count("\n", 0, match.start()) + 1
        statement = body[match.end() : end]
        cleaned = statement.strip().rstrip(";").strip()
        if not cleaned:
            raise SqlFileError(f"{file}:{name_line}: statement {match['name']!r} is empty")
        body_line = body.count("\n", 0, match.end() + len(statement) - len(statement.lstrip())) + 1
        found.append(Named(match["name"], cleaned, file, name_line, body_line))
    return found


def read_folder(folder: Traversable, label: str) -> dict[str, Named]:
    """Every statement of the .sql files of `folder` (`label` names it in errors); a name
    defined twice in the folder is an error."""
    statements: dict[str, Named] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql"):
            continue
        for named in parse(entry.read_text(encoding="utf-8"), f"{label}/{entry.name}"):
            earlier = statements.get(named.name)
            if earlier is not None:
                raise SqlFileError(f"{named.where()}: statement {named.name!r} is defined twice (first at {earlier.where()})")
            statements[named.name] = named
    return statements


def resolve(folders: Iterable[dict[str, Named]]) -> dict[str, str]:
    """Every statement visible through `folders` (most specific last, overriding the ones
    before), its includes replaced; raises SqlFileError for a missing or cyclic include."""
    visible: dict[str, Named] = {}
    for folder in folders:
        visible.update(folder)
    resolved: dict[str, str] = {}

    def expand(named: Named, chain: tuple[Named, ...]) -> str:
        if named.name in resolved:
            return resolved[named.name]

        def replace(line: re.Match[str]) -> str:
            target = visible.get(line["name"])
            if target is None:
                raise SqlFileError(f"{named.where(line.start())}: includes {line['name']!r}, which no .sql file names")
            if target in chain or target is named:
                cycle = " -> ".join(f"{step.name} ({step.where()})" for step in (*chain, named, target))
                raise SqlFileError(f"{named.where(line.start())}: include cycle {cycle}")
            return _indented(expand(target, (*chain, named)), line["indent"])

        resolved[named.name] = _INCLUDE.sub(replace, named.body)
        return resolved[named.name]

    for named in visible.values():
        expand(named, ())
    return resolved


@cache
def catalogue(dialect: str) -> dict[str, str]:
    """Every statement for `dialect`, dialect overrides first, includes resolved."""
    common = sql_folder()
    if common is None:
        raise SqlFileError(f"no sql/ folder beside {_CHECKOUT / 'ledger'} and no installed {COMMON_PACKAGE}")
    folders = [read_folder(common, "sql")]
    specific = sql_folder(dialect)
    if specific is not None:
        folders.append(read_folder(specific, f"sql/{dialect}"))
    return resolve(folders)


def sql_folder(*parts: str) -> Traversable | None:
    """sql/ (or its subfolder `parts`) of the checkout the library runs from, else of the
    installed package (`ledger.sql`); None if there is no such folder."""
    if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "sql").is_dir():
        folder = _CHECKOUT.joinpath("sql", *parts)
        return folder if folder.is_dir() else None
    with suppress(ModuleNotFoundError):
        return resources.files(".".join((COMMON_PACKAGE, *parts)))
    return None


def statement_text(name: str, dialect: str) -> str:
    """The SQL of statement `name` for `dialect`, dialect override first, with its
    `-- include:` lines replaced by the named fragments (indented as the line was)."""
    statements = catalogue(dialect)
    if name not in statements:
        raise KeyError(f"no SQL statement named {name!r} for {dialect}")
    return statements[name]


def _indented(fragment: str, indent: str) -> str:
    return "\n".join(indent + line if line else line for line in fragment.splitlines())


def statement(name: str, dialect: str) -> TextClause:
    """Statement `name` as a SQLAlchemy text clause with bound parameters."""
    return text(statement_text(name, dialect))
