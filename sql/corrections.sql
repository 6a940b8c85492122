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
-- include: scratch_table_lifetime

-- name: create_replay_members
CREATE TEMP TABLE IF NOT EXISTS replay_members (
    user_id BIGINT NOT NULL,
    day DATE NOT NULL
)
-- include: scratch_table_lifetime

-- name: create_replay_overlay
CREATE TEMP TABLE IF NOT EXISTS replay_overlay (
    user_id BIGINT NOT NULL,
    day DATE NOT NULL,
    points BIGINT NOT NULL
)
-- include: scratch_table_lifetime

-- name: create_replay_shifted
CREATE TEMP TABLE IF NOT EXISTS replay_shifted (
    user_id BIGINT NOT NULL,
    day DATE NOT NULL
)
-- include: scratch_table_lifetime

-- name: clear_replay_shifted
DELETE FROM replay_shifted

-- name: clear_replay_user_targets
DELETE FROM replay_user_targets

-- name: clear_replay_members
DELETE FROM replay_members

-- name: clear_replay_overlay
DELETE FROM replay_overlay

-- name: insert_replay_user_target
INSERT INTO replay_user_targets (user_id, target) VALUES (:user_id, :target)

-- name: fill_replay_pairs_of_new_adjustments
-- NOT IN against replay_pairs as in `fill_replay_pairs_of_new_corrections`.
INSERT INTO replay_pairs (user_id, day)
SELECT DISTINCT j.user_id, j.day
FROM adjustments j
WHERE j.seq > :after_seq AND j.ledger_id = :ledger_id AND j.kind IN ('manual', 'imported')
  AND NOT EXISTS (SELECT 1 FROM replay_days d WHERE d.day = j.day)
  AND (j.user_id, j.day) NOT IN (SELECT p.user_id, p.day FROM replay_pairs p)

-- name: fill_replay_pairs_of_new_corrections
-- The booking day of each new correction, and of every correction in a `per` bucket (user,
-- action day, action) that a new correction or a new action touches: such a bucket's later
-- deltas depend on what came before, where a plain or `by` rule prices each correction on its
-- own. Any action with a `per` rule in some version counts as one (`per_actions`).
-- The buckets' corrections are found first (MATERIALIZED), then tested against the scope: with
-- the tests in the join, PostgreSQL applied them to every correction of the ledger before
-- hashing it, instead of looking up the touched buckets' few in their index.
-- Uncorrelated NOT IN, hashed once (as in fill_replay_members): PostgreSQL planned a correlated
-- NOT EXISTS, replay_pairs not yet analyzed, as a scan of every new action's pair per correction.
INSERT INTO replay_pairs (user_id, day)
WITH found AS MATERIALIZED (
    SELECT n.user_id, n.day FROM corrections n
    WHERE n.seq > :after_seq AND n.ledger_id = :ledger_id
    UNION ALL
    SELECT c.user_id, c.day
    FROM (
        SELECT n.user_id, n.action_day AS day, n.action FROM corrections n
        WHERE n.seq > :after_seq AND n.ledger_id = :ledger_id
        UNION
        SELECT a.user_id, a.day, a.action FROM actions a
        WHERE a.seq > :after_seq AND a.ledger_id = :ledger_id
    ) touched
    JOIN corrections c
      ON c.ledger_id = :ledger_id AND c.user_id = touched.user_id AND c.action_day = touched.day AND c.action = touched.action
    WHERE touched.action IN (
        -- include: per_actions
    )
)
SELECT DISTINCT f.user_id, f.day
FROM found f
WHERE NOT EXISTS (SELECT 1 FROM replay_days d WHERE d.day = f.day)
  AND (f.user_id, f.day) NOT IN (SELECT p.user_id, p.day FROM replay_pairs p)

-- name: fill_replay_pairs_of_new_merges
-- Every projected day of a user merged since: its rows move to its target.
INSERT INTO replay_pairs (user_id, day)
SELECT DISTINCT s.user_id, s.day
FROM daily_scores s
WHERE s.ledger_id = :ledger_id
  AND s.user_id IN (SELECT m.source_user FROM merges m WHERE m.seq > :after_seq AND m.ledger_id = :ledger_id)
  AND NOT EXISTS (SELECT 1 FROM replay_days d WHERE d.day = s.day)
  AND NOT EXISTS (SELECT 1 FROM replay_pairs p WHERE p.user_id = s.user_id AND p.day = s.day)

-- name: fill_replay_pairs_of_targets
-- A pair of a merged user needs its target's pair on the same day, where its points go.
INSERT INTO replay_pairs (user_id, day)
SELECT DISTINCT t.target, p.day
FROM replay_pairs p
JOIN replay_user_targets t ON t.user_id = p.user_id
WHERE NOT EXISTS (SELECT 1 FROM replay_pairs q WHERE q.user_id = t.target AND q.day = p.day)

-- name: fill_replay_shifted
-- The pairs of an incremental run whose daily rows move by what the corrections, adjustments
-- and merges recorded since change, without their actions being priced again
-- (ledger/replay.py `_update_scope`): those whose user's final target has no new action of
-- its own or of a user merged into it on that day. A target's pair and the pairs of the users
-- merged into it are shifted alike, so a pair's points are either all moved or all priced.
INSERT INTO replay_shifted (user_id, day)
SELECT p.user_id, p.day
FROM replay_pairs p
LEFT JOIN replay_user_targets pt ON pt.user_id = p.user_id
WHERE (COALESCE(pt.target, p.user_id), p.day) NOT IN (
    SELECT COALESCE(t.target, a.user_id), a.day
    FROM actions a
    LEFT JOIN replay_user_targets t ON t.user_id = a.user_id
    WHERE a.ledger_id = :ledger_id AND a.seq > :after_seq
)

-- name: fill_replay_overlay_shifted
-- A shifted pair starts from its daily row (a merged user's goes to its target through
-- `price`) and gains the adjustments recorded since; the corrections' change follows
-- (`fill_replay_overlay_corrections` with shifted = 1, once with every correction and once,
-- negated, with those recorded before).
INSERT INTO replay_overlay (user_id, day, points)
SELECT d.user_id, d.day, d.points
FROM replay_shifted h
CROSS JOIN daily_scores d
WHERE d.ledger_id = :ledger_id AND d.day = h.day AND d.user_id = h.user_id
UNION ALL
SELECT j.user_id, j.day, j.points
FROM adjustments j
WHERE j.seq > :after_seq AND j.ledger_id = :ledger_id AND j.kind IN ('manual', 'imported')
  AND (j.user_id, j.day) IN (SELECT h.user_id, h.day FROM replay_shifted h)

-- name: fill_replay_members
-- Shifted pairs are left out, and so are the users merged into a shifted pair's user: their
-- actions are not priced again.
-- Uncorrelated NOT IN: both engines hash the shifted pairs once (SQLite scanned them for
-- every pair under a correlated NOT EXISTS).
INSERT INTO replay_members (user_id, day)
SELECT p.user_id, p.day FROM replay_pairs p
WHERE (p.user_id, p.day) NOT IN (SELECT h.user_id, h.day FROM replay_shifted h)
UNION
SELECT t.user_id, p.day FROM replay_pairs p JOIN replay_user_targets t ON t.target = p.user_id
WHERE (p.user_id, p.day) NOT IN (SELECT h.user_id, h.day FROM replay_shifted h)

-- name: has_new_corrections_of_any_kind
SELECT
    EXISTS (SELECT 1 FROM adjustments WHERE seq > :after_seq AND ledger_id = :ledger_id)
    OR EXISTS (SELECT 1 FROM corrections WHERE seq > :after_seq AND ledger_id = :ledger_id)
    OR EXISTS (SELECT 1 FROM merges WHERE seq > :after_seq AND ledger_id = :ledger_id)

-- name: has_new_merges
SELECT EXISTS (SELECT 1 FROM merges WHERE seq > :after_seq AND ledger_id = :ledger_id)

-- name: has_replay_shifted
SELECT EXISTS (SELECT 1 FROM replay_shifted)

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

-- name: create_replay_correction_buckets
CREATE TEMP TABLE IF NOT EXISTS replay_correction_buckets (
    user_id BIGINT NOT NULL,
    action_day DATE NOT NULL,
    action VARCHAR(100) NOT NULL,
    version_seq BIGINT,
    value BIGINT,
    per BIGINT,
    min_quantity BIGINT,
    by_attribute VARCHAR(100),
    first_counted BIGINT,
    gated INTEGER NOT NULL
)
-- include: scratch_table_lifetime

-- name: clear_replay_correction_buckets
DELETE FROM replay_correction_buckets

-- name: fill_replay_correction_buckets
-- The buckets (user, action day, action) with a correction (known by then, up to
-- `through_seq`) booked on a scoped day (`shifted` = 1: the buckets with an event recorded
-- after `after_seq`), each with the rule in force on its action's day and, for a `per` rule,
-- the counted quantity of its actions as first recorded (those a closed scoring period keeps
-- from earning count nothing), and whether such a period closes scoring on its action day
-- (`gated`): what `fill_replay_overlay_corrections` prices.
INSERT INTO replay_correction_buckets (user_id, action_day, action, version_seq, value, per, min_quantity, by_attribute, first_counted, gated)
SELECT b.user_id, b.action_day, b.action, r.version_seq, r.value, r.per, r.min_quantity, r.by_attribute,
    CASE WHEN r.per IS NOT NULL THEN (
        SELECT CAST(SUM(CASE WHEN a.quantity < COALESCE(r.min_quantity, 0) THEN 0 ELSE a.quantity END) AS BIGINT)
        FROM actions a
        WHERE a.ledger_id = :ledger_id AND a.day = b.action_day AND a.user_id = b.user_id AND a.action = b.action
          -- Every event known (`every_known` = 1): no test of recorded_at, which the user's
          -- history index does not carry, so the bucket's actions are read from it alone.
          AND (:every_known = 1 OR a.recorded_at <= :known_at) AND a.seq <= :through_seq
          -- Tested once for the statement (uncorrelated) before any action is.
          AND NOT (EXISTS (SELECT 1 FROM replay_closed) AND
            -- include: action_closed
          )
    ) END,
    CASE WHEN EXISTS (
        SELECT 1 FROM replay_closed g
        WHERE g.first_day <= b.action_day AND b.action_day <= g.last_day AND (g.off = 1 OR g.start_date > b.action_day)
    ) THEN 1 ELSE 0 END
FROM (
    -- Joins, not IN under OR, so that a few scoped pairs are looked up in the corrections'
    -- (ledger, day, user) index instead of every correction being scanned.
    SELECT s.user_id, s.action_day, s.action
    FROM replay_days d
    CROSS JOIN corrections s
    WHERE :shifted = 0 AND d.whole = 1 AND s.ledger_id = :ledger_id AND s.day = d.day
      AND s.recorded_at <= :known_at AND s.seq <= :through_seq
    UNION
    SELECT s.user_id, s.action_day, s.action
    FROM replay_members m
    CROSS JOIN corrections s
    WHERE :shifted = 0 AND s.ledger_id = :ledger_id AND s.day = m.day AND s.user_id = m.user_id
      AND s.recorded_at <= :known_at AND s.seq <= :through_seq
    UNION
    -- Shifted pairs: only the buckets that a correction or an action recorded since touches
    -- book otherwise than before; the statement below keeps what they book on shifted pairs.
    -- Of those, only buckets with a correction up to `through_seq` book anything: the pass
    -- over the corrections recorded before (through_seq = after_seq) skips the buckets that
    -- the new corrections are the first of, most of a batch of retractions.
    -- And in that pass only `per` buckets book anything (`fill_replay_overlay_corrections`
    -- takes a plain or `by` bucket's corrections recorded since, none then), so only they
    -- are looked up, as are only they for a new action.
    SELECT n.user_id, n.action_day, n.action
    FROM corrections n
    WHERE :shifted = 1 AND n.ledger_id = :ledger_id AND n.seq > :after_seq
      AND (n.seq <= :through_seq OR (n.action IN (
        -- include: per_actions
      ) AND EXISTS (
        SELECT 1 FROM corrections c
        WHERE c.ledger_id = :ledger_id AND c.user_id = n.user_id AND c.action_day = n.action_day AND c.action = n.action
          AND c.recorded_at <= :known_at AND c.seq <= :through_seq
      )))
    UNION
    SELECT a.user_id, a.day, a.action
    FROM actions a
    WHERE :shifted = 1 AND a.ledger_id = :ledger_id AND a.seq > :after_seq
      AND a.action IN (
        -- include: per_actions
      )
      AND EXISTS (
        SELECT 1 FROM corrections c
        WHERE c.ledger_id = :ledger_id AND c.user_id = a.user_id AND c.action_day = a.day AND c.action = a.action
          AND c.recorded_at <= :known_at AND c.seq <= :through_seq
      )
) b
-- Each version with the day the next one takes over: a range to join, where a subquery
-- ordering the versions for each bucket cost more than the rest of the statement.
LEFT JOIN (
    SELECT v.version_seq, v.effective_from, LEAD(v.effective_from) OVER (ORDER BY v.effective_from) AS next_from
    FROM replay_versions v
) v ON v.effective_from <= b.action_day AND (v.next_from IS NULL OR b.action_day < v.next_from)
LEFT JOIN schedule_rules r ON r.version_seq = v.version_seq AND r.action = b.action

-- name: fill_replay_overlay_corrections
-- What the corrections of replay_correction_buckets book on scoped (user, day)s, priced
-- set-based. A plain or `by` rule books the new state's points minus the old state's. A
-- `per` rule books, for each day the bucket is corrected on, the change in the bucket's
-- points: its counted quantity starts at first_counted, and each booking day adds its
-- corrections' change (a running sum in day order). `current_state` = 1: booked on the
-- action's own day instead (ledger/platform.py). Only corrections up to
-- `through_seq` count, their points times `sign`; `shifted` as for the buckets. The audit prices the same
-- lines in Python (ledger/overlay.py `correction_deltas`): keep them in step.
INSERT INTO replay_overlay (user_id, day, points)
WITH
-- Per bucket and booking day: the points of a plain or `by` rule, the change in counted
-- quantity of a `per` rule (an event below min_quantity, or a retracted state, counts nothing).
day_changes AS (
    SELECT a.user_id, a.action_day, a.action, a.day, r.per, r.value, r.first_counted, CAST(SUM(a.sign * (
        CASE
            WHEN r.value IS NULL OR a.quantity IS NULL OR a.quantity < COALESCE(r.min_quantity, 0) THEN 0
            WHEN r.per IS NOT NULL THEN a.quantity
            WHEN r.by_attribute IS NULL THEN r.value * a.quantity
            ELSE a.quantity * COALESCE((
                SELECT p.points FROM schedule_rule_points p
                WHERE p.version_seq = r.version_seq AND p.action = r.action
                  AND p.attribute_value =
                      -- include: attribute_as_text
            ), 0)
        END)) AS BIGINT) AS change
    FROM (
        SELECT t.user_id, t.action_day, t.action, t.day, t.sign, t.quantity,
            -- include: correction_attributes_json
            AS attributes_json
        FROM (
            -- Each correction as two states: the one it ends (counted negatively) and the one
            -- it begins; attributes only where a `by` rule reads them. A correction of an
            -- action that a closed scoring period keeps from earning counts in no state.
            SELECT c.user_id, c.action_day, c.action, c.day, side.sign,
                CASE
                    WHEN c.gated = 1 AND EXISTS (
                        SELECT 1 FROM actions a
                        WHERE a.ledger_id = :ledger_id AND a.source_key = c.source_key AND
                            -- include: action_closed
                    ) THEN NULL
                    WHEN side.sign = 1 THEN c.new_quantity
                    ELSE c.old_quantity
                END AS quantity,
                CASE WHEN c.by_attribute IS NULL THEN NULL WHEN side.sign = 1 THEN c.new_attributes ELSE c.old_attributes END AS attributes
            FROM (
                -- Each bucket's corrections. CROSS JOIN: SQLite keeps the buckets as the outer
                -- loop and looks each one up in the corrections' bucket index; PostgreSQL plans
                -- it as any join. A shifted pass needs, of a bucket without a `per` rule, only
                -- its corrections recorded since (each books on its own, and the pass over
                -- those recorded before, through_seq = after_seq, cancels the rest): those are
                -- found by seq, not by looking up every such bucket.
                -- include: bucket_correction_columns
                FROM replay_correction_buckets b
                CROSS JOIN corrections c
                WHERE (:shifted = 0 OR b.per IS NOT NULL)
                  AND c.ledger_id = :ledger_id AND c.user_id = b.user_id AND c.action_day = b.action_day
                  AND c.action = b.action AND c.recorded_at <= :known_at AND c.seq <= :through_seq
                UNION ALL
                -- include: bucket_correction_columns
                FROM corrections c
                JOIN replay_correction_buckets b ON b.user_id = c.user_id AND b.action_day = c.action_day AND b.action = c.action
                WHERE :shifted = 1 AND b.per IS NULL
                  AND c.ledger_id = :ledger_id AND c.seq > :after_seq AND c.seq <= :through_seq AND c.recorded_at <= :known_at
            ) c
            CROSS JOIN (SELECT -1 AS sign UNION ALL SELECT 1) side
        ) t
    ) a
    JOIN replay_correction_buckets r ON r.user_id = a.user_id AND r.action_day = a.action_day AND r.action = a.action
    GROUP BY a.user_id, a.action_day, a.action, a.day, r.per, r.value, r.first_counted
),
booked AS (
    SELECT g.user_id, CASE WHEN :current_state = 1 THEN g.action_day ELSE g.day END AS day,
        CASE
            WHEN g.per IS NULL THEN g.change
            ELSE ((COALESCE(g.first_counted, 0) + g.counted_through) / g.per
                  - (COALESCE(g.first_counted, 0) + g.counted_through - g.change) / g.per) * g.value
        END AS points
    FROM (
        SELECT c.*,
            CAST(SUM(c.change) OVER (PARTITION BY c.user_id, c.action_day, c.action ORDER BY c.day) AS BIGINT) AS counted_through
        FROM day_changes c
    ) g
)
SELECT k.user_id, k.day, CAST(:sign * SUM(k.points) AS BIGINT)
FROM booked k
WHERE (:shifted = 0 AND (
        k.day IN (SELECT d.day FROM replay_days d WHERE d.whole = 1)
        OR (k.user_id, k.day) IN (SELECT m.user_id, m.day FROM replay_members m)
    ))
   OR (:shifted = 1 AND (k.user_id, k.day) IN (SELECT h.user_id, h.day FROM replay_shifted h))
GROUP BY k.user_id, k.day

-- name: per_actions
-- A fragment: the actions that a `per` rule prices in some version of some ledger, a few.
SELECT r.action FROM schedule_rules r WHERE r.per IS NOT NULL

-- name: bucket_correction_columns
-- A fragment of `fill_replay_overlay_corrections`: a correction `c` of bucket `b` with what
-- pricing it needs from both.
SELECT b.gated, b.by_attribute, c.source_key, c.user_id, c.action_day, c.action, c.day,
    c.old_quantity, c.new_quantity, c.old_attributes, c.new_attributes

-- name: correction_attributes_json
-- A fragment of `fill_replay_overlay_corrections`: a corrected state's attributes as JSON, as
-- the replay_actions view reads an action's (SQLite reads JSON from text).
t.attributes

-- name: fill_replay_overlay_merged_actions
-- A full rebuild (ledger/rebuild.py): the actions of users merged into others on the given
-- days, priced as their own (`bucket_points`) into replay_overlay, whose rows go to their
-- targets (`booked_on_days`); the one pass over every action leaves these users out. An
-- action in a closed scoring period finds no rule (`gated_rule_join`): the few merged users'
-- actions are always tested, where the one pass tests them only in a gated ledger.
INSERT INTO replay_overlay (user_id, day, points)
SELECT bucket.user_id, bucket.day, CAST(SUM(bucket.points) AS BIGINT)
FROM (
    SELECT
        a.user_id,
        a.day,
        -- include: bucket_points
        AS points
    -- CROSS JOIN: SQLite keeps the few merged users as the outer loop and looks each one up
    -- in the (ledger, user_id, day, ...) index; PostgreSQL plans it as any join.
    FROM replay_user_targets t
    CROSS JOIN replay_actions a
    -- include: gated_rule_join
    WHERE a.ledger_id = :ledger_id AND a.user_id = t.user_id AND a.day >= :from_day AND a.day <= :to_day
    GROUP BY a.user_id, a.day, a.action
) bucket
GROUP BY bucket.user_id, bucket.day

-- name: booked_on_days
-- A fragment of a full rebuild's pricing (sql/replay.sql `days_priced_and_booked`): what is
-- booked on the days priced (replay_overlay: adjustments, correction deltas and merged users'
-- actions), a merged user's under its target.
SELECT o.day, COALESCE(t.target, o.user_id) AS user_id, o.points
FROM replay_overlay o
LEFT JOIN replay_user_targets t ON t.user_id = o.user_id

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
