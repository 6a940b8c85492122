-- The per-user audit (ledger/audit.py): what `audit_user` (sql/postgresql/audit.sql,
-- sql/sqlite/audit.sql) names by version only.

-- name: audit_rules
-- Every version of the ledger with its date, reason and rules (a version without rules
-- still has its row, with NULL rule columns), for the audit to describe its lines.
SELECT v.seq, v.effective_from, v.reason, r.action, r.value, r.per, r.min_quantity, r.by_attribute
FROM schedule_versions v
LEFT JOIN schedule_rules r ON r.version_seq = v.seq
WHERE v.ledger = :ledger
