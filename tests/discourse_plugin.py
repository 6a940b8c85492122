"""The gamification plugin's own recalculation, per generation, as its SQL does it: the
importer's oracle.

`calculate_scores(conn, generation, since)` deletes the score rows dated on or after `since`
and inserts, per (user, day), the sum of every enabled scorable at the site's current values
plus the score events dated on or after `since`; G2 and G3 keep only users active and not
suspended at the time; G3 does it per leaderboard, with each leaderboard's overrides and
categories. Written independently of the library, from the plugin's scorable queries
(discourse-gamification lib/discourse_gamification/scorables/*.rb and core's
plugins/discourse-gamification).
"""

from __future__ import annotations

from datetime import date

import psycopg

# config/settings.yml of the plugin.
DEFAULT_VALUES = {
    "day_visited": 1,
    "time_read": 1,
    "post_read": 1,
    "post_created": 2,
    "topic_created": 5,
    "like_received": 1,
    "like_given": 1,
    "solution": 10,
    "flag_created": 10,
    "user_invited": 10,
    "reaction_received": 1,
    "reaction_given": 1,
    "chat_message_created": 1,
    "chat_reaction_received": 1,
    "chat_reaction_given": 1,
}
ALL_TIME = date(2014, 8, 26)


def _setting(conn: psycopg.Connection, name: str) -> str | None:
    row = conn.execute("SELECT value FROM site_settings WHERE name = %s", (name,)).fetchone()
    return None if row is None else row[0]


def _scorable_queries(conn: psycopg.Connection, values: dict[str, int], categories: str, solved_answers: bool) -> list[str]:
    enabled = {name: value > 0 for name, value in values.items()}
    chat = _setting(conn, "chat_enabled") in ("t", "true")
    solved = _setting(conn, "solved_enabled") in ("t", "true")
    reactions = _setting(conn, "discourse_reactions_enabled") in ("t", "true")
    t_filter = f"AND t.category_id IN ({categories})" if categories else ""
    topics_filter = f"AND topics.category_id IN ({categories})" if categories else ""
    v = values
    queries: dict[str, str] = {
        "like_given": f"""
            SELECT pa.user_id AS user_id, date_trunc('day', pa.created_at) AS date, COUNT(*) * {v["like_given"]} AS points
            FROM post_actions AS pa INNER JOIN posts AS p ON p.id = pa.post_id
            INNER JOIN topics AS t ON t.id = p.topic_id {t_filter}
            WHERE p.deleted_at IS NULL AND t.archetype <> 'private_message' AND p.wiki IS FALSE
              AND post_action_type_id = 2 AND pa.created_at >= %(since)s
            GROUP BY 1, 2""",
        "like_received": f"""
            SELECT p.user_id AS user_id, date_trunc('day', pa.created_at) AS date, COUNT(*) * {v["like_received"]} AS points
            FROM post_actions AS pa INNER JOIN posts AS p ON p.id = pa.post_id
            INNER JOIN topics AS t ON t.id = p.topic_id {t_filter}
            WHERE p.deleted_at IS NULL AND t.archetype <> 'private_message' AND p.wiki IS FALSE
              AND post_action_type_id = 2 AND pa.created_at >= %(since)s
            GROUP BY 1, 2""",
        "user_invited": f"""
            SELECT inv.invited_by_id AS user_id, date_trunc('day', inv.created_at) AS date,
                   SUM(inv.redemption_count * {v["user_invited"]}) AS points
            FROM invites AS inv WHERE inv.created_at >= %(since)s AND inv.redemption_count > 0
            GROUP BY 1, 2""",
        "time_read": f"""
            SELECT uv.user_id AS user_id, date_trunc('day', uv.visited_at) AS date,
                   SUM(uv.time_read) / 3600 * {v["time_read"]} AS points
            FROM user_visits AS uv WHERE uv.visited_at >= %(since)s AND uv.time_read >= 60
            GROUP BY 1, 2""",
        "post_read": f"""
            SELECT uv.user_id AS user_id, date_trunc('day', uv.visited_at) AS date,
                   SUM(uv.posts_read) / 100 * {v["post_read"]} AS points
            FROM user_visits AS uv WHERE uv.visited_at >= %(since)s AND uv.posts_read >= 5
            GROUP BY 1, 2""",
        "topic_created": f"""
            SELECT t.user_id AS user_id, date_trunc('day', t.created_at) AS date, COUNT(*) * {v["topic_created"]} AS points
            FROM topics AS t
            WHERE t.deleted_at IS NULL AND t.archetype <> 'private_message' AND t.created_at >= %(since)s {t_filter}
            GROUP BY 1, 2""",
        "post_created": f"""
            SELECT p.user_id AS user_id, date_trunc('day', p.created_at) AS date, COUNT(*) * {v["post_created"]} AS points
            FROM posts AS p INNER JOIN topics AS t ON t.id = p.topic_id {t_filter}
            WHERE p.deleted_at IS NULL AND t.deleted_at IS NULL AND t.archetype <> 'private_message'
              AND p.post_number <> 1 AND p.post_type = 1 AND p.wiki IS FALSE AND p.hidden IS FALSE
              AND p.created_at >= %(since)s
            GROUP BY 1, 2""",
        "flag_created": f"""
            SELECT r.created_by_id AS user_id, date_trunc('day', r.created_at) AS date, COUNT(*) * {v["flag_created"]} AS points
            FROM reviewables AS r WHERE created_at >= %(since)s AND status = 1
            GROUP BY 1, 2""",
        "day_visited": f"""
            SELECT uv.user_id AS user_id, date_trunc('day', uv.visited_at) AS date, COUNT(*) * {v["day_visited"]} AS points
            FROM user_visits AS uv WHERE uv.visited_at >= %(since)s
            GROUP BY 1, 2""",
    }
    if solved and enabled["solution"]:
        if solved_answers:
            queries["solution"] = f"""
                SELECT posts.user_id AS user_id, date_trunc('day', dsta.created_at) AS date,
                       COUNT(dsst.topic_id) * {v["solution"]} AS points
                FROM discourse_solved_solved_topics dsst
                INNER JOIN topics ON dsst.topic_id = topics.id {topics_filter}
                INNER JOIN discourse_solved_topic_answers dsta ON dsta.solved_topic_id = dsst.id
                INNER JOIN posts ON posts.id = dsta.answer_post_id
                WHERE posts.deleted_at IS NULL AND topics.deleted_at IS NULL
                  AND topics.archetype <> 'private_message' AND posts.user_id != topics.user_id
                  AND dsta.created_at >= %(since)s
                GROUP BY 1, 2"""
        else:
            queries["solution"] = f"""
                SELECT posts.user_id AS user_id, date_trunc('day', dsst.updated_at) AS date,
                       COUNT(dsst.topic_id) * {v["solution"]} AS points
                FROM discourse_solved_solved_topics dsst
                INNER JOIN topics ON dsst.topic_id = topics.id {topics_filter}
                INNER JOIN posts ON posts.id = dsst.answer_post_id
                WHERE posts.deleted_at IS NULL AND topics.deleted_at IS NULL
                  AND topics.archetype <> 'private_message' AND posts.user_id != topics.user_id
                  AND dsst.updated_at >= %(since)s
                GROUP BY 1, 2"""
    if reactions:
        queries["reaction_given"] = f"""
            SELECT reactions.user_id AS user_id, date_trunc('day', reactions.created_at) AS date, COUNT(*) * {v["reaction_given"]} AS points
            FROM discourse_reactions_reaction_users AS reactions
            INNER JOIN posts AS p ON p.id = reactions.post_id
            INNER JOIN topics AS t ON t.id = p.topic_id {t_filter}
            WHERE p.deleted_at IS NULL AND t.deleted_at IS NULL AND p.wiki IS FALSE AND reactions.created_at >= %(since)s
            GROUP BY 1, 2"""
        queries["reaction_received"] = f"""
            SELECT p.user_id AS user_id, date_trunc('day', reactions.created_at) AS date, COUNT(*) * {v["reaction_received"]} AS points
            FROM discourse_reactions_reaction_users AS reactions
            INNER JOIN posts AS p ON p.id = reactions.post_id
            INNER JOIN topics AS t ON t.id = p.topic_id {t_filter}
            WHERE p.deleted_at IS NULL AND t.archetype <> 'private_message' AND p.wiki IS FALSE AND reactions.created_at >= %(since)s
            GROUP BY 1, 2"""
    if chat:
        queries["chat_message_created"] = f"""
            SELECT m.user_id, date_trunc('day', m.created_at) AS date, COUNT(*) * {v["chat_message_created"]} AS points
            FROM chat_messages AS m JOIN chat_channels AS c ON c.id = m.chat_channel_id
            LEFT JOIN (
              SELECT direct_message_channel_id FROM direct_message_users
              GROUP BY direct_message_channel_id HAVING COUNT(DISTINCT user_id) > 1
            ) AS dm ON dm.direct_message_channel_id = c.chatable_id
            WHERE m.created_at >= %(since)s AND m.deleted_at IS NULL
              AND (c.chatable_type <> 'DirectMessage' OR dm.direct_message_channel_id IS NOT NULL)
            GROUP BY m.user_id, date_trunc('day', m.created_at)"""
        for name, who in (("chat_reaction_given", "reactions.user_id"), ("chat_reaction_received", "cm.user_id")):
            queries[name] = f"""
                SELECT {who} AS user_id, date_trunc('day', reactions.created_at) AS date, COUNT(*) * {v[name]} AS points
                FROM chat_message_reactions AS reactions
                INNER JOIN chat_messages AS cm ON cm.id = reactions.chat_message_id
                INNER JOIN chat_channels AS cc ON cc.id = cm.chat_channel_id
                WHERE cc.deleted_at IS NULL AND cm.deleted_at IS NULL AND cm.user_id <> reactions.user_id
                  AND reactions.created_at >= %(since)s
                GROUP BY 1, 2"""
    return [f"( {query} )" for name, query in queries.items() if enabled[name]]


def site_values(conn: psycopg.Connection) -> dict[str, int]:
    """Every scorable's `<name>_score_value`: the stored setting, else the default."""
    return {name: int(_setting(conn, f"{name}_score_value") or default) for name, default in DEFAULT_VALUES.items()}


def _events(include_events: bool) -> str:
    where = "" if include_events else "AND false"
    return f"SELECT user_id, date, SUM(points) AS points FROM gamification_score_events WHERE date >= %(since)s {where} GROUP BY 1, 2"


def calculate_scores(conn: psycopg.Connection, generation: str, since: date = ALL_TIME, *, include_events: bool = True) -> None:
    """Recalculate the scores table(s) from `since`, as `generation`'s plugin does."""
    solved_answers = conn.execute("SELECT to_regclass('discourse_solved_topic_answers') IS NOT NULL").fetchone()[0]
    site_categories = ", ".join(str(int(c)) for c in (_setting(conn, "scorable_categories") or "").split("|") if c)
    eligible = (
        "JOIN users AS u ON u.id = source.user_id WHERE user_id IS NOT NULL"
        " AND (u.suspended_till IS NULL OR u.suspended_till < CURRENT_TIMESTAMP) AND u.active"
    )
    if generation in ("G1", "G2"):
        union = " UNION ALL ".join(_scorable_queries(conn, site_values(conn), site_categories, solved_answers))
        conn.execute("DELETE FROM gamification_scores WHERE date >= %(since)s", {"since": since})
        conn.execute(
            f"""INSERT INTO gamification_scores (user_id, date, score)
            SELECT user_id, date, SUM(points) AS score
            FROM ({union} UNION ALL {_events(include_events)}) AS source
            {eligible if generation == "G2" else "WHERE user_id IS NOT NULL"}
            GROUP BY 1, 2
            ON CONFLICT (user_id, date) DO UPDATE SET score = EXCLUDED.score""",
            {"since": since},
        )
        return
    for leaderboard_id, overrides, categories in conn.execute(
        "SELECT id, score_overrides, scorable_category_ids FROM gamification_leaderboards ORDER BY id"
    ).fetchall():
        values = {**site_values(conn), **(overrides or {})}
        category_list = site_categories if categories is None else ", ".join(str(c) for c in categories)
        queries = _scorable_queries(conn, values, category_list, solved_answers)
        source = " UNION ALL ".join([*queries, _events(include_events)])
        conn.execute(
            "DELETE FROM gamification_leaderboard_scores WHERE leaderboard_id = %(lb)s AND date >= %(since)s",
            {"lb": leaderboard_id, "since": since},
        )
        conn.execute(
            f"""INSERT INTO gamification_leaderboard_scores (leaderboard_id, user_id, date, score)
            SELECT %(lb)s, user_id, date, SUM(points) AS score
            FROM ({source}) AS source
            {eligible}
            GROUP BY user_id, date
            ON CONFLICT (leaderboard_id, user_id, date) DO UPDATE SET score = EXCLUDED.score""",
            {"lb": leaderboard_id, "since": since},
        )


def totals(conn: psycopg.Connection, generation: str, leaderboard_id: int | None = None) -> dict[int, int]:
    """Each user's total in the scores table (G3: of one leaderboard); users at 0 left out."""
    if generation == "G3":
        rows = conn.execute(
            "SELECT user_id, SUM(score) FROM gamification_leaderboard_scores WHERE leaderboard_id = %s GROUP BY 1",
            (leaderboard_id,),
        ).fetchall()
    else:
        rows = conn.execute("SELECT user_id, SUM(score) FROM gamification_scores GROUP BY 1").fetchall()
    return {user_id: int(total) for user_id, total in rows if total}
