-- PostgreSQL forms of replay statements (see sql/replay.sql).

-- name: scratch_table_lifetime
-- Scratch tables drop themselves at commit, so a pooled connection never carries a big one around.
ON COMMIT DROP

-- name: fill_replay_days
-- Every day within the given days on which the ledger has an action, or books a correction
-- or an adjustment: one index lookup per day per table (the next day after the last one
-- found), so far-apart days cost nothing between them.
INSERT INTO replay_days (day, version_seq, whole)
WITH RECURSIVE
    action_days(day) AS (
        SELECT (SELECT a.day FROM actions a WHERE a.ledger_id = :ledger_id AND a.day >= CAST(:from_day AS date) ORDER BY a.day LIMIT 1)
        UNION ALL
        SELECT (SELECT a.day FROM actions a WHERE a.ledger_id = :ledger_id AND a.day > action_days.day ORDER BY a.day LIMIT 1)
        FROM action_days WHERE action_days.day < CAST(:to_day AS date)
    ),
    correction_days(day) AS (
        SELECT (SELECT c.day FROM corrections c WHERE c.ledger_id = :ledger_id AND c.day >= CAST(:from_day AS date) ORDER BY c.day LIMIT 1)
        UNION ALL
        SELECT (SELECT c.day FROM corrections c WHERE c.ledger_id = :ledger_id AND c.day > correction_days.day ORDER BY c.day LIMIT 1)
        FROM correction_days WHERE correction_days.day < CAST(:to_day AS date)
    ),
    adjustment_days(day) AS (
        SELECT (SELECT j.day FROM adjustments j WHERE j.ledger_id = :ledger_id AND j.day >= CAST(:from_day AS date) ORDER BY j.day LIMIT 1)
        UNION ALL
        SELECT (SELECT j.day FROM adjustments j WHERE j.ledger_id = :ledger_id AND j.day > adjustment_days.day ORDER BY j.day LIMIT 1)
        FROM adjustment_days WHERE adjustment_days.day < CAST(:to_day AS date)
    )
SELECT day, CAST(NULL AS BIGINT), 1
FROM (SELECT day FROM action_days UNION SELECT day FROM correction_days UNION SELECT day FROM adjustment_days) event_days
WHERE day IS NOT NULL AND day <= CAST(:to_day AS date)

-- name: drop_replay_rebuilt
-- The scratch tables of a full rebuild in parts: its daily rows, period rows and year pieces.
DROP TABLE IF EXISTS replay_rebuilt, replay_rebuilt_periods, replay_rebuilt_year_pieces

-- name: into_first_part
-- A fragment: the head of a full rebuild's pricing in the rebuilding transaction, into the
-- table of the first part (ledger/store/projection_parts.py), by its name: the rebuilding
-- transaction never touches the other parts' tables, which their own sessions key meanwhile.
INSERT INTO replay_rebuilt_1 (ledger_id, day, user_id, points)
SELECT CAST(:ledger_id AS INTEGER), x.day, x.user_id, CAST(SUM(x.points) AS BIGINT)

-- name: attribute_as_text
-- A fragment of pricing (`bucket_points`, sql/replay.sql) and the audit (`audit_by_points`):
-- the value of the event `a`'s attribute that its rule `r` prices `by`, as text. An attribute
-- is compared as text: 4 and "4" both match "4"; true matches "true".
CAST(
    CASE CAST(a.attributes_json -> r.by_attribute AS TEXT)
        WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
        ELSE a.attributes_json ->> r.by_attribute
    END AS TEXT)

-- name: delete_daily_scores_of_pairs
-- A join rather than IN: the planner then looks each pair up in the key, where IN's estimate
-- led it to hash the pairs and read every daily row of the ledger.
DELETE FROM daily_scores d
USING replay_pairs s
WHERE d.ledger_id = :ledger_id AND d.day = s.day AND d.user_id = s.user_id
