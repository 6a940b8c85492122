-- Step 2: re-derive every (user, day) score from the forum tables at ONE set of values (the
-- site settings of today) and upsert it, as DiscourseGamification::GamificationScore
-- .calculate_scores does: one query per scorable, UNION ALL, summed per user and day.
INSERT INTO gamification_scores (user_id, date, score)
SELECT user_id, date, SUM(points) AS score
FROM (
    -- day visited
    SELECT uv.user_id, uv.visited_at AS date, COUNT(*) * :day_visited AS points
    FROM user_visits AS uv
    WHERE uv.visited_at >= :since
    GROUP BY 1, 2
  UNION ALL
    -- time read: per whole minute, visits of at least a minute
    SELECT uv.user_id, uv.visited_at, SUM(uv.time_read / 60) * :time_read
    FROM user_visits AS uv
    WHERE uv.visited_at >= :since AND uv.time_read >= 60
    GROUP BY 1, 2
  UNION ALL
    -- posts read: per five posts
    SELECT uv.user_id, uv.visited_at, SUM(uv.posts_read / 5) * :posts_read
    FROM user_visits AS uv
    WHERE uv.visited_at >= :since AND uv.posts_read >= 5
    GROUP BY 1, 2
  UNION ALL
    -- topics created
    SELECT t.user_id, date_trunc('day', t.created_at)::date, COUNT(*) * :topic_created
    FROM topics AS t
    WHERE t.deleted_at IS NULL AND t.archetype <> 'private_message' AND t.created_at >= :since
    GROUP BY 1, 2
  UNION ALL
    -- posts created
    SELECT p.user_id, date_trunc('day', p.created_at)::date, COUNT(*) * :post_created
    FROM posts AS p
    INNER JOIN topics AS t ON t.id = p.topic_id
    WHERE p.deleted_at IS NULL AND t.archetype <> 'private_message' AND p.wiki IS FALSE
      AND p.created_at >= :since
    GROUP BY 1, 2
  UNION ALL
    -- likes given
    SELECT pa.user_id, date_trunc('day', pa.created_at)::date, COUNT(*) * :like_given
    FROM post_actions AS pa
    INNER JOIN posts AS p ON p.id = pa.post_id
    INNER JOIN topics AS t ON t.id = p.topic_id
    WHERE p.deleted_at IS NULL AND t.archetype <> 'private_message' AND p.wiki IS FALSE
      AND pa.post_action_type_id = 2 AND pa.created_at >= :since
    GROUP BY 1, 2
  UNION ALL
    -- likes received: the plugin reads the post's like counter, dated by the post (cheaper
    -- than joining post_actions, so this favours the plugin side of the comparison)
    SELECT p.user_id, date_trunc('day', p.created_at)::date, SUM(p.like_count * :like_received)
    FROM posts AS p
    INNER JOIN topics AS t ON t.id = p.topic_id
    WHERE p.deleted_at IS NULL AND t.archetype <> 'private_message' AND p.wiki IS FALSE
      AND p.created_at >= :since
    GROUP BY 1, 2
  UNION ALL
    -- accepted solutions
    SELECT p.user_id, date_trunc('day', tcf.updated_at)::date, COUNT(tcf.topic_id) * :solution_accepted
    FROM topic_custom_fields AS tcf
    INNER JOIN topics AS t ON t.id = tcf.topic_id
    INNER JOIN posts AS p ON p.id = tcf.value::integer
    WHERE p.deleted_at IS NULL AND t.deleted_at IS NULL AND tcf.name = 'accepted_answer_post_id'
      AND t.archetype <> 'private_message' AND tcf.updated_at >= :since
    GROUP BY 1, 2
  UNION ALL
    -- agreed flags
    SELECT r.created_by_id, date_trunc('day', r.created_at)::date, COUNT(*) * :flag_agreed
    FROM reviewables AS r
    WHERE r.created_at >= :since AND r.status = 1
    GROUP BY 1, 2
  UNION ALL
    -- redeemed invites
    SELECT inv.invited_by_id, date_trunc('day', inv.created_at)::date, SUM(inv.redemption_count) * :user_invited
    FROM invites AS inv
    WHERE inv.created_at >= :since AND inv.redemption_count > 0
    GROUP BY 1, 2
  UNION ALL
    -- score events, at the points they were given
    SELECT se.user_id, se.date, SUM(se.points)
    FROM gamification_score_events AS se
    WHERE se.date >= :since
    GROUP BY 1, 2
) AS source
WHERE user_id IS NOT NULL
GROUP BY 1, 2
ON CONFLICT (user_id, date) DO UPDATE SET score = EXCLUDED.score
