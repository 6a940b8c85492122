-- SQLite forms of replay statements (see sql/replay.sql).

-- name: fill_replay_days
-- Every day from the ledger's first action day to its last, clipped to the given days.
INSERT INTO replay_days (day, version_seq, whole)
WITH RECURSIVE
    bounds AS (
        SELECT MAX(MIN(day), :from_day) AS first_day, MIN(MAX(day), :to_day) AS last_day
        FROM actions WHERE ledger_id = :ledger_id
    ),
    series(day) AS (
        SELECT first_day FROM bounds WHERE first_day <= last_day
        UNION ALL
        SELECT date(series.day, '+1 day') FROM series, bounds WHERE series.day < bounds.last_day
    )
SELECT day, NULL, 1 FROM series
