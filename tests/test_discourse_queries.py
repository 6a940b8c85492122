"""The shipped extraction queries keep Data Explorer's rules, so the same text runs there."""

from __future__ import annotations

import re

import pytest

from ledger.discourse import queries
from ledger.discourse.scorables import SCORABLES

NAMES = queries.names()


def test_every_scorable_has_a_query() -> None:
    assert {scorable.query_name for scorable in SCORABLES} | {"solution_answers"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_query_keeps_data_explorers_rules(name: str) -> None:
    query = queries.load(name)
    assert ";" not in query.text
    assert not re.search(r"\bOFFSET\b", query.text, re.IGNORECASE)
    assert query.text.splitlines()[0] == f"-- name: {name}"
    used = set(re.findall(r"(?<![:\w]):([a-z_]+)", "\n".join(line for line in query.text.splitlines() if not line.startswith("--"))))
    assert used == set(query.params), "every parameter used is declared, and only those"
    if name == "forum_shape":
        assert not query.params
        return
    if name == "data_explorer":
        # Every other query as a branch: each branch pages by key itself (checked above).
        assert {"scorable": "string", "after": "bigint", "limit": "int"}.items() <= query.params.items()
        return
    # Every query pages by key; the plan's stored-score queries also take their own bounds.
    assert {"after": "bigint", "limit": "int"}.items() <= query.params.items()
    assert "-- int :limit = 10000" in query.text
    body = query.text.upper()
    assert re.search(r"\w+\.\w*ID > :AFTER", body) and re.search(r"ORDER BY \w+\.(\w*ID|KEY)\s+LIMIT :LIMIT\s*$", body)
    if name == "users":
        # Every user, or those the forum updated since :changed_since.
        assert "U.UPDATED_AT >= :CHANGED_SINCE" in body and query.params["changed_since"] == "datetime"
    elif query.reads_changes:
        # Rows scoring now, or every row changed since :changed_since, with `scores`.
        assert "AS SCORES" in body and "AS CHANGED_AT" in body and query.params["changed_since"] == "datetime"


def test_psycopg_text_binds_named_parameters_only() -> None:
    text = queries.as_psycopg("-- [params]\n-- int :after = 0\nSELECT CAST(x AS int), '%a' FROM t WHERE id > :after AND y::text = 'b'")
    assert text == "SELECT CAST(x AS int), '%%a' FROM t WHERE id > %(after)s AND y::text = 'b'"
