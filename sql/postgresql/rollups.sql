-- PostgreSQL forms of the period totals statements (see sql/rollups.sql).

-- name: add_period_totals_changes
-- Before the daily rows in scope are replaced: each touched (user, period) moves by (new
-- points in scope - old points in scope), as `add_user_totals_changes` does for totals.
-- Only rows that move, or that may not exist yet, go to the upsert: ON CONFLICT DO UPDATE
-- locks every row it meets, which writes to the row's page even where the update then
-- changes nothing. A (user, period) row can only be new where the period holds a (user, day)
-- that had no daily row before (`new_days`: each priced (user, day) counts 1, each old daily
-- row -1), and such a row is inserted even at 0 points. A schedule change meets many more
-- (user, period) rows than it moves.
WITH change AS (
    SELECT user_id, day, points, 1 AS new_days FROM replay_priced
    UNION ALL
    SELECT d.user_id, d.day, -d.points, -1 FROM daily_scores d
    WHERE d.ledger_id = :ledger_id AND d.day IN (SELECT day FROM replay_days WHERE whole = 1)
    UNION ALL
    SELECT d.user_id, d.day, -d.points, -1 FROM replay_pairs s
    JOIN daily_scores d ON d.ledger_id = :ledger_id AND d.user_id = s.user_id AND d.day = s.day
),
months AS MATERIALIZED (
    SELECT user_id, CAST(date_trunc('month', CAST(day AS timestamp)) AS date) AS period_start,
           CAST(SUM(points) AS BIGINT) AS points, SUM(new_days) AS new_days
    FROM change
    GROUP BY user_id, 2
),
moved AS (
    SELECT 1 AS period_months, period_start, user_id, points, new_days FROM months
    UNION ALL
    SELECT 3, CAST(date_trunc('quarter', CAST(period_start AS timestamp)) AS date), user_id,
           CAST(SUM(points) AS BIGINT), SUM(new_days)
    FROM months GROUP BY 2, user_id
    UNION ALL
    SELECT 12, CAST(date_trunc('year', CAST(period_start AS timestamp)) AS date), user_id,
           CAST(SUM(points) AS BIGINT), SUM(new_days)
    FROM months GROUP BY 2, user_id
)
INSERT INTO period_totals (ledger_id, period_months, period_start, user_id, points)
SELECT CAST(:ledger_id AS INTEGER), period_months, period_start, user_id, points
FROM moved
WHERE points <> 0 OR new_days > 0
ON CONFLICT (ledger_id, period_months, period_start, user_id) DO UPDATE SET points = period_totals.points + excluded.points
    WHERE excluded.points <> 0

-- A full rebuild priced in parts (ledger/rebuild.py) totals periods part by part, each in the
-- session that priced the part, at once: on one core, summing every daily row into periods
-- was the largest step of the rebuild. Parts are cut at quarter starts,
-- so each part's months and quarters are whole; years are summed from each part's pieces
-- of them once every part is in. Sums are sorted rather than hashed (the caller turns hash aggregates
-- off), which is the quicker here.

-- name: total_part_periods
-- The first part, in the rebuilding transaction: from its daily rows (its own table, no key
-- yet) into its own tables of months and quarters, by their names (see `into_first_part`,
-- replay.sql).
WITH days AS (
    SELECT day, user_id, points FROM replay_rebuilt_1
),
-- include: months_and_quarters_of_days
month_rows AS (
    INSERT INTO replay_rebuilt_periods_months_1 (ledger_id, period_months, period_start, user_id, points)
    SELECT CAST(:ledger_id AS INTEGER), 1, period_start, user_id, points FROM months
)
INSERT INTO replay_rebuilt_periods_quarters_1 (ledger_id, period_months, period_start, user_id, points)
SELECT CAST(:ledger_id AS INTEGER), 3, period_start, user_id, points FROM quarters

-- name: total_part_periods_apart
-- Any other part, in its own session: from its daily rows into replay_rebuilt_periods,
-- which routes them to the part's tables of months and quarters.
WITH days AS (
    SELECT day, user_id, points FROM replay_rebuilt
    WHERE ledger_id = :ledger_id AND day >= :from_day AND day <= :to_day
),
-- include: months_and_quarters_of_days
periods AS (
    SELECT 1 AS period_months, period_start, user_id, points FROM months
    UNION ALL
    SELECT 3, period_start, user_id, points FROM quarters
)
INSERT INTO replay_rebuilt_periods (ledger_id, period_months, period_start, user_id, points)
SELECT CAST(:ledger_id AS INTEGER), period_months, period_start, user_id, points FROM periods

-- name: months_and_quarters_of_days
-- A fragment of both statements above, ending in a comma: `months` and `quarters`, the
-- period rows of `days`, each period's rows together and in user order (a leaderboard of
-- the period then reads adjacent pages); and, written to replay_rebuilt_year_pieces as the
-- statement runs, what each user earned in each year within `days`: a year that a cut
-- splits has a piece in each of its parts.
months AS MATERIALIZED (
    SELECT CAST(date_trunc('month', CAST(day AS timestamp)) AS date) AS period_start, user_id,
           CAST(SUM(points) AS BIGINT) AS points
    FROM days
    GROUP BY 1, 2
    ORDER BY 1, 2
),
quarters AS MATERIALIZED (
    SELECT CAST(date_trunc('quarter', CAST(period_start AS timestamp)) AS date) AS period_start, user_id,
           CAST(SUM(points) AS BIGINT) AS points
    FROM months
    GROUP BY 1, 2
    ORDER BY 1, 2
),
-- A data-modifying CTE runs whether or not the statement reads it.
year_pieces AS (
    INSERT INTO replay_rebuilt_year_pieces (period_start, user_id, points)
    SELECT CAST(date_trunc('year', CAST(period_start AS timestamp)) AS date), user_id, CAST(SUM(points) AS BIGINT)
    FROM quarters
    GROUP BY 1, 2
),

-- name: create_replay_rebuilt_year_pieces
-- Scratch for the year pieces of every part (`months_and_quarters_of_days`).
CREATE UNLOGGED TABLE replay_rebuilt_year_pieces (
    period_start DATE NOT NULL,
    user_id BIGINT NOT NULL,
    points BIGINT NOT NULL
)

-- name: total_years_from_pieces
-- Once every part is in: each year, the sum of its pieces, a few hundred thousand rows,
-- where summing the quarters would read every quarter; into the years' own table.
INSERT INTO replay_rebuilt_periods_years (ledger_id, period_months, period_start, user_id, points)
SELECT CAST(:ledger_id AS INTEGER), 12, period_start, user_id, CAST(SUM(points) AS BIGINT)
FROM replay_rebuilt_year_pieces
GROUP BY period_start, user_id
ORDER BY period_start, user_id
