-- The per-user audit (ledger/audit.py). The dialects differ in date arithmetic and in how
-- the join order is pinned: the fragments these statements include are in
-- sql/postgresql/audit.sql and sql/sqlite/audit.sql.

-- name: audit_user
-- One user's actions on the days asked for, in order (occurred_at, seq), each with the
-- version in force on its day: the latest effective_from on or before it, the one recorded
-- last on a tie (as `price` chooses, sql/replay.sql); NULL before the first version. The
-- points are priced in ledger/audit.py from the rules (`audit_rules`): joining each event to
-- its rule here cost PostgreSQL 0.5 ms of a thousand-line audit's 2.9 ms. This form is for
-- a ledger whose schedules have no `by` rule; `audit_user_with_by_points` also looks up
-- what a `by` rule's table gives each event.
WITH
    -- include: audit_spans
SELECT
    a.occurred_at, a.day, a.action, a.source_key, a.quantity, a.attributes,
    sp.seq AS version_seq, CAST(NULL AS BIGINT) AS by_points
-- include: audit_actions_of_spans
ORDER BY a.occurred_at, a.seq

-- name: audit_user_with_by_points
-- `audit_user`, each event's `by_points` being what its rule's `by` table gives the
-- event's attribute (NULL for other rules, or when nothing matches), found as `price`
-- finds it (sql/replay.sql `bucket_points`).
WITH
    -- include: audit_spans
SELECT
    a.occurred_at, a.day, a.action, a.source_key, a.quantity, a.attributes,
    sp.seq AS version_seq, p.points AS by_points
-- include: audit_actions_of_spans
LEFT JOIN schedule_rules r ON r.version_seq = sp.seq AND r.action = a.action
-- include: audit_by_points
ORDER BY a.occurred_at, a.seq

-- name: audit_rules
-- Every version of the ledger with its date, reason and rules (a version without rules
-- still has its row, with NULL rule columns), for the audit to describe its lines.
SELECT v.seq, v.effective_from, v.reason, r.action, r.value, r.per, r.min_quantity, r.by_attribute
FROM schedule_versions v
LEFT JOIN schedule_rules r ON r.version_seq = v.seq
WHERE v.ledger = :ledger
