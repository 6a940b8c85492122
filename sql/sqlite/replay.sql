-- SQLite forms of replay statements (see sql/replay.sql).

-- name: fill_replay_days
-- Every day with an action of the ledger within the given days, found one index lookup per
-- day (the next day after the last one found), so far-apart days cost nothing between them.
INSERT INTO replay_days (day, version_seq, whole)
WITH RECURSIVE
    series(day) AS (
        SELECT (SELECT a.day FROM actions a WHERE a.ledger_id = :ledger_id AND a.day >= :from_day ORDER BY a.day LIMIT 1)
        UNION ALL
        SELECT (SELECT a.day FROM actions a WHERE a.ledger_id = :ledger_id AND a.day > series.day ORDER BY a.day LIMIT 1)
        FROM series WHERE series.day < :to_day
    )
SELECT day, NULL, 1 FROM series WHERE day IS NOT NULL AND day <= :to_day

-- name: attribute_as_text
-- The SQLite form of the fragment in sql/postgresql/replay.sql. SQLite's -> and ->> read a
-- plain text operand as a JSON path ('a.b' is the key b inside a), so the attribute is
-- named by a quoted path, '$."a.b"', which is the key "a.b" itself, as PostgreSQL reads
-- it. A quoted path has no escape for a double quote: Rule refuses such names (ledger/domain.py).
CAST(
    CASE CAST(a.attributes_json -> ('$."' || r.by_attribute || '"') AS TEXT)
        WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
        ELSE a.attributes_json ->> ('$."' || r.by_attribute || '"')
    END AS TEXT)
