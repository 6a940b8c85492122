-- The per-user audit (ledger/audit.py), SQLite form; see sql/postgresql/audit.sql.

-- name: audit_user
-- As in sql/postgresql/audit.sql.
-- Dates are ISO text here, so date() steps back a day, and SQLite's two-argument MIN is NULL
-- when either argument is, hence the COALESCEs.
WITH winning AS (
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
SELECT
    a.occurred_at, a.day, a.action, a.source_key, a.quantity, a.attributes,
    -- The version's date, reason and rules come apart (`audit_rules`, sql/audit.sql): a
    -- few hundred rows, where repeating six of their columns on every line cost SQLite
    -- 0.8 ms in a thousand-line audit.
    sp.seq AS version_seq, p.points AS by_points,
    CASE
        WHEN r.action IS NULL THEN 0
        WHEN r.per IS NOT NULL THEN NULL
        WHEN a.quantity < COALESCE(r.min_quantity, 0) THEN 0
        WHEN r.by_attribute IS NOT NULL THEN COALESCE(p.points, 0) * a.quantity
        ELSE r.value * a.quantity
    END AS points
-- CROSS JOIN: SQLite keeps the spans as the outer loop, each one a range lookup in the
-- ix_actions_user_history index, which carries every column read here.
FROM spans sp
CROSS JOIN replay_actions a
LEFT JOIN schedule_rules r ON r.version_seq = sp.seq AND r.action = a.action
LEFT JOIN schedule_rule_points p
    ON p.version_seq = r.version_seq AND p.action = r.action
    -- An attribute is compared as text: 4 and "4" both match "4"; true matches "true".
    AND p.attribute_value = CASE WHEN r.by_attribute IS NOT NULL THEN CAST(
        CASE CAST(a.attributes_json -> r.by_attribute AS TEXT)
            WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
            ELSE a.attributes_json ->> r.by_attribute
        END AS TEXT) END
WHERE a.ledger_id = (SELECT number FROM ledger_numbers WHERE ledger = :ledger) AND a.user_id = :user_id AND a.day >= sp.first_day AND a.day <= sp.last_day
ORDER BY a.occurred_at, a.seq
