"""The gamification plugin's scorables as the importer reads them: which shipped query
extracts each one's scoring rows on a given forum, and how a row becomes an action.

Each scorable keeps the plugin's name as the action name. Every row carries the same
columns (key, user_id, occurred_at, quantity, category_id, topic_id, post_id); the action's
source key is `<prefix>:<key>`, stable across runs, and category_id, topic_id and post_id
become attributes where the row has them (category_id is what a `by` rule prices on).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.discourse.forum import Forum, as_datetime
from ledger.discourse.queries import Query, load
from ledger.rows import ActionRow

GENERATIONS = ("G1", "G2", "G3")
# Core migrations newer than this come from a Discourse that bundles the plugin; a forum
# whose newest migration is older runs the standalone plugin (override with --generation).
BUNDLED_SINCE = "20250701000000"


@dataclass(frozen=True)
class Scorable:
    """One scorable: action name, source-key prefix, the tables it needs, and whether the
    plugin applies its category filter to it."""

    action: str
    prefix: str
    tables: tuple[str, ...]
    categorised: bool
    query_name: str
    # The site setting that must be on for the plugin to score it (besides a value > 0).
    enabled_by: str | None = None


SCORABLES: tuple[Scorable, ...] = (
    Scorable("day_visited", "visit", (), False, "day_visited"),
    Scorable("time_read", "visit-time", (), False, "time_read"),
    Scorable("post_read", "visit-posts", (), False, "post_read"),
    Scorable("post_created", "post", (), True, "post_created"),
    Scorable("topic_created", "topic", (), True, "topic_created"),
    Scorable("like_received", "like-received", (), True, "like_received"),
    Scorable("like_given", "like-given", (), True, "like_given"),
    Scorable("solution", "solved-answer", ("discourse_solved_solved_topics",), True, "solution", "solved_enabled"),
    Scorable("flag_created", "reviewable", (), False, "flag_created"),
    Scorable("user_invited", "invite", (), False, "user_invited"),
    Scorable(
        "reaction_received",
        "reaction-received",
        ("discourse_reactions_reaction_users",),
        True,
        "reaction_received",
        "discourse_reactions_enabled",
    ),
    Scorable(
        "reaction_given", "reaction-given", ("discourse_reactions_reaction_users",), True, "reaction_given", "discourse_reactions_enabled"
    ),
    Scorable("chat_message_created", "chat-message", ("chat_messages",), False, "chat_message_created", "chat_enabled"),
    Scorable(
        "chat_reaction_received", "chat-reaction-received", ("chat_message_reactions",), False, "chat_reaction_received", "chat_enabled"
    ),
    Scorable("chat_reaction_given", "chat-reaction-given", ("chat_message_reactions",), False, "chat_reaction_given", "chat_enabled"),
)
BY_ACTION = {scorable.action: scorable for scorable in SCORABLES}
ACTION_NAMES = tuple(BY_ACTION)
# The attributes a scoring row carries when it has them, in sorted order.
ATTRIBUTES = ("category_id", "post_id", "topic_id")


@dataclass(frozen=True)
class ForumShape:
    """What the forum holds: its plugin generation and which optional tables exist."""

    generation: str
    tables: frozenset[str]
    newest_migration: str | None
    detected: bool
    # The forum's clock when it was read (UTC): what a later import reads changes from.
    forum_now: datetime | None = None

    @property
    def solved_answers(self) -> bool:
        """Several dated accepted answers per topic (discourse_solved_topic_answers)."""
        return "discourse_solved_topic_answers" in self.tables

    @property
    def excludes_ineligible(self) -> bool:
        """G2 and G3 score only users active and not suspended at recalculation time."""
        return self.generation in ("G2", "G3")


def detect_shape(forum: Forum, generation: str | None = None) -> ForumShape:
    """Read which tables exist and tell the generation (or take `generation` as given):
    G3 has gamification_leaderboard_scores; G1 and G2 share their tables, and are told apart
    by the newest core migration (see BUNDLED_SINCE)."""
    [row] = forum.run(load("forum_shape"), {})
    newest = row.pop("newest_migration", None)
    clock = row.pop("forum_now", None)
    forum_now = None if clock is None else as_datetime(clock)
    tables = frozenset(name for name, present in row.items() if present)
    if generation is not None:
        return ForumShape(generation, tables, newest, detected=False, forum_now=forum_now)
    if "gamification_leaderboard_scores" in tables:
        found = "G3"
    elif newest is not None and str(newest) < BUNDLED_SINCE:
        found = "G1"
    else:
        found = "G2"
    return ForumShape(found, tables, newest, detected=True, forum_now=forum_now)


# The table each core scorable reads one row of per scoring row (the optional ones read the
# first table they need).
_ROW_TABLES = {
    "day_visited": "user_visits",
    "time_read": "user_visits",
    "post_read": "user_visits",
    "post_created": "posts",
    "topic_created": "topics",
    "like_received": "post_actions",
    "like_given": "post_actions",
    "flag_created": "reviewables",
    "user_invited": "invites",
}


def row_table(scorable: Scorable) -> str:
    """The table whose size bounds how many rows `scorable` reads."""
    return _ROW_TABLES.get(scorable.action) or scorable.tables[0]


def query_for(scorable: Scorable, shape: ForumShape) -> Query | None:
    """The query extracting `scorable`'s rows on a forum of `shape`, or None when a table it
    reads is absent (the plugin that owns it is not installed)."""
    if any(table not in shape.tables for table in scorable.tables):
        return None
    if scorable.action == "solution" and shape.solved_answers and shape.generation == "G3":
        return load("solution_answers")
    return load(scorable.query_name)


def key_prefix(scorable: Scorable, shape: ForumShape) -> str:
    """Source-key prefix: an accepted answer row (G3) is not a solved topic's answer post (G1, G2)."""
    if scorable.action == "solution" and shape.solved_answers and shape.generation == "G3":
        return "solution"
    return scorable.prefix


def action_rows(action: str, prefix: str, page: list[dict[str, Any]]) -> list[ActionRow]:
    """A page of scoring rows as the ledger's actions. Attributes are spelled as
    `canonical_json` spells them (keys sorted, no spaces), without a call per row: this loop
    is most of an import's time in Python."""
    rows = []
    for row in page:
        parts = [f'"{name}":{int(row[name])}' for name in ATTRIBUTES if row[name] is not None]
        moment = row["occurred_at"]
        if not (isinstance(moment, datetime) and moment.tzinfo is None):
            moment = as_datetime(moment)
        rows.append(
            ActionRow(f"{prefix}:{row['key']}", int(row["user_id"]), action, moment, int(row["quantity"]), "{" + ",".join(parts) + "}")
        )
    return rows
