-- SQLite forms of replay statements (see sql/replay.sql).

-- name: fill_replay_days
-- Every day within the given days on which the ledger has an action, or books a correction
-- or an adjustment: one index lookup per day per table (the next day after the last one
-- found), so far-apart days cost nothing between them.
INSERT INTO replay_days (day, version_seq, whole)
WITH RECURSIVE
    action_days(day) AS (
        SELECT (SELECT a.day FROM actions a WHERE a.ledger_id = :ledger_id AND a.day >= :from_day ORDER BY a.day LIMIT 1)
        UNION ALL
        SELECT (SELECT a.day FROM actions a WHERE a.ledger_id = :ledger_id AND a.day > action_days.day ORDER BY a.day LIMIT 1)
        FROM action_days WHERE action_days.day < :to_day
    ),
    correction_days(day) AS (
        SELECT (SELECT c.day FROM corrections c WHERE c.ledger_id = :ledger_id AND c.day >= :from_day ORDER BY c.day LIMIT 1)
        UNION ALL
        SELECT (SELECT c.day FROM corrections c WHERE c.ledger_id = :ledger_id AND c.day > correction_days.day ORDER BY c.day LIMIT 1)
        FROM correction_days WHERE correction_days.day < :to_day
    ),
    adjustment_days(day) AS (
        SELECT (SELECT j.day FROM adjustments j WHERE j.ledger_id = :ledger_id AND j.day >= :from_day ORDER BY j.day LIMIT 1)
        UNION ALL
        SELECT (SELECT j.day FROM adjustments j WHERE j.ledger_id = :ledger_id AND j.day > adjustment_days.day ORDER BY j.day LIMIT 1)
        FROM adjustment_days WHERE adjustment_days.day < :to_day
    )
SELECT day, NULL, 1
FROM (SELECT day FROM action_days UNION SELECT day FROM correction_days UNION SELECT day FROM adjustment_days) event_days
WHERE day IS NOT NULL AND day <= :to_day

-- name: attribute_as_text
-- The SQLite form of the fragment in sql/postgresql/replay.sql, giving the same text. SQLite's
-- -> and ->> read a plain text operand as a JSON path ('a.b' is the key b inside a), so the
-- attribute is named by a path of one quoted label, '$."a.b"', which is the key "a.b" itself,
-- as PostgreSQL reads it; json_quote spells the label as the stored JSON spells the key (a
-- backslash, tab or newline escaped). A quoted label cannot hold a double quote: Rule refuses
-- such names (ledger/domain.py). Text is read unquoted; any other value as the stored JSON
-- spells it (->> would turn 1e+20 or 0.30000000000000004 into an SQL number and respell it),
-- which is what PostgreSQL's ->> of json gives and what the Python pricing uses (overlay.py).
CAST(
    CASE json_type(a.attributes_json, '$.' || json_quote(r.by_attribute))
        WHEN 'text' THEN a.attributes_json ->> ('$.' || json_quote(r.by_attribute))
        WHEN 'null' THEN NULL
        ELSE a.attributes_json -> ('$.' || json_quote(r.by_attribute))
    END AS TEXT)
