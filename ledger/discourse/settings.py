"""The plugin's point values as schedules: its defaults, a forum's current settings, and the
dated history of changes rebuilt from the staff action log.

How each scorable's measure is priced so that the ledger reproduces the plugin:
- time_read: quantity = seconds read in the visit; `per: 3600`, `min_quantity: 60` gives
  floor(seconds / 3600) * value per user and day, as the plugin's SUM(time_read) / 3600;
- post_read: quantity = posts read; `per: 100`, `min_quantity: 5`;
- user_invited: quantity = redemption_count; value * quantity, as the plugin's SUM;
- everything else: one unit per row, `value` points.
The category filter (`scorable_categories`, exact ids, subcategories not expanded) is a `by`
table on category_id listing the scoring categories at the value; a row of any other
category, or none, earns 0. A plugin that is turned off (solved_enabled, chat_enabled,
discourse_reactions_enabled) scores its scorables at 0.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from ledger.discourse.forum import Forum, as_datetime, pages
from ledger.discourse.queries import load
from ledger.discourse.scorables import SCORABLES
from ledger.domain import Rule, ScheduleVersion

# config/settings.yml of the plugin: `<scorable>_score_value` defaults.
DEFAULT_VALUES: dict[str, int] = {
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
MEASURED = {"time_read": (3600, 60), "post_read": (100, 5)}
# Versions before any logged change start here: before any forum's first day.
FIRST_DAY = date(1970, 1, 1)
TRUE_VALUES = ("t", "true", "1")
CATEGORIES = "scorable_categories"


@dataclass(frozen=True)
class PointValues:
    """What the plugin would score with: every scorable's value, the scoring categories
    (empty: every category), and which plugins are on."""

    values: Mapping[str, int]
    categories: tuple[int, ...] = ()
    enabled: Mapping[str, bool] = field(default_factory=dict)

    def rules(self) -> dict[str, Rule]:
        """The ledger rules pricing the imported actions as the plugin scores them."""
        rules: dict[str, Rule] = {}
        for scorable in SCORABLES:
            value = self.values.get(scorable.action, DEFAULT_VALUES[scorable.action])
            if scorable.enabled_by is not None and not self.enabled.get(scorable.enabled_by, True):
                value = 0
            if scorable.action in MEASURED:
                per, minimum = MEASURED[scorable.action]
                rules[scorable.action] = Rule(value=value, per=per, min_quantity=minimum)
            elif scorable.categorised and self.categories and value:
                rules[scorable.action] = Rule(by={"category_id": {str(c): value for c in self.categories}})
            else:
                rules[scorable.action] = Rule(value=value)
        return rules

    def with_setting(self, name: str, value: str | None) -> PointValues:
        """These values with one site setting changed (`*_score_value` or scorable_categories)."""
        if name == CATEGORIES:
            return PointValues(self.values, parse_categories(value), self.enabled)
        action = name.removesuffix("_score_value")
        if action not in DEFAULT_VALUES:
            return self
        return PointValues({**self.values, action: parse_value(value, DEFAULT_VALUES[action])}, self.categories, self.enabled)


def parse_categories(text: str | None) -> tuple[int, ...]:
    """A category_list setting ("3|7|12") as ids, as the plugin reads it (to_i of each)."""
    return tuple(int(part) for part in (text or "").split("|") if part.strip().lstrip("-").isdigit())


def parse_value(text: str | None, default: int) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        return default


def defaults() -> PointValues:
    return PointValues(dict(DEFAULT_VALUES))


def default_schedule(effective_from: date = FIRST_DAY) -> ScheduleVersion:
    """The plugin's default values as one schedule version."""
    return ScheduleVersion(effective_from=effective_from, rules=defaults().rules(), reason="Discourse gamification defaults")


def current_values(forum: Forum) -> PointValues:
    """The forum's settings now: stored values, else the plugin's defaults."""
    stored = {row["name"]: row["value"] for page in pages(forum, load("site_settings")) for row in page}
    values = defaults()
    for name, value in stored.items():
        values = values.with_setting(name, value)
    enabled = {
        name: str(stored.get(name, "t")).lower() in TRUE_VALUES
        for name in ("solved_enabled", "chat_enabled", "discourse_reactions_enabled")
    }
    return PointValues(values.values, values.categories, enabled)


@dataclass(frozen=True)
class LeaderboardValues:
    """A G3 leaderboard's own point values (overrides) and categories (None: the site's)."""

    leaderboard_id: int
    name: str
    overrides: Mapping[str, int]
    categories: tuple[int, ...] | None

    def applied_to(self, site: PointValues) -> PointValues:
        return PointValues(
            {**site.values, **self.overrides},
            site.categories if self.categories is None else self.categories,
            site.enabled,
        )


def leaderboards(forum: Forum) -> list[LeaderboardValues]:
    """Every leaderboard with its overrides (G3 forums)."""
    found = []
    for page in pages(forum, load("leaderboards")):
        for row in page:
            overrides = json.loads(row["score_overrides"]) if row.get("score_overrides") else {}
            categories = None if row["categories_from_site"] else parse_categories(row["scorable_category_ids"])
            found.append(LeaderboardValues(int(row["key"]), row["name"], {k: int(v) for k, v in overrides.items()}, categories))
    return found


@dataclass(frozen=True)
class SettingChange:
    """One logged change of a gamification setting (user_histories action 3)."""

    subject: str
    previous_value: str | None
    new_value: str | None
    at: datetime
    author: str | None
    details: str | None


def setting_changes(forum: Forum) -> list[SettingChange]:
    """The staff log's changes of `*_score_value` and scorable_categories, oldest first."""
    changes = [
        SettingChange(
            row["subject"],
            row["previous_value"],
            row["new_value"],
            as_datetime(row["created_at"]),
            row["acting_username"],
            row.get("details"),
        )
        for page in pages(forum, load("setting_changes"))
        for row in page
        if row["subject"] == CATEGORIES or row["subject"].removesuffix("_score_value") in DEFAULT_VALUES
    ]
    return sorted(changes, key=lambda change: change.at)


def history(current: PointValues, changes: Iterable[SettingChange], overlay: LeaderboardValues | None = None) -> list[ScheduleVersion]:
    """Dated versions from the log: a first version (from FIRST_DAY) with the values before
    the earliest logged change of each setting (a setting never logged keeps its current
    value, which is the default unless changed outside the admin page), then one version per
    UTC day on which values changed, with the day's authors and a reason naming the changes.
    `overlay` applies a G3 leaderboard's overrides to every version (they are not logged)."""
    changes = list(changes)
    first = current
    for change in reversed(changes):
        first = first.with_setting(change.subject, change.previous_value)
    by_day: dict[date, list[SettingChange]] = {}
    for change in changes:
        by_day.setdefault(change.at.date(), []).append(change)

    def rules(values: PointValues) -> dict[str, Rule]:
        return (overlay.applied_to(values) if overlay else values).rules()

    versions = [
        ScheduleVersion(effective_from=FIRST_DAY, rules=rules(first), reason="values before the first logged change (Discourse staff log)")
    ]
    values = first
    for day, day_changes in sorted(by_day.items()):
        for change in day_changes:
            values = values.with_setting(change.subject, change.new_value)
        authors = sorted({change.author for change in day_changes if change.author})
        described = "; ".join(
            f"{c.subject} {c.previous_value or ''} -> {c.new_value or ''}" + (f" ({c.details})" if c.details else "") for c in day_changes
        )
        versions.append(
            ScheduleVersion(
                effective_from=day,
                rules=rules(values),
                author=", ".join(authors) or None,
                reason=f"Discourse staff log: {described}"[:1000],
            )
        )
    return versions
