-- SQLite forms of replay statements (see sql/replay.sql).

-- name: fill_replay_days
-- Every day from the ledger's first event day to its last, clipped to the given days.
INSERT INTO replay_days (day, version_seq, whole)
WITH RECURSIVE
    bounds AS (
        SELECT MAX(MIN(day), :from_day) AS first_day, MIN(MAX(day), :to_day) AS last_day
        FROM (
            -- include: ledger_event_days
        ) event_days
    ),
    series(day) AS (
        SELECT first_day FROM bounds WHERE first_day <= last_day
        UNION ALL
        SELECT date(series.day, '+1 day') FROM series, bounds WHERE series.day < bounds.last_day
    )
SELECT day, NULL, 1 FROM series

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
