-- Replay: pricing each action at the schedule version in force on its UTC day.
--
-- A run works through scratch tables (temporary, one connection's own):
--   replay_versions  the versions that count (known by the moment asked about), one per effective_from
--                    (the one recorded last wins a tie);
--   replay_days      each day to price with the version in force on it; `whole` = 1 when
--                    every action of that day is priced, 0 when only replay_pairs are;
--   replay_pairs     (user, day) pairs to price on days that are not whole;
--   replay_priced    the result: points per (user, day).
-- Mapping each *day* to its version (a few hundred rows) before touching actions keeps the
-- big join an equality hash join instead of a range join of actions against versions.
-- Dialect overrides: sql/postgresql/replay.sql, sql/sqlite/replay.sql.

-- name: create_replay_versions
CREATE TEMP TABLE IF NOT EXISTS replay_versions (
    version_seq BIGINT NOT NULL,
    effective_from DATE NOT NULL
)

-- name: create_replay_days
CREATE TEMP TABLE IF NOT EXISTS replay_days (
    day DATE PRIMARY KEY,
    version_seq BIGINT,
    whole INTEGER NOT NULL
)

-- name: create_replay_pairs
CREATE TEMP TABLE IF NOT EXISTS replay_pairs (
    user_id BIGINT NOT NULL,
    day DATE NOT NULL
)

-- name: create_replay_priced
CREATE TEMP TABLE IF NOT EXISTS replay_priced (
    user_id BIGINT NOT NULL,
    day DATE NOT NULL,
    points BIGINT NOT NULL
)

-- name: clear_replay_versions
DELETE FROM replay_versions

-- name: clear_replay_days
DELETE FROM replay_days

-- name: clear_replay_pairs
DELETE FROM replay_pairs

-- name: clear_replay_priced
DELETE FROM replay_priced

-- name: fill_replay_versions
-- Every effective date's winning version, as known at the given moment.
INSERT INTO replay_versions (version_seq, effective_from)
SELECT MAX(v.seq), v.effective_from
FROM schedule_versions v
WHERE v.ledger = :ledger AND v.recorded_at <= :known_at
GROUP BY v.effective_from

-- name: fill_replay_versions_pinned
-- One version for all of history: the one in force on the given day. This is how a naive
-- recalculation prices, at "today's values"; the ledger only uses it to show the drift.
INSERT INTO replay_versions (version_seq, effective_from)
SELECT v.seq, '0001-01-01'
FROM schedule_versions v
WHERE v.ledger = :ledger AND v.recorded_at <= :known_at AND v.effective_from <= :values_of
ORDER BY v.effective_from DESC, v.seq DESC
LIMIT 1

-- name: fill_replay_pairs_of_new_actions
-- The (user, day) pairs that actions recorded after the given seq touch, on days not already
-- repriced whole.
INSERT INTO replay_pairs (user_id, day)
SELECT DISTINCT a.user_id, a.day
FROM actions a
WHERE a.seq > :after_seq AND a.ledger = :ledger
  AND NOT EXISTS (SELECT 1 FROM replay_days d WHERE d.day = a.day)

-- name: fill_replay_days_of_pairs
INSERT INTO replay_days (day, version_seq, whole)
SELECT DISTINCT p.day, CAST(NULL AS BIGINT), 0
FROM replay_pairs p
WHERE NOT EXISTS (SELECT 1 FROM replay_days d WHERE d.day = p.day)

-- name: assign_versions_to_days
-- A day before the first version keeps NULL: it earns nothing.
UPDATE replay_days
SET version_seq = (
    SELECT r.version_seq FROM replay_versions r
    WHERE r.effective_from <= replay_days.day
    ORDER BY r.effective_from DESC
    LIMIT 1
)

-- name: price
-- Points per (user, day): per event for plain and `by` rules, per (user, day, action)
-- bucket for `per` rules (floor(counted quantity / per) * value). An event below the rule's
-- min_quantity earns nothing and does not count towards a bucket. No rule (or no version
-- yet): 0 points, but the (user, day) still gets its row.
-- The same pricing, event by event, is in `audit_user` (sql/postgresql/audit.sql,
-- sql/sqlite/audit.sql): keep them in step.
INSERT INTO replay_priced (user_id, day, points)
SELECT bucket.user_id, bucket.day, SUM(bucket.points)
FROM (
    SELECT
        e.user_id,
        e.day,
        CASE
            WHEN r.per IS NULL THEN SUM(
                CASE
                    WHEN r.action IS NULL OR e.quantity < COALESCE(r.min_quantity, 0) THEN 0
                    WHEN r.by_attribute IS NOT NULL THEN COALESCE(p.points, 0) * e.quantity
                    ELSE r.value * e.quantity
                END)
            ELSE (CAST(SUM(
                CASE WHEN e.quantity < COALESCE(r.min_quantity, 0) THEN 0 ELSE e.quantity END
            ) AS BIGINT) / r.per) * r.value
        END AS points
    FROM (
        SELECT a.user_id, a.day, a.action, a.quantity, a.attributes_json, d.version_seq
        FROM replay_days d
        JOIN replay_actions a ON a.ledger = :ledger AND a.day = d.day
        WHERE d.whole = 1 AND a.recorded_at <= :known_at
        UNION ALL
        SELECT a.user_id, a.day, a.action, a.quantity, a.attributes_json, d.version_seq
        -- CROSS JOIN: SQLite keeps the few pairs as the outer loop and looks each one up in
        -- the (ledger, user_id, day) index; PostgreSQL plans it as any join.
        FROM replay_pairs s
        CROSS JOIN replay_actions a
        JOIN replay_days d ON d.day = s.day
        WHERE a.ledger = :ledger AND a.user_id = s.user_id AND a.day = s.day AND a.recorded_at <= :known_at
    ) e
    LEFT JOIN schedule_rules r ON r.version_seq = e.version_seq AND r.action = e.action
    LEFT JOIN schedule_rule_points p
        ON p.version_seq = r.version_seq AND p.action = r.action
        -- An attribute is compared as text: 4 and "4" both match "4"; true matches "true".
        AND p.attribute_value = CASE WHEN r.by_attribute IS NOT NULL THEN CAST(
            CASE CAST(e.attributes_json -> r.by_attribute AS TEXT)
                WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
                ELSE e.attributes_json ->> r.by_attribute
            END AS TEXT) END
    GROUP BY e.user_id, e.day, e.action, r.action, r.per, r.value
) bucket
GROUP BY bucket.user_id, bucket.day

-- name: sum_replay_priced
SELECT user_id, SUM(points) AS points
FROM replay_priced
GROUP BY user_id
ORDER BY user_id

-- name: journal_through_seq
-- Everything up to this sequence number is committed (writers commit in journal order).
SELECT COALESCE(MAX(last_seq), 0) FROM batches

-- name: projection_through_seq
SELECT through_seq FROM projection_state WHERE ledger = :ledger

-- name: earliest_new_version_day
SELECT MIN(effective_from) FROM schedule_versions WHERE seq > :after_seq AND ledger = :ledger

-- name: has_new_events
SELECT
    EXISTS (SELECT 1 FROM actions WHERE seq > :after_seq AND ledger = :ledger)
    OR EXISTS (SELECT 1 FROM schedule_versions WHERE seq > :after_seq AND ledger = :ledger)

-- name: delete_daily_scores_of_ledger
DELETE FROM daily_scores WHERE ledger = :ledger

-- name: delete_user_totals_of_ledger
DELETE FROM user_totals WHERE ledger = :ledger

-- name: delete_daily_scores_of_whole_days
DELETE FROM daily_scores
WHERE ledger = :ledger AND day IN (SELECT day FROM replay_days WHERE whole = 1)

-- name: delete_daily_scores_of_pairs
-- Kept apart from whole days (no OR) so each delete can use an index.
DELETE FROM daily_scores
WHERE ledger = :ledger
  AND (user_id, day) IN (SELECT s.user_id, s.day FROM replay_pairs s)

-- name: insert_daily_scores
INSERT INTO daily_scores (ledger, user_id, day, points)
SELECT :ledger, user_id, day, points FROM replay_priced

-- name: add_user_totals_changes
-- Before the daily rows in scope are replaced: each touched user's total moves by (new
-- points in scope - old points in scope), so totals never re-read a user's whole history.
INSERT INTO user_totals (ledger, user_id, points)
SELECT :ledger, change.user_id, SUM(change.points)
FROM (
    SELECT user_id, points FROM replay_priced
    UNION ALL
    SELECT d.user_id, -d.points FROM daily_scores d
    WHERE d.ledger = :ledger AND d.day IN (SELECT day FROM replay_days WHERE whole = 1)
    UNION ALL
    SELECT d.user_id, -d.points FROM replay_pairs s
    JOIN daily_scores d ON d.ledger = :ledger AND d.user_id = s.user_id AND d.day = s.day
) change
GROUP BY change.user_id
ON CONFLICT (ledger, user_id) DO UPDATE SET points = user_totals.points + excluded.points

-- name: save_projection_state
INSERT INTO projection_state (ledger, through_seq, updated_at, rebuilt_at)
VALUES (:ledger, :through_seq, :now, :rebuilt_at)
ON CONFLICT (ledger) DO UPDATE SET
    through_seq = excluded.through_seq,
    updated_at = excluded.updated_at,
    rebuilt_at = COALESCE(excluded.rebuilt_at, projection_state.rebuilt_at)

-- name: projected_points
-- Points per user from the projections: all of history from user_totals, a day range
-- from daily_scores (the constant whole_history parameter picks the branch).
SELECT user_id, points
FROM (
    SELECT user_id, points FROM user_totals
    WHERE ledger = :ledger AND :whole_history = 1
    UNION ALL
    SELECT user_id, SUM(points) AS points FROM daily_scores
    WHERE ledger = :ledger AND :whole_history = 0 AND day >= :from_day AND day <= :to_day
    GROUP BY user_id
) totals
ORDER BY user_id

-- name: daily_points
SELECT user_id, day, points FROM daily_scores WHERE ledger = :ledger ORDER BY user_id, day
