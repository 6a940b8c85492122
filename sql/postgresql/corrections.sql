-- PostgreSQL forms of corrections statements (see sql/corrections.sql).

-- name: correction_attributes_json
CAST(t.attributes AS JSON)

-- name: fill_replay_pairs_of_new_merges
-- Every projected day of a user merged since: its rows move to its target. Its rows lie on
-- the days of its own events and of those of the users merged into it before (all of whom
-- now share its final target): their own indexes find those days, where looking the user up
-- in daily_scores, keyed by day first, would read every row of the ledger.
INSERT INTO replay_pairs (user_id, day)
SELECT DISTINCT s.user_id, s.day
FROM (
    SELECT n.source_user AS user_id, e.day
    FROM merges n
    JOIN replay_user_targets t ON t.user_id = n.source_user
    JOIN replay_user_targets u ON u.target = t.target
    -- LATERAL: each user looked up in its events' indexes (a join let the planner hash every action).
    CROSS JOIN LATERAL (
        SELECT a.day FROM actions a WHERE a.user_id = u.user_id AND a.ledger_id = :ledger_id
        UNION ALL
        SELECT c.day FROM corrections c WHERE c.ledger_id = :ledger_id AND c.user_id = u.user_id
        UNION ALL
        SELECT j.day FROM adjustments j WHERE j.user_id = u.user_id AND j.ledger_id = :ledger_id
    ) e
    WHERE n.seq > :after_seq AND n.ledger_id = :ledger_id
) c
JOIN daily_scores s ON s.ledger_id = :ledger_id AND s.day = c.day AND s.user_id = c.user_id
WHERE NOT EXISTS (SELECT 1 FROM replay_days d WHERE d.day = s.day)
  AND NOT EXISTS (SELECT 1 FROM replay_pairs p WHERE p.user_id = s.user_id AND p.day = s.day)

-- name: drop_period_totals_of_merged_users
-- A merged user's period rows (at 0 after the move), found by their keys: the periods of the
-- days its daily rows were moved from (its pairs, and every whole day), where looking the user
-- up in period_totals, keyed by period first, would read every row of the ledger. A join
-- rather than IN, so that each key is looked up (see `delete_daily_scores_of_pairs`).
DELETE FROM period_totals p
USING (
    SELECT DISTINCT m.months, CAST(date_trunc(m.unit, CAST(d.day AS timestamp)) AS date) AS period_start, d.user_id
    FROM (
        SELECT s.user_id, s.day FROM replay_pairs s JOIN replay_user_targets t ON t.user_id = s.user_id
        UNION
        SELECT t.user_id, d.day FROM replay_days d CROSS JOIN replay_user_targets t WHERE d.whole = 1
    ) d
    CROSS JOIN (VALUES (1, 'month'), (3, 'quarter'), (12, 'year')) m (months, unit)
) k
WHERE p.ledger_id = :ledger_id AND p.period_months = k.months AND p.period_start = k.period_start AND p.user_id = k.user_id
