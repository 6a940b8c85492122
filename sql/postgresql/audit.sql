-- The per-user audit (ledger/audit.py), PostgreSQL forms of the fragments that the
-- statements in sql/audit.sql include; the SQLite forms are in sql/sqlite/audit.sql.

-- name: audit_by_points
-- A fragment of `audit_user_with_by_points`: `p`, what the `by` table of the event's rule `r`
-- gives its attribute. LATERAL with the rule's by_attribute in its WHERE, and OFFSET 0 so
-- that it is not flattened into a join: PostgreSQL tests that once per row and looks in
-- schedule_rule_points only for the events of `by` rules (a lookup for every event showed in
-- an audit's time).
LEFT JOIN LATERAL (
    SELECT p.points
    FROM schedule_rule_points p
    WHERE r.by_attribute IS NOT NULL AND p.version_seq = r.version_seq AND p.action = r.action
      AND p.attribute_value =
        -- include: attribute_as_text
    OFFSET 0
) p ON TRUE

-- name: audit_spans
-- A fragment of `audit_user_with_by_points`: `spans`, each version's days
-- clipped to the days asked for, plus the days before the first version (no version: no
-- points). Each span reads one range of the user's actions from ix_actions_user_history
-- (which carries every column read here), so no action is compared with every version and
-- the table is not visited.
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
-- A fragment of `audit_user_with_by_points`: the user's actions `a` in
-- each span `sp`. LATERAL with OFFSET 0 keeps the spans as the outer loop: otherwise the planner flattens
-- the subquery, expects a hundred actions for any user, and tests each one against every
-- span (twice the time for a user with a thousand actions).
FROM spans sp
CROSS JOIN LATERAL (
    SELECT seq, occurred_at, day, action, source_key, quantity, attributes, attributes_json
    FROM replay_actions
    WHERE ledger_id = (SELECT number FROM ledger_numbers WHERE ledger = :ledger) AND user_id = :user_id AND day >= sp.first_day AND day <= sp.last_day
    OFFSET 0
) a
