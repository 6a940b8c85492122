-- The per-user audit (ledger/audit.py), PostgreSQL form; the SQLite form is in
-- sql/sqlite/audit.sql. The two differ in date arithmetic and in how the join order is
-- pinned, so these statements have no common form in sql/ (`audit_rules` has: sql/audit.sql).

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
-- event's attribute (NULL for other rules, or when nothing matches): priced as `price`
-- prices it (sql/replay.sql `bucket_points`).
WITH
    -- include: audit_spans
SELECT
    a.occurred_at, a.day, a.action, a.source_key, a.quantity, a.attributes,
    sp.seq AS version_seq, p.points AS by_points
-- include: audit_actions_of_spans
LEFT JOIN schedule_rules r ON r.version_seq = sp.seq AND r.action = a.action
-- LATERAL with the rule's by_attribute in its WHERE, and OFFSET 0 so that it is not flattened
-- into a join: PostgreSQL tests that once per row and looks in schedule_rule_points only for
-- the events of `by` rules (a lookup per event cost 0.6 ms for a thousand).
LEFT JOIN LATERAL (
    SELECT p.points
    FROM schedule_rule_points p
    WHERE r.by_attribute IS NOT NULL AND p.version_seq = r.version_seq AND p.action = r.action
      -- An attribute is compared as text: 4 and "4" both match "4"; true matches "true".
      AND p.attribute_value = CAST(
        CASE CAST(a.attributes_json -> r.by_attribute AS TEXT)
            WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
            ELSE a.attributes_json ->> r.by_attribute
        END AS TEXT)
    OFFSET 0
) p ON TRUE
ORDER BY a.occurred_at, a.seq

-- name: audit_spans
-- A fragment of both statements above: `spans`, each version's days clipped to the days
-- asked for, plus the days before the first version (no version: no points). Each span
-- reads one range of the user's actions from ix_actions_user_history (which carries every
-- column read here), so no action is compared with every version and the table is not
-- visited.
winning AS (
    SELECT MAX(seq) AS seq, effective_from
    FROM schedule_versions
    WHERE ledger = :ledger
    GROUP BY effective_from
),
spans AS (
    SELECT w.seq,
           GREATEST(w.effective_from, CAST(:from_day AS date)) AS first_day,
           -- LEAST skips NULL: the last version runs to the last day asked for.
           LEAST(LEAD(w.effective_from) OVER (ORDER BY w.effective_from) - 1, CAST(:to_day AS date)) AS last_day
    FROM winning w
    UNION ALL
    SELECT CAST(NULL AS BIGINT),
           CAST(:from_day AS date), LEAST(MIN(effective_from) - 1, CAST(:to_day AS date))
    FROM winning
)

-- name: audit_actions_of_spans
-- A fragment of both statements above: the user's actions `a` in each span `sp`.
-- LATERAL with OFFSET 0 keeps the spans as the outer loop: otherwise the planner flattens
-- the subquery, expects a hundred actions for any user, and tests each one against every
-- span (twice the time for a user with a thousand actions).
FROM spans sp
CROSS JOIN LATERAL (
    SELECT seq, occurred_at, day, action, source_key, quantity, attributes, attributes_json
    FROM replay_actions
    WHERE ledger_id = (SELECT number FROM ledger_numbers WHERE ledger = :ledger) AND user_id = :user_id AND day >= sp.first_day AND day <= sp.last_day
    OFFSET 0
) a
