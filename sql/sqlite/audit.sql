-- The per-user audit (ledger/audit.py), SQLite forms of the fragments that the statements
-- in sql/audit.sql include; see sql/postgresql/audit.sql.

-- name: audit_by_points
-- A fragment of `audit_user_with_by_points`: `p`, what the `by` table of the event's rule `r`
-- gives its attribute.
LEFT JOIN schedule_rule_points p
    ON p.version_seq = r.version_seq AND p.action = r.action
    AND p.attribute_value = CASE WHEN r.by_attribute IS NOT NULL THEN
        -- include: attribute_as_text
    END

-- name: audit_spans
-- A fragment of `audit_user_with_by_points`. Dates are ISO text here, so
-- date() steps back a day, and SQLite's two-argument MIN is NULL when either argument is,
-- hence the COALESCEs.
winning AS (
    SELECT MAX(seq) AS seq, effective_from
    FROM schedule_versions
    WHERE ledger = :ledger
    GROUP BY effective_from
),
spans AS (
    SELECT w.seq,
           MAX(w.effective_from, :from_day) AS first_day,
           MIN(COALESCE(date(LEAD(w.effective_from) OVER (ORDER BY w.effective_from), '-1 day'), :to_day), :to_day) AS last_day
    FROM winning w
    UNION ALL
    SELECT NULL, :from_day, MIN(COALESCE(date(MIN(effective_from), '-1 day'), :to_day), :to_day)
    FROM winning
)

-- name: audit_actions_of_spans
-- A fragment of `audit_user_with_by_points`. CROSS JOIN: SQLite keeps the
-- spans as the outer loop, each one a range lookup in the ix_actions_user_history index,
-- which carries every column read here.
FROM spans sp
CROSS JOIN replay_actions a
    ON a.ledger_id = (SELECT number FROM ledger_numbers WHERE ledger = :ledger) AND a.user_id = :user_id
    AND a.day >= sp.first_day AND a.day <= sp.last_day
