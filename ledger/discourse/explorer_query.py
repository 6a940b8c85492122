"""The one Data Explorer query a hosted forum needs: every shipped query behind a `scorable`
parameter, so that an admin pastes one text and the importer needs one query id.

Each shipped query becomes a branch `WHERE :scorable = '<name>'` of a UNION ALL; Data Explorer
binds the parameter as a literal, so the planner drops every other branch before running.
A branch answers `key` (its paging key) and `row` (the shipped query's row as JSON text),
since the queries' columns differ. A branch names its tables, so a forum without a plugin
(solved, reactions, chat) needs the query composed without that plugin's branches
(`scoreledger discourse explorer-query --without chat`), as does an older forum (G1 or G2:
`--without leaderboards --without solved-answers`); sql/discourse/data_explorer.sql is
`compose()`, for a current forum with every plugin, and a test keeps the two equal.
"""

from __future__ import annotations

from ledger.discourse.queries import as_text_without_comments, load

# The shipped queries an import, schedule-history and verify read, in the order they appear.
READ_BY_IMPORT = (
    "forum_shape",
    "users",
    "user_id_runs",
    "score_events",
    "site_settings",
    "setting_changes",
    "leaderboards",
    "stored_scores",
    "stored_leaderboard_scores",
    "day_visited",
    "time_read",
    "post_read",
    "post_created",
    "topic_created",
    "like_received",
    "like_given",
    "solution",
    "solution_answers",
    "flag_created",
    "user_invited",
    "reaction_received",
    "reaction_given",
    "chat_message_created",
    "chat_reaction_received",
    "chat_reaction_given",
)
# Branches reading tables or columns some forums lack, left out with --without <part>: a
# plugin not installed, discourse-solved before several answers per topic, a plugin
# generation before per-leaderboard values (G1, G2).
PLUGIN_BRANCHES = {
    "solved": ("solution", "solution_answers"),
    "solved-answers": ("solution_answers",),
    "leaderboards": ("leaderboards", "stored_leaderboard_scores"),
    "reactions": ("reaction_received", "reaction_given"),
    "chat": ("chat_message_created", "chat_reaction_received", "chat_reaction_given"),
}
HEADER = """-- name: data_explorer
-- [params]
-- string :scorable = forum_shape
-- bigint :after = 0
-- int :limit = 10000
-- datetime :changed_since = 9999-12-31T00:00:00
-- date :before = 9999-12-31
-- bigint :leaderboard_id = 1
-- scoreledger, Discourse import through Data Explorer: the rows of one shipped query
-- (:scorable names it: a scorable such as post_created, or users, user_id_runs, forum_shape,
-- score_events, site_settings, setting_changes, leaderboards, stored_scores,
-- stored_leaderboard_scores),
-- keyed above :after, at most :limit, as `key` and `row` (the row as JSON). Paste this whole
-- text as one query.
"""


def compose(without: tuple[str, ...] = ()) -> str:
    """The Data Explorer query with a branch for every query the import reads, except those
    of the parts named in `without` (see PLUGIN_BRANCHES)."""
    unknown = sorted(set(without) - set(PLUGIN_BRANCHES))
    if unknown:
        raise ValueError(f"unknown plugin(s) {', '.join(unknown)}: choose among {', '.join(PLUGIN_BRANCHES)}")
    left_out = {name for plugin in without for name in PLUGIN_BRANCHES[plugin]}
    branches = []
    for name in READ_BY_IMPORT:
        if name in left_out:
            continue
        key = "0" if name == "forum_shape" else "CAST(q.key AS bigint)"
        body = as_text_without_comments(load(name).text)
        branches.append(f"SELECT {key} AS key, CAST(row_to_json(q) AS text) AS row FROM (\n{body}\n) AS q\nWHERE :scorable = '{name}'")
    union = "\nUNION ALL\n".join(f"({branch})" for branch in branches)
    return f"{HEADER}SELECT everything.key, everything.row FROM (\n{union}\n) AS everything\nORDER BY everything.key\n"
