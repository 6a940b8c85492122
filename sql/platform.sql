-- What a platform's own recalculation at one set of values makes of the ledger
-- (ledger/platform.py): the projections, less what they hold that such a recalculation does
-- not (adjustments, corrections booked on their own days), plus every action whose rule
-- differs between its day's version and the pinned one, priced at both.

-- name: create_replay_changed_rules
-- The rules of each (day, action) of replay_days whose rule differs between the day's own
-- version and the pinned one: the pinned rule with sign 1 and the day's with sign -1 (either
-- may be missing: no rule, nothing earned).
CREATE TEMP TABLE IF NOT EXISTS replay_changed_rules (
    day DATE NOT NULL,
    action VARCHAR(100) NOT NULL,
    sign INTEGER NOT NULL,
    version_seq BIGINT NOT NULL,
    value BIGINT NOT NULL,
    per BIGINT,
    min_quantity BIGINT,
    by_attribute VARCHAR(100),
    PRIMARY KEY (day, action, sign)
)
-- include: scratch_table_lifetime

-- name: clear_replay_changed_rules
DELETE FROM replay_changed_rules

-- name: negate_replay_overlay
UPDATE replay_overlay SET points = -points

-- name: pinned_version
-- The version fill_replay_versions_pinned chose, if any.
SELECT MAX(version_seq) FROM replay_versions

-- name: same_rule
-- A fragment: whether rules `p` and `r` price every group of actions alike. A `by` rule
-- reads its version's own points, so only the same version is alike.
(p.version_seq = r.version_seq
    OR (p.by_attribute IS NULL AND r.by_attribute IS NULL AND p.value = r.value
        AND (p.per = r.per OR (p.per IS NULL AND r.per IS NULL))
        AND (p.min_quantity = r.min_quantity OR (p.min_quantity IS NULL AND r.min_quantity IS NULL))))

-- name: fill_replay_changed_rules
INSERT INTO replay_changed_rules (day, action, sign, version_seq, value, per, min_quantity, by_attribute)
SELECT d.day, p.action, 1, p.version_seq, p.value, p.per, p.min_quantity, p.by_attribute
FROM replay_days d
CROSS JOIN schedule_rules p
WHERE p.version_seq = :pinned_seq
  AND NOT EXISTS (
    SELECT 1 FROM replay_day_rules r
    WHERE r.day = d.day AND r.action = p.action AND
        -- include: same_rule
  )
UNION ALL
SELECT r.day, r.action, -1, r.version_seq, r.value, r.per, r.min_quantity, r.by_attribute
FROM replay_day_rules r
WHERE NOT EXISTS (
    SELECT 1 FROM schedule_rules p
    WHERE p.version_seq = :pinned_seq AND p.action = r.action AND
        -- include: same_rule
)

-- name: has_changed_rules
SELECT EXISTS (SELECT 1 FROM replay_changed_rules)

-- name: reprice_changed_rules
-- What the actions whose rule changed earn at the pinned rule less at their day's (what the
-- projections hold for them), into replay_overlay. A rule without `per` prices event by
-- event, so `bucket_points` may sum its events over all of a user's days at once; a `per`
-- rule's buckets are each (user, day, action) group. The rules drive in their key's order,
-- each (day, action)'s actions read from the index. An action that scoring periods close
-- earns nothing at either rule (`action_closed`, tested only where some window is).
INSERT INTO replay_overlay (user_id, day, points)
SELECT a.user_id, MIN(r.day), r.sign * (
    -- include: bucket_points
)
FROM replay_changed_rules r
CROSS JOIN replay_actions a
WHERE a.ledger_id = :ledger_id AND a.day = r.day AND a.action = r.action AND r.per IS NULL
  AND NOT (EXISTS (SELECT 1 FROM replay_closed) AND
    -- include: action_closed
  )
GROUP BY r.sign, a.user_id
UNION ALL
SELECT a.user_id, r.day, r.sign * (
    -- include: bucket_points
)
FROM replay_changed_rules r
CROSS JOIN replay_actions a
WHERE a.ledger_id = :ledger_id AND a.day = r.day AND a.action = r.action AND r.per IS NOT NULL
  AND NOT (EXISTS (SELECT 1 FROM replay_closed) AND
    -- include: action_closed
  )
GROUP BY r.day, r.action, r.sign, a.user_id

-- name: platform_totals
-- Each user's projected total from `from_day` on, plus replay_overlay, under merge targets;
-- users at 0 left out.
SELECT COALESCE(m.target, x.user_id) AS user_id, CAST(SUM(x.points) AS BIGINT) AS points
FROM (
    SELECT t.user_id, t.points FROM user_totals t WHERE t.ledger_id = :ledger_id
    UNION ALL
    SELECT d.user_id, -d.points FROM daily_scores d WHERE d.ledger_id = :ledger_id AND d.day < :from_day
    UNION ALL
    SELECT o.user_id, o.points FROM replay_overlay o
) x
LEFT JOIN replay_user_targets m ON m.user_id = x.user_id
GROUP BY COALESCE(m.target, x.user_id)
HAVING SUM(x.points) <> 0
ORDER BY 1
