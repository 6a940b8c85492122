-- Replay: pricing each action at the schedule version in force on its UTC day.
--
-- A run works through scratch tables (temporary, one connection's own):
--   replay_versions  the versions that count (known by the moment asked about), one per effective_from
--                    (the one recorded last wins a tie);
--   replay_days      each day to price with the version in force on it; `whole` = 1 when
--                    every action of that day is priced, 0 when only replay_pairs are;
--   replay_pairs     (user, day) pairs to price on days that are not whole;
--   replay_day_rules the rule in force per (day, action) for every day in replay_days, and
--                    whether scoring is closed on that day for some actions (`gated`);
--   replay_closed    the windows of days and journal seqs in which scoring periods close
--                    scoring (ledger/periods.py): an action in one earns nothing;
--   replay_priced    the result: points per (user, day) (a full rebuild writes daily_scores
--                    directly instead).
-- Mapping each *day* to its rules (a few thousand rows) before touching actions keeps the
-- big join an equality lookup instead of a range join of actions against versions.
-- Dialect overrides: sql/postgresql/replay.sql, sql/sqlite/replay.sql.

-- name: scratch_table_lifetime
-- A fragment ending every scratch table's CREATE: how long the table lives. On SQLite, for the
-- connection (each run empties it first); sql/postgresql/replay.sql drops it at commit.

-- name: create_replay_versions
CREATE TEMP TABLE IF NOT EXISTS replay_versions (
    version_seq BIGINT NOT NULL,
    effective_from DATE NOT NULL
)
-- include: scratch_table_lifetime

-- name: create_replay_days
CREATE TEMP TABLE IF NOT EXISTS replay_days (
    day DATE PRIMARY KEY,
    version_seq BIGINT,
    whole INTEGER NOT NULL
)
-- include: scratch_table_lifetime

-- name: create_replay_pairs
CREATE TEMP TABLE IF NOT EXISTS replay_pairs (
    user_id BIGINT NOT NULL,
    day DATE NOT NULL
)
-- include: scratch_table_lifetime

-- name: create_replay_priced
CREATE TEMP TABLE IF NOT EXISTS replay_priced (
    user_id BIGINT NOT NULL,
    day DATE NOT NULL,
    points BIGINT NOT NULL
)
-- include: scratch_table_lifetime

-- name: create_replay_day_rules
CREATE TEMP TABLE IF NOT EXISTS replay_day_rules (
    day DATE NOT NULL,
    action VARCHAR(100) NOT NULL,
    version_seq BIGINT NOT NULL,
    value BIGINT NOT NULL,
    per BIGINT,
    min_quantity BIGINT,
    by_attribute VARCHAR(100),
    gated INTEGER NOT NULL,
    PRIMARY KEY (day, action)
)
-- include: scratch_table_lifetime

-- name: create_replay_closed
CREATE TEMP TABLE IF NOT EXISTS replay_closed (
    first_day DATE NOT NULL,
    last_day DATE NOT NULL,
    after_seq BIGINT NOT NULL,
    until_seq BIGINT NOT NULL,
    off INTEGER NOT NULL,
    start_date DATE
)
-- include: scratch_table_lifetime

-- name: clear_replay_closed
DELETE FROM replay_closed

-- name: insert_replay_closed
INSERT INTO replay_closed (first_day, last_day, after_seq, until_seq, off, start_date)
VALUES (:first_day, :last_day, :after_seq, :until_seq, :off, :start_date)

-- name: scoring_periods
-- Every version's scoring period, for the closed windows (ledger/periods.py). Not limited to
-- a moment asked about: an action's gate depends only on versions recorded before it.
SELECT seq, effective_from, enabled, start_date
FROM schedule_versions
WHERE ledger = :ledger

-- name: action_closed
-- A fragment: whether the action `a` (its day and seq) lies in a closed window of its day's
-- scoring period, so earns nothing (ledger/periods.py; the audit asks `Gate.why`).
EXISTS (
    SELECT 1 FROM replay_closed g
    WHERE g.first_day <= a.day AND a.day <= g.last_day AND g.after_seq < a.seq AND a.seq < g.until_seq
      AND (g.off = 1 OR g.start_date > a.day)
)

-- name: day_closed
-- A fragment: whether scoring is closed on the day `d.day` for some actions.
EXISTS (
    SELECT 1 FROM replay_closed g
    WHERE g.first_day <= d.day AND d.day <= g.last_day AND (g.off = 1 OR g.start_date > d.day)
)

-- name: clear_replay_versions
DELETE FROM replay_versions

-- name: clear_replay_days
DELETE FROM replay_days

-- name: clear_replay_pairs
DELETE FROM replay_pairs

-- name: clear_replay_day_rules
DELETE FROM replay_day_rules

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

-- name: fill_replay_day_rules
-- The rule in force for each (day, action) to price: a few thousand rows that pricing looks
-- up per action, instead of matching actions against version date ranges.
INSERT INTO replay_day_rules (day, action, version_seq, value, per, min_quantity, by_attribute, gated)
SELECT d.day, r.action, r.version_seq, r.value, r.per, r.min_quantity, r.by_attribute,
    CASE WHEN
        -- include: day_closed
    THEN 1 ELSE 0 END
FROM replay_days d
JOIN schedule_rules r ON r.version_seq = d.version_seq

-- name: bucket_points
-- A fragment (see ledger/sqlfiles.py) of `price` and `buckets_of_days`: the points of one
-- (user, day, action) group of actions `a` priced by its rule `r` (replay_day_rules). Per
-- event for plain and `by` rules, per bucket for `per` rules (floor(counted quantity / per)
-- * value). An event below the rule's min_quantity earns nothing and does not count towards
-- a bucket; no rule (or no version yet, or a closed scoring period: `r` is NULL): 0 points. Every (day, action) has one rule, so the
-- group's MIN(r.per) and MIN(r.value) are its rule's. Sums are cast back to BIGINT as they are
-- formed: PostgreSQL sums BIGINT into NUMERIC, and adding NUMERICs costs more than the rest of
-- the statement. The audit prices the same way, event by event and
-- bucket by bucket, in `audit_lines` (ledger/audit.py): keep them in step.
CASE
    WHEN MIN(r.per) IS NULL THEN CAST(SUM(
        CASE
            WHEN r.action IS NULL OR a.quantity < COALESCE(r.min_quantity, 0) THEN 0
            WHEN r.by_attribute IS NULL THEN r.value * a.quantity
            ELSE a.quantity * COALESCE((
                SELECT p.points FROM schedule_rule_points p
                WHERE p.version_seq = r.version_seq AND p.action = r.action
                  AND p.attribute_value =
                      -- include: attribute_as_text
            ), 0)
        END) AS BIGINT)
    ELSE (CAST(SUM(
        CASE WHEN r.action IS NULL OR a.quantity < COALESCE(r.min_quantity, 0) THEN 0 ELSE a.quantity END
    ) AS BIGINT) / MIN(r.per)) * MIN(r.value)
END

-- name: price
-- Points per (user, day) in scope: the whole days of replay_days and the pairs of
-- replay_pairs (through replay_members, which adds the users merged into a pair's user), each
-- (user, day, action) group priced by `bucket_points`, plus what adjustments and corrections
-- book on them (replay_overlay, sql/corrections.sql); a merged user's points go to its target.
-- include: priced_actions_of_scope
LEFT JOIN replay_day_rules r ON r.day = a.day AND r.action = a.action
-- include: priced_days_of_scope

-- name: price_gated
-- `price` for a ledger whose scoring periods close scoring somewhere (ledger/pricing.py
-- `price_scope`): testing each action against them cost `price` a fifth of its time even
-- where no window was open, so the plain statement does without.
-- include: priced_actions_of_scope
-- include: gated_rule_join
-- include: priced_days_of_scope

-- name: priced_actions_of_scope
-- A fragment: the head of `price` and `price_gated`, up to the scope's actions `a`.
INSERT INTO replay_priced (user_id, day, points)
SELECT COALESCE(m.target, x.user_id), x.day, CAST(SUM(x.points) AS BIGINT)
FROM (
    SELECT bucket.user_id, bucket.day, bucket.points
    FROM (
        SELECT
            a.user_id,
            a.day,
            -- include: bucket_points
            AS points
        FROM (
            SELECT a.user_id, a.day, a.seq, a.action, a.quantity, a.attributes_json
            FROM replay_days d
            JOIN replay_actions a ON a.ledger_id = :ledger_id AND a.day = d.day
            WHERE d.whole = 1 AND a.recorded_at <= :known_at
            UNION ALL
            SELECT a.user_id, a.day, a.seq, a.action, a.quantity, a.attributes_json
            -- CROSS JOIN: SQLite keeps the few pairs as the outer loop and looks each one up in
            -- the (ledger, user_id, day, ...) index; PostgreSQL plans it as any join.
            FROM replay_members s
            CROSS JOIN replay_actions a
            WHERE a.ledger_id = :ledger_id AND a.user_id = s.user_id AND a.day = s.day AND a.recorded_at <= :known_at
        ) a

-- name: priced_days_of_scope
-- A fragment: the tail of `price` and `price_gated`, after each action's rule `r`.
        GROUP BY a.user_id, a.day, a.action
    ) bucket
    UNION ALL
    SELECT o.user_id, o.day, o.points FROM replay_overlay o
) x
LEFT JOIN replay_user_targets m ON m.user_id = x.user_id
GROUP BY COALESCE(m.target, x.user_id), x.day

-- name: gated_rule_join
-- A fragment: each action `a` joined to its rule `r`, which an action in a closed scoring
-- period does not find (so earns nothing); only a gated day's actions are tested.
LEFT JOIN replay_day_rules r ON r.day = a.day AND r.action = a.action
    AND (r.gated = 0 OR NOT
        -- include: action_closed
    )

-- name: price_everything
-- A full rebuild, in the rebuilding transaction: `price` over every action of the ledger on
-- the given days, with what is booked on them (`booked_on_days`), into the table of its
-- first part (`into_first_part`; see ledger/rebuild.py).
-- include: into_first_part
-- include: days_priced_and_booked

-- name: price_everything_apart
-- A full rebuild on PostgreSQL, each range of days in the session that prices it: the same
-- into replay_rebuilt.
-- include: into_replay_rebuilt
-- include: days_priced_and_booked

-- name: into_first_part
-- A fragment: the head of a full rebuild's pricing in the rebuilding transaction, the sums of a
-- `*days_priced_and_booked` fragment per (day, user) into the table of the first part: on
-- SQLite, whose rebuild is one part, daily_scores itself.
INSERT INTO daily_scores (ledger_id, day, user_id, points)
SELECT CAST(:ledger_id AS INTEGER), x.day, x.user_id, CAST(SUM(x.points) AS BIGINT)

-- name: into_replay_rebuilt
-- A fragment: the same head for a part priced into replay_rebuilt (PostgreSQL), which routes
-- the rows to the part's own table (ledger/store/projection_parts.py).
INSERT INTO replay_rebuilt (ledger_id, day, user_id, points)
SELECT CAST(:ledger_id AS INTEGER), x.day, x.user_id, CAST(SUM(x.points) AS BIGINT)

-- name: days_priced_and_booked
-- A fragment of `price_everything` and `price_everything_apart`: each (day, user, action)
-- group of actions priced (`buckets_of_days`) and the rows booked on the days
-- (sql/corrections.sql `booked_on_days`), summed per (day, user) by the SELECT that includes
-- it, users merged into others left out.
-- Both inputs come in (day, user) order (the booked rows, a few, sorted), so PostgreSQL
-- merges them and one sum streams over both: one pass over the actions, corrections folded
-- in, and no sum per (day, user) of the actions alone before it.
-- include: priced_and_booked_head
    -- include: buckets_of_days
-- include: priced_and_booked_tail

-- name: gated_days_priced_and_booked
-- A fragment: `days_priced_and_booked` for a ledger whose scoring periods close scoring
-- somewhere (`buckets_of_gated_days`).
-- include: priced_and_booked_head
    -- include: buckets_of_gated_days
-- include: priced_and_booked_tail

-- name: plain_days_priced_and_booked
-- A fragment: `days_priced_and_booked` where every rule prices each unit alike
-- (`buckets_of_plain_days`).
-- include: priced_and_booked_head
    -- include: buckets_of_plain_days
-- include: priced_and_booked_tail

-- name: priced_and_booked_head
-- A fragment: the head of `days_priced_and_booked`, `gated_days_priced_and_booked` and
-- `plain_days_priced_and_booked`.
FROM (
    SELECT bucket.day, bucket.user_id, bucket.points

-- name: priced_and_booked_tail
-- A fragment: the tail of `days_priced_and_booked` and its gated and plain forms. The
-- booked rows are under merged users' targets already, so leaving merged users out of the
-- sums leaves out only their actions, which are booked (priced as their own) instead.
    UNION ALL
    -- include: booked_on_days
) x
GROUP BY x.day, x.user_id
HAVING x.user_id NOT IN (SELECT t.user_id FROM replay_user_targets t)

-- name: price_everything_plain
-- `price_everything` where every rule prices each unit alike (`buckets_of_plain_days`).
-- include: into_first_part
-- include: plain_days_priced_and_booked

-- name: price_everything_apart_plain
-- `price_everything_apart` where every rule prices each unit alike.
-- include: into_replay_rebuilt
-- include: plain_days_priced_and_booked

-- name: price_everything_gated
-- `price_everything` for a ledger whose scoring periods close scoring somewhere.
-- include: into_first_part
-- include: gated_days_priced_and_booked

-- name: price_everything_apart_gated
-- `price_everything_apart` for a ledger whose scoring periods close scoring somewhere.
-- include: into_replay_rebuilt
-- include: gated_days_priced_and_booked

-- name: buckets_of_days
-- A fragment (see ledger/sqlfiles.py) of `days_priced_and_booked`: every action of the ledger
-- on the given days, priced per (day, user, action) group, in (day, user) order. Reading
-- `actions` through ix_actions_replay in (day, user, action) order, with nothing but index
-- columns referenced, lets the aggregations stream: no sort, no hash table, no visit to the
-- table; and the rows come out in daily_scores' key order.
-- include: bucket_groups
LEFT JOIN replay_day_rules r ON r.day = a.day AND r.action = a.action
-- include: bucket_groups_of_days

-- name: buckets_of_gated_days
-- A fragment: `buckets_of_days` where an action in a closed scoring period finds no rule (as
-- in `price_gated`). Apart from it because testing an action reads its seq, which the index
-- that lets `buckets_of_days` stream does not carry: only a ledger with such periods pays.
-- include: bucket_groups
-- include: gated_rule_join
-- include: bucket_groups_of_days

-- name: buckets_of_plain_days
-- A fragment: `buckets_of_days` for days whose rules have no min_quantity and no `by` table,
-- so that every unit of quantity in a (day, user, action) group earns alike: the group's
-- quantity is summed straight off the index first, and each group, not each action, is then
-- joined to its rule and priced (as `bucket_points` prices it; quantities are never negative).
-- Still in (day, user) order: PostgreSQL merges the groups with the rules on the day.
FROM (
    SELECT
        g.day,
        g.user_id,
        CASE
            WHEN r.action IS NULL THEN 0
            WHEN r.per IS NULL THEN r.value * g.quantity
            ELSE (g.quantity / r.per) * r.value
        END AS points
    FROM (
        SELECT a.day, a.user_id, a.action, CAST(SUM(a.quantity) AS BIGINT) AS quantity
        FROM replay_actions a
        WHERE a.ledger_id = :ledger_id AND a.day >= :from_day AND a.day <= :to_day
        GROUP BY a.day, a.user_id, a.action
    ) g
    LEFT JOIN replay_day_rules r ON r.day = g.day AND r.action = g.action
) bucket

-- name: bucket_groups
-- A fragment: the head of `buckets_of_days` and `buckets_of_gated_days`.
FROM (
    SELECT
        a.day,
        a.user_id,
        -- include: bucket_points
        AS points
    FROM replay_actions a

-- name: bucket_groups_of_days
-- A fragment: the tail of `buckets_of_days` and `buckets_of_gated_days`.
    WHERE a.ledger_id = :ledger_id AND a.day >= :from_day AND a.day <= :to_day
    GROUP BY a.day, a.user_id, a.action
) bucket

-- name: rules_price_units_alike
-- Whether no rule of the days to price has a min_quantity or a `by` table (then a full rebuild
-- prices groups, not actions: `buckets_of_plain_days`).
SELECT NOT EXISTS (
    SELECT 1 FROM replay_day_rules WHERE COALESCE(min_quantity, 0) > 0 OR by_attribute IS NOT NULL
)

-- name: ledger_day_span
SELECT MIN(day), MAX(day) FROM actions WHERE ledger_id = :ledger_id

-- name: total_every_user
-- A full rebuild's user_totals, from the year rows of period_totals it has just written
-- (ledger/rebuild.py): a user with daily rows has a row for each year of them.
INSERT INTO user_totals (ledger_id, user_id, points)
SELECT CAST(:ledger_id AS INTEGER), user_id, CAST(SUM(points) AS BIGINT)
FROM period_totals
WHERE ledger_id = :ledger_id AND period_months = 12
GROUP BY user_id

-- name: other_ledger_projected
-- Whether daily_scores holds rows of any other ledger (two probes of the primary key).
SELECT EXISTS (SELECT 1 FROM daily_scores WHERE ledger_id < :ledger_id)
    OR EXISTS (SELECT 1 FROM daily_scores WHERE ledger_id > :ledger_id)

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
    OR EXISTS (SELECT 1 FROM adjustments WHERE seq > :after_seq AND ledger = :ledger)
    OR EXISTS (SELECT 1 FROM corrections WHERE seq > :after_seq AND ledger = :ledger)
    OR EXISTS (SELECT 1 FROM merges WHERE seq > :after_seq AND ledger = :ledger)

-- name: delete_daily_scores_of_ledger
DELETE FROM daily_scores WHERE ledger_id = :ledger_id

-- name: delete_user_totals_of_ledger
DELETE FROM user_totals WHERE ledger_id = :ledger_id

-- name: delete_daily_scores_of_whole_days
DELETE FROM daily_scores
WHERE ledger_id = :ledger_id AND day IN (SELECT day FROM replay_days WHERE whole = 1)

-- name: delete_daily_scores_of_pairs
-- Kept apart from whole days (no OR) so each delete can use an index.
DELETE FROM daily_scores
WHERE ledger_id = :ledger_id
  AND (user_id, day) IN (SELECT s.user_id, s.day FROM replay_pairs s)

-- name: insert_daily_scores
INSERT INTO daily_scores (ledger_id, user_id, day, points)
SELECT CAST(:ledger_id AS INTEGER), user_id, day, points FROM replay_priced

-- name: add_user_totals_changes
-- Before the daily rows in scope are replaced: each touched user's total moves by (new
-- points in scope - old points in scope), so totals never re-read a user's whole history.
-- A user whose total does not move is left alone (on PostgreSQL an upsert rewrites each row
-- it meets), unless the user may have no total yet: one with a (user, day) that had no daily
-- row before (`new_days`: each priced (user, day) counts 1, each old daily row -1), whose
-- first actions may earn nothing.
INSERT INTO user_totals (ledger_id, user_id, points)
SELECT CAST(:ledger_id AS INTEGER), change.user_id, SUM(change.points)
FROM (
    SELECT user_id, points, 1 AS new_days FROM replay_priced
    UNION ALL
    SELECT d.user_id, -d.points, -1 FROM daily_scores d
    WHERE d.ledger_id = :ledger_id AND d.day IN (SELECT day FROM replay_days WHERE whole = 1)
    UNION ALL
    SELECT d.user_id, -d.points, -1 FROM replay_pairs s
    JOIN daily_scores d ON d.ledger_id = :ledger_id AND d.user_id = s.user_id AND d.day = s.day
) change
GROUP BY change.user_id
HAVING SUM(change.points) <> 0 OR SUM(change.new_days) > 0
ON CONFLICT (ledger_id, user_id) DO UPDATE SET points = user_totals.points + excluded.points

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
    WHERE ledger_id = :ledger_id AND :whole_history = 1
    UNION ALL
    SELECT user_id, SUM(points) AS points FROM daily_scores
    WHERE ledger_id = :ledger_id AND :whole_history = 0 AND day >= :from_day AND day <= :to_day
    GROUP BY user_id
) totals
ORDER BY user_id

-- name: daily_points
SELECT user_id, day, points FROM daily_scores WHERE ledger_id = :ledger_id ORDER BY user_id, day
