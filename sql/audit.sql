-- The per-user audit (ledger/audit.py). The dialects differ in date arithmetic and in how
-- the join order is pinned: the fragments `audit_user_with_by_points` includes are in
-- sql/postgresql/audit.sql and sql/sqlite/audit.sql.

-- name: audit_user
-- One user's actions on the days asked for, in order, for a ledger whose schedules have no
-- `by` rule. `day` is occurred_at's date, so (day, occurred_at, seq) is (occurred_at, seq)
-- order, and it is the key order of ix_actions_user_history (migration 0010): the rows come
-- straight off the index, unsorted. Each event's version, the one in force on its day, is
-- found in ledger/audit.py from the schedule (`audit_rules`), day by day: joining the rows
-- to each version's span of days here, and sorting them after, was a large share of an
-- audit. `versions` is how many versions the ledger has in this
-- statement's snapshot: versions are append-only, so it tells whether the schedule the
-- lines are priced by is the whole of it. The points are priced in ledger/audit.py from
-- the rules (joining each event to its rule here cost PostgreSQL more).
SELECT
    a.occurred_at, a.day, a.action, a.source_key, a.quantity, a.attributes,
    CAST(NULL AS BIGINT) AS version_seq, CAST(NULL AS BIGINT) AS by_points,
    (SELECT COUNT(*) FROM schedule_versions WHERE ledger = :ledger) AS versions,
    -- For the scoring periods' gate (ledger/periods.py): a key column of the index.
    a.seq
FROM actions a
WHERE a.ledger_id = (SELECT number FROM ledger_numbers WHERE ledger = :ledger) AND a.user_id = :user_id
  AND a.day >= :from_day AND a.day <= :to_day
ORDER BY a.day, a.occurred_at, a.seq

-- name: audit_user_with_by_points
-- `audit_user` for a ledger with `by` rules: each event comes with the version in force on
-- its day (the latest effective_from on or before it, the one recorded last on a tie, as
-- `price` chooses, sql/replay.sql; NULL before the first version), found by reading each
-- version's span of days apart, and its `by_points`, what its rule's `by` table gives the
-- event's attribute (NULL for other rules, or when nothing matches), found as `price`
-- finds it (sql/replay.sql `bucket_points`).
WITH
    -- include: audit_spans
SELECT
    a.occurred_at, a.day, a.action, a.source_key, a.quantity, a.attributes,
    sp.seq AS version_seq, p.points AS by_points,
    (SELECT COUNT(*) FROM schedule_versions WHERE ledger = :ledger) AS versions,
    a.seq
-- include: audit_actions_of_spans
LEFT JOIN schedule_rules r ON r.version_seq = sp.seq AND r.action = a.action
-- include: audit_by_points
ORDER BY a.occurred_at, a.seq

-- name: audit_rules
-- Every version of the ledger with its date, reason and rules (a version without rules
-- still has its row, with NULL rule columns), and its scoring period, for the audit to
-- describe its lines, and its level curve, for the audit's last line.
SELECT v.seq, v.effective_from, v.reason, r.action, r.value, r.per, r.min_quantity, r.by_attribute, v.enabled, v.start_date, v.levels
FROM schedule_versions v
LEFT JOIN schedule_rules r ON r.version_seq = v.seq
WHERE v.ledger = :ledger

-- name: audit_members
-- Whose events an audit of the user shows, in one round trip (ledger/corrections_audit.py):
-- the user, then every user merged into it, directly or through a chain (merges are acyclic
-- when written); for each, whether it has adjustments on the days asked for and whether it
-- has corrections, so that an audit of a user with neither issues no statement for them;
-- and the user it is itself merged into, if any (then it is not audited). Each test is one
-- probe of ix_adjustments_user or ix_corrections_bucket: a subquery with LIMIT, as an EXISTS
-- let PostgreSQL hash the whole of adjustments for it instead. `versions`, as in
-- `audit_user`: the level curve comes from the schedule, also for a user without actions.
WITH RECURSIVE
merged_in (user_id) AS (
    SELECT CAST(:user_id AS BIGINT)
    UNION
    SELECT m.source_user
    FROM merges m
    JOIN merged_in t ON m.target_user = t.user_id
    WHERE m.ledger_id = (SELECT number FROM ledger_numbers WHERE ledger = :ledger)
)
SELECT
    u.user_id,
    (
        SELECT 1 FROM adjustments j
        WHERE j.user_id = u.user_id AND j.ledger_id = (SELECT number FROM ledger_numbers WHERE ledger = :ledger)
          AND j.day >= :from_day AND j.day <= :to_day
        LIMIT 1
    ) IS NOT NULL AS has_adjustments,
    (
        SELECT 1 FROM corrections c
        WHERE c.ledger_id = (SELECT number FROM ledger_numbers WHERE ledger = :ledger) AND c.user_id = u.user_id
        LIMIT 1
    ) IS NOT NULL AS has_corrections,
    (
        SELECT m.target_user FROM merges m
        WHERE m.ledger_id = (SELECT number FROM ledger_numbers WHERE ledger = :ledger) AND m.source_user = :user_id
    ) AS merged_into,
    (SELECT COUNT(*) FROM schedule_versions WHERE ledger = :ledger) AS versions
FROM merged_in u

-- name: audit_adjustments
-- One user's adjustments on the days asked for, in booking order (ix_adjustments_user).
SELECT j.day, j.seq, j.adjustment_key, j.kind, j.points, j.reason
FROM adjustments j
WHERE j.user_id = :user_id AND j.ledger_id = (SELECT number FROM ledger_numbers WHERE ledger = :ledger)
  AND j.day >= :from_day AND j.day <= :to_day
ORDER BY j.day, j.seq

-- name: audit_corrections
-- Every correction of one user's actions, whatever day it was booked on (a `per` bucket's
-- deltas depend on all that was booked before), by bucket and booking order
-- (ix_corrections_bucket). `versions`, as in `audit_user`: whether the schedule that prices
-- them is the whole of the ledger's in this statement's snapshot.
SELECT
    c.action_day, c.action, c.day, c.seq, c.source_key, c.kind, c.booked_at, c.reason,
    c.old_quantity, c.old_attributes, c.new_quantity, c.new_attributes,
    (SELECT COUNT(*) FROM schedule_versions WHERE ledger = :ledger) AS versions
FROM corrections c
WHERE c.ledger_id = (SELECT number FROM ledger_numbers WHERE ledger = :ledger) AND c.user_id = :user_id
ORDER BY c.action_day, c.action, c.day, c.seq
