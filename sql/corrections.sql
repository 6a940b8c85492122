-- Corrections in replay: adjustments, corrections of actions and merges of users (tables of
-- migration 0011), priced into the same (user, day) rows as actions (sql/replay.sql `price`).
--
-- Scratch tables (one connection's own, like replay.sql's):
--   replay_user_targets  each merged user's final target, as known at the moment asked about;
--   replay_members       the (user, day) pairs whose actions a recalculation prices beyond
--                        whole days: replay_pairs, plus every user merged into a pair's user;
--   replay_overlay       points booked on scoped (user, day)s by adjustments and corrections
--                        (filled by ledger/overlay.py).
-- A correction is booked on its own day but priced at the version of its action's day; a
-- merge moves points, not buckets: a merged user's actions are priced as its own, then
-- counted for the target.

-- name: create_replay_user_targets
CREATE TEMP TABLE IF NOT EXISTS replay_user_targets (
    user_id BIGINT PRIMARY KEY,
    target BIGINT NOT NULL
)

-- name: create_replay_members
CREATE TEMP TABLE IF NOT EXISTS replay_members (
    user_id BIGINT NOT NULL,
    day DATE NOT NULL
)

-- name: create_replay_overlay
CREATE TEMP TABLE IF NOT EXISTS replay_overlay (
    user_id BIGINT NOT NULL,
    day DATE NOT NULL,
    points BIGINT NOT NULL
)

-- name: clear_replay_user_targets
DELETE FROM replay_user_targets

-- name: clear_replay_members
DELETE FROM replay_members

-- name: clear_replay_overlay
DELETE FROM replay_overlay

-- name: insert_replay_user_target
INSERT INTO replay_user_targets (user_id, target) VALUES (:user_id, :target)

-- name: fill_replay_pairs_of_new_adjustments
INSERT INTO replay_pairs (user_id, day)
SELECT DISTINCT j.user_id, j.day
FROM adjustments j
WHERE j.seq > :after_seq AND j.ledger_id = :ledger_id AND j.kind IN ('manual', 'imported')
  AND NOT EXISTS (SELECT 1 FROM replay_days d WHERE d.day = j.day)
  AND NOT EXISTS (SELECT 1 FROM replay_pairs p WHERE p.user_id = j.user_id AND p.day = j.day)

-- name: fill_replay_pairs_of_new_corrections
-- The booking days of every correction in a bucket (user, action day, action) that a new
-- correction or a new action touches: a `per` bucket's later deltas depend on what came before.
INSERT INTO replay_pairs (user_id, day)
SELECT DISTINCT c.user_id, c.day
FROM (
    SELECT n.user_id, n.action_day AS day, n.action FROM corrections n
    WHERE n.seq > :after_seq AND n.ledger_id = :ledger_id
    UNION
    SELECT a.user_id, a.day, a.action FROM actions a
    WHERE a.seq > :after_seq AND a.ledger_id = :ledger_id
) touched
JOIN corrections c
  ON c.ledger_id = :ledger_id AND c.user_id = touched.user_id AND c.action_day = touched.day AND c.action = touched.action
WHERE NOT EXISTS (SELECT 1 FROM replay_days d WHERE d.day = c.day)
  AND NOT EXISTS (SELECT 1 FROM replay_pairs p WHERE p.user_id = c.user_id AND p.day = c.day)

-- name: fill_replay_pairs_of_new_merges
-- Every projected day of a user merged since: its rows move to its target.
INSERT INTO replay_pairs (user_id, day)
SELECT DISTINCT s.user_id, s.day
FROM daily_scores s
WHERE s.ledger_id = :ledger_id
  AND s.user_id IN (SELECT m.source_user FROM merges m WHERE m.seq > :after_seq AND m.ledger_id = :ledger_id)
  AND NOT EXISTS (SELECT 1 FROM replay_days d WHERE d.day = s.day)
  AND NOT EXISTS (SELECT 1 FROM replay_pairs p WHERE p.user_id = s.user_id AND p.day = s.day)

-- name: fill_replay_pairs_of_all_corrections
-- After a full rebuild priced the actions alone: every (user, day) a correction, an
-- adjustment or a merged user has, priced again with them (ledger/replay.py).
INSERT INTO replay_pairs (user_id, day)
SELECT user_id, day FROM corrections WHERE ledger_id = :ledger_id
UNION
SELECT user_id, day FROM adjustments WHERE ledger_id = :ledger_id AND kind IN ('manual', 'imported')
UNION
SELECT s.user_id, s.day FROM daily_scores s
WHERE s.ledger_id = :ledger_id AND s.user_id IN (SELECT user_id FROM replay_user_targets)

-- name: fill_replay_pairs_of_targets
-- A pair of a merged user needs its target's pair on the same day, where its points go.
INSERT INTO replay_pairs (user_id, day)
SELECT DISTINCT t.target, p.day
FROM replay_pairs p
JOIN replay_user_targets t ON t.user_id = p.user_id
WHERE NOT EXISTS (SELECT 1 FROM replay_pairs q WHERE q.user_id = t.target AND q.day = p.day)

-- name: fill_replay_members
INSERT INTO replay_members (user_id, day)
SELECT user_id, day FROM replay_pairs
UNION
SELECT t.user_id, p.day FROM replay_pairs p JOIN replay_user_targets t ON t.target = p.user_id

-- name: fill_replay_overlay_adjustments
-- Adjustments that count (not compensations) booked on scoped days.
INSERT INTO replay_overlay (user_id, day, points)
SELECT j.user_id, j.day, j.points
FROM adjustments j
WHERE j.ledger_id = :ledger_id AND j.recorded_at <= :known_at AND j.kind IN ('manual', 'imported')
  -- Uncorrelated IN, hashed once (see corrections_in_scope).
  AND (
    j.day IN (SELECT d.day FROM replay_days d WHERE d.whole = 1)
    OR (j.user_id, j.day) IN (SELECT m.user_id, m.day FROM replay_members m)
  )

-- name: corrections_in_scope
-- Every correction (known by then) of a bucket that has one booked on a scoped day, with the
-- rule in force on its action's day, for ledger/overlay.py to price.
SELECT c.user_id, c.action_day, c.action, c.day, c.seq, c.old_quantity, c.old_attributes,
       c.new_quantity, c.new_attributes, r.version_seq, r.value, r.per, r.min_quantity, r.by_attribute
FROM corrections c
LEFT JOIN schedule_rules r ON r.action = c.action AND r.version_seq = (
    SELECT v.version_seq FROM replay_versions v
    WHERE v.effective_from <= c.action_day
    ORDER BY v.effective_from DESC
    LIMIT 1
)
WHERE c.ledger_id = :ledger_id AND c.recorded_at <= :known_at
  AND EXISTS (
    SELECT 1 FROM corrections s
    WHERE s.ledger_id = c.ledger_id AND s.user_id = c.user_id AND s.action_day = c.action_day
      AND s.action = c.action AND s.recorded_at <= :known_at
      -- Uncorrelated IN, not EXISTS: both engines hash the scope once, where a correlated
      -- EXISTS under OR scanned replay_members (no index, no statistics) once per correction.
      AND (
        s.day IN (SELECT d.day FROM replay_days d WHERE d.whole = 1)
        OR (s.user_id, s.day) IN (SELECT m.user_id, m.day FROM replay_members m)
      )
  )
ORDER BY c.user_id, c.action_day, c.action, c.day, c.seq

-- name: price_from_rebuilt
-- `price` right after a full rebuild priced every action into daily_scores (each user's own,
-- before merges, a row for every (user, day) with actions): the scope's actions earn what
-- those rows hold, so they are read instead of priced again; plus the overlay, and a merged
-- user's points go to its target.
INSERT INTO replay_priced (user_id, day, points)
SELECT COALESCE(m.target, x.user_id), x.day, CAST(SUM(x.points) AS BIGINT)
FROM (
    SELECT d.user_id, d.day, d.points
    -- CROSS JOIN: SQLite keeps the pairs as the outer loop and looks each one up in the
    -- daily rows' key; PostgreSQL plans it as any join.
    FROM replay_members s
    CROSS JOIN daily_scores d
    WHERE d.ledger_id = :ledger_id AND d.day = s.day AND d.user_id = s.user_id
    UNION ALL
    SELECT o.user_id, o.day, o.points FROM replay_overlay o
) x
LEFT JOIN replay_user_targets m ON m.user_id = x.user_id
GROUP BY COALESCE(m.target, x.user_id), x.day

-- name: scoped_whole_days
SELECT day FROM replay_days WHERE whole = 1

-- name: scoped_members
SELECT user_id, day FROM replay_members

-- name: create_replay_correction_buckets
CREATE TEMP TABLE IF NOT EXISTS replay_correction_buckets (
    user_id BIGINT NOT NULL,
    day DATE NOT NULL,
    action VARCHAR(100) NOT NULL
)

-- name: clear_replay_correction_buckets
DELETE FROM replay_correction_buckets

-- name: insert_replay_correction_bucket
INSERT INTO replay_correction_buckets (user_id, day, action) VALUES (:user_id, :day, :action)

-- name: original_quantities
-- The quantities of the actions recorded (by then) in each listed bucket, as first recorded.
SELECT b.user_id, b.day, b.action, a.quantity
-- CROSS JOIN: SQLite keeps the few buckets as the outer loop and looks each one up in the
-- (ledger, day, user_id, action) index; PostgreSQL plans it as any join.
FROM replay_correction_buckets b
CROSS JOIN actions a
WHERE a.ledger_id = :ledger_id AND a.day = b.day AND a.user_id = b.user_id AND a.action = b.action
  AND a.recorded_at <= :known_at

-- name: by_points_of_versions
SELECT version_seq, action, attribute_value, points
FROM schedule_rule_points
WHERE version_seq IN :versions

-- name: insert_replay_overlay
INSERT INTO replay_overlay (user_id, day, points) VALUES (:user_id, :day, :points)

-- name: drop_totals_of_merged_users
-- A merged user's totals are its target's now: its rows (at 0 after the move) go.
DELETE FROM user_totals
WHERE ledger_id = :ledger_id AND user_id IN (SELECT user_id FROM replay_user_targets)

-- name: drop_period_totals_of_merged_users
DELETE FROM period_totals
WHERE ledger_id = :ledger_id AND user_id IN (SELECT user_id FROM replay_user_targets)

-- name: has_new_corrections
SELECT
    EXISTS (SELECT 1 FROM adjustments WHERE seq > :after_seq AND ledger = :ledger)
    OR EXISTS (SELECT 1 FROM corrections WHERE seq > :after_seq AND ledger = :ledger)
    OR EXISTS (SELECT 1 FROM merges WHERE seq > :after_seq AND ledger = :ledger)
