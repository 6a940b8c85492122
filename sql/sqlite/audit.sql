-- The per-user audit (ledger/audit.py), SQLite form; see sql/postgresql/audit.sql.

-- name: audit_user
-- As in sql/postgresql/audit.sql, but a `per` rule's bucket points are on the bucket's first
-- event only (NULL on the others): SQLite's window functions cost two microseconds a row, on
-- every row of the audit, where two lookups cost that on the rows of `per` rules alone: the
-- bucket's first event is the first entry of its (user_id, ledger_id, day, action) range in
-- ix_actions_user_history, which is in (occurred_at, seq) order there; only that event sums
-- the range.
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
        WHEN r.per IS NOT NULL THEN CASE WHEN a.seq = (
            SELECT b.seq FROM actions b
            WHERE b.ledger_id = (SELECT number FROM ledger_numbers WHERE ledger = :ledger) AND b.user_id = :user_id AND b.day = a.day AND b.action = a.action
            ORDER BY b.occurred_at, b.seq
            LIMIT 1
        ) THEN (CAST((
            SELECT SUM(CASE WHEN b.quantity < COALESCE(r.min_quantity, 0) THEN 0 ELSE b.quantity END)
            FROM actions b
            WHERE b.ledger_id = (SELECT number FROM ledger_numbers WHERE ledger = :ledger) AND b.user_id = :user_id AND b.day = a.day AND b.action = a.action
        ) AS BIGINT) / r.per) * r.value END
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
