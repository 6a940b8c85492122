-- Recomputing the projections from the events and listing where the stored ones differ
-- (`scoreledger verify --projections`, ledger/verify_projections.py). The expected daily
-- points are priced into replay_priced first, exactly as a recalculation prices them.

-- name: projection_state_of
SELECT through_seq FROM projection_state WHERE ledger = :ledger

-- name: daily_differences
-- (user, day) rows whose stored points differ from the recomputed, or exist on one side only.
SELECT p.user_id, p.day, p.points AS expected, d.points AS stored
FROM replay_priced p
LEFT JOIN daily_scores d ON d.ledger_id = :ledger_id AND d.user_id = p.user_id AND d.day = p.day
WHERE d.points IS NULL OR d.points <> p.points
UNION ALL
SELECT d.user_id, d.day, NULL, d.points
FROM daily_scores d
WHERE d.ledger_id = :ledger_id
  AND NOT EXISTS (SELECT 1 FROM replay_priced p WHERE p.user_id = d.user_id AND p.day = d.day)
ORDER BY 1, 2

-- name: total_differences
WITH expected AS (
    SELECT user_id, SUM(points) AS points FROM replay_priced GROUP BY user_id
)
SELECT e.user_id, e.points AS expected, t.points AS stored
FROM expected e
LEFT JOIN user_totals t ON t.ledger_id = :ledger_id AND t.user_id = e.user_id
WHERE t.points IS NULL OR t.points <> e.points
UNION ALL
SELECT t.user_id, NULL, t.points
FROM user_totals t
WHERE t.ledger_id = :ledger_id AND NOT EXISTS (SELECT 1 FROM expected e WHERE e.user_id = t.user_id)
ORDER BY 1

-- name: period_differences
WITH summed AS (
    SELECT months, period_start, user_id, SUM(points) AS points FROM (
        -- include: periods_of_replay_priced
    ) x
    GROUP BY months, period_start, user_id
)
SELECT s.months, s.period_start, s.user_id, s.points AS expected, t.points AS stored
FROM summed s
LEFT JOIN period_totals t
  ON t.ledger_id = :ledger_id AND t.period_months = s.months AND t.period_start = s.period_start AND t.user_id = s.user_id
WHERE t.points IS NULL OR t.points <> s.points
UNION ALL
SELECT t.period_months, t.period_start, t.user_id, NULL, t.points
FROM period_totals t
WHERE t.ledger_id = :ledger_id AND NOT EXISTS (
    SELECT 1 FROM summed s WHERE s.months = t.period_months AND s.period_start = t.period_start AND s.user_id = t.user_id
)
ORDER BY 1, 2, 3
