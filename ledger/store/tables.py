"""The database tables, as SQLAlchemy Core metadata.

Event tables (`batches`, `actions`, `schedule_*`) are append-only: the migration that creates
them also installs database triggers that refuse UPDATE, DELETE and TRUNCATE. Every event row
carries `seq`, a gap-free global sequence number handed out per batch, and `recorded_at`,
the time the ledger learned it. Times are naive UTC on both backends. On SQLite the columns
of these tables, of ledger_numbers and of the projections refuse a value of another type
(CHECK constraints made by the migrations, ledger/store/typed_columns.py and migration 0019,
which says which columns of actions; not declared here).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from ledger.store.projection_parts import DAILY, PERIODS

metadata = MetaData()

# One row per committed write: the journal. `first_seq..last_seq` are the events it added;
# `prev_hash`/`hash` chain the batches together (see ledger/store/journal.py). A batch's row
# is written after its events, carrying their hash, so events hold `batch_id` without a
# foreign key; `scoreledger verify` checks that every event belongs to a batch.
batches = Table(
    "batches",
    metadata,
    Column("batch_id", BigInteger, primary_key=True, autoincrement=False),
    Column("ledger", String(100), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("event_count", Integer, nullable=False),
    Column("origin", Text, nullable=True),
    Column("prev_hash", String(64), nullable=True),
    Column("hash", String(64), nullable=True),
    # HMAC of `hash` under SCORELEDGER_CHAIN_KEY when it was set (migration 0014); not hashed.
    Column("mac", String(64), nullable=True),
)

# Each ledger's number, by which actions and the projection tables name it in their keys
# (migration 0006): a full rebuild sorts every projected row to build those keys, and an
# integer in front compares far faster than the ledger's name through its collation; so
# do the indexes a bulk ingest builds. A ledger gets
# its number, generated here, the first time it is written to (ledger/store/ledger_numbers.py).
ledger_numbers = Table(
    "ledger_numbers",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=True),
    Column("ledger", String(100), nullable=False, unique=True),
    # Running totals that bound what the ledger's scores can add up to (migration 0017,
    # ledger/store/quantity_caps.py).
    Column("quantity_total", BigInteger, nullable=False, server_default="0"),
    Column("adjustment_total", BigInteger, nullable=False, server_default="0"),
    # The ledger's time zone (IANA name) for days and periods; NULL is UTC (migration 0016).
    Column("timezone", String(64), nullable=True),
)

actions = Table(
    "actions",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("batch_id", BigInteger, nullable=False),
    Column("ledger", String(100), nullable=False),
    # The ledger's number (ledger_numbers, migration 0006), which keys hold instead of its
    # name: an integer compares far faster. Derived, like `day`, so not hashed;
    # `scoreledger verify` checks it against the name.
    Column("ledger_id", Integer, nullable=False),
    # COLLATE "C" on PostgreSQL (migration 0006): compared bytewise.
    Column("source_key", String(200), nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("action", String(100), nullable=False),
    Column("occurred_at", DateTime, nullable=False),
    # The UTC day of occurred_at, stored so replay can join on it without date functions.
    Column("day", Date, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    # Canonical JSON text (sorted keys), identical on both backends and stable for hashing.
    Column("attributes", Text, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    # On SQLite a unique index of that name (0006), so bulk loads can set it aside too.
    # These two keys lead with the column that tells rows apart, not ledger_id: building
    # them sorts every row, and a column that ties on every comparison slows each one down
    # (migration 0007). Their lookups fix both leading columns by equality.
    UniqueConstraint("source_key", "ledger_id", name="uq_actions_source_key_ledger"),
    # A user's actions in the audit's order, carrying everything the audit shows, so that it
    # reads one range of this index alone (migrations 0008 and 0010; on SQLite the carried
    # columns are trailing key columns).
    Index(
        "ix_actions_user_history",
        "user_id",
        "ledger_id",
        "day",
        "occurred_at",
        "seq",
        postgresql_include=["action", "source_key", "quantity", "attributes"],
    ),
    # Covers everything pricing reads, in (day, user, action) order (migration 0004; on
    # SQLite quantity and attributes are trailing key columns instead of INCLUDEd).
    Index("ix_actions_replay", "ledger_id", "day", "user_id", "action", postgresql_include=["quantity", "attributes"]),
)

# An action as it was recorded (`ledger.rows.ActionRow`'s fields, in its order).
ACTION_ROW_COLUMNS = (
    actions.c.source_key,
    actions.c.user_id,
    actions.c.action,
    actions.c.occurred_at,
    actions.c.quantity,
    actions.c.attributes,
)

schedule_versions = Table(
    "schedule_versions",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("batch_id", BigInteger, nullable=False),
    Column("ledger", String(100), nullable=False),
    # Digest of the version's content: importing the same version again is a no-op.
    Column("version_key", String(64), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("levels", Text, nullable=True),
    # The version's scoring period (migration 0018): off, or on from a start date.
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("start_date", Date, nullable=True),
    Column("author", Text, nullable=True),
    Column("reason", Text, nullable=True),
    Column("link", Text, nullable=True),
    Column("retroactive", Boolean, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    UniqueConstraint("ledger", "version_key", name="uq_schedule_versions_ledger_key"),
    Index("ix_schedule_versions_ledger_from", "ledger", "effective_from"),
)

# A version's complete rule set (not a delta), one row per action type, so replay can join
# actions to the rule in force with plain SQL.
schedule_rules = Table(
    "schedule_rules",
    metadata,
    Column("version_seq", BigInteger, ForeignKey("schedule_versions.seq"), nullable=False),
    Column("action", String(100), nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("per", BigInteger, nullable=True),
    Column("min_quantity", BigInteger, nullable=True),
    Column("by_attribute", String(100), nullable=True),
    PrimaryKeyConstraint("version_seq", "action", name="pk_schedule_rules"),
)

schedule_rule_points = Table(
    "schedule_rule_points",
    metadata,
    Column("version_seq", BigInteger, nullable=False),
    Column("action", String(100), nullable=False),
    Column("attribute_value", String(200), nullable=False),
    Column("points", BigInteger, nullable=False),
    PrimaryKeyConstraint("version_seq", "action", "attribute_value", name="pk_schedule_rule_points"),
)


# Corrections (migration 0011): everything that changes a score after the fact is a new event,
# booked on the day it was made; nothing recorded is ever edited (docs: README "Corrections").

# Points given to a user on a day with a reason. `kind` manual and imported count in scores;
# compensation records what was sent to an outside system and does not.
adjustments = Table(
    "adjustments",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("batch_id", BigInteger, nullable=False),
    Column("ledger", String(100), nullable=False),
    Column("ledger_id", Integer, nullable=False),
    Column("adjustment_key", String(200), nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("day", Date, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("reason", Text, nullable=False),
    Column("author", Text, nullable=True),
    Column("reference", Text, nullable=True),
    Column("recorded_at", DateTime, nullable=False),
    UniqueConstraint("adjustment_key", "ledger_id", name="uq_adjustments_key_ledger"),
    Index("ix_adjustments_day", "ledger_id", "day", "user_id"),
    Index("ix_adjustments_user", "user_id", "ledger_id", "day"),
)

# A retraction, reinstatement or amendment of a recorded action, booked at `booked_at`
# (its `day`). Each row carries the action's state before and after it (NULL quantity: not
# counting), so that pricing books new minus old at the version of the action's own day
# (`action_day`) without replaying the key's history.
corrections = Table(
    "corrections",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("batch_id", BigInteger, nullable=False),
    Column("ledger", String(100), nullable=False),
    Column("ledger_id", Integer, nullable=False),
    Column("source_key", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("booked_at", DateTime, nullable=False),
    Column("day", Date, nullable=False),
    Column("reason", Text, nullable=True),
    Column("user_id", BigInteger, nullable=False),
    Column("action", String(100), nullable=False),
    Column("action_day", Date, nullable=False),
    Column("old_quantity", BigInteger, nullable=True),
    Column("old_attributes", Text, nullable=True),
    Column("new_quantity", BigInteger, nullable=True),
    Column("new_attributes", Text, nullable=True),
    Column("recorded_at", DateTime, nullable=False),
    Index("ix_corrections_day", "ledger_id", "day", "user_id"),
    # Also how a key's corrections are found: through its action's bucket (migration 0021).
    Index("ix_corrections_bucket", "ledger_id", "user_id", "action_day", "action"),
)

# User `source_user` merged into `target_user`: every event of the source, past and future,
# counts for the target (chains are followed).
merges = Table(
    "merges",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("batch_id", BigInteger, nullable=False),
    Column("ledger", String(100), nullable=False),
    Column("ledger_id", Integer, nullable=False),
    Column("source_user", BigInteger, nullable=False),
    Column("target_user", BigInteger, nullable=False),
    Column("merged_at", DateTime, nullable=False),
    Column("reason", Text, nullable=True),
    Column("recorded_at", DateTime, nullable=False),
    Index("ix_merges_ledger", "ledger_id", "source_user"),
)

# That a compensation is about to be sent to an outside system (recorded before the send; the
# compensation adjustment of the same key, with the system's id as its reference, after it),
# so that a send interrupted between the two is looked up there before it is sent again.
compensation_intents = Table(
    "compensation_intents",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("batch_id", BigInteger, nullable=False),
    Column("ledger", String(100), nullable=False),
    Column("ledger_id", Integer, nullable=False),
    Column("intent_key", String(200), nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("day", Date, nullable=False),
    Column("reason", Text, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Index("ix_compensation_intents_key", "ledger_id", "intent_key"),
)

# User keys (migration 0015): the number each key of a ledger is kept as, for keys that are
# not a direct integer (ledger/user_keys.py), unique both ways. Hash-chained like every event
# table, since changing a row would hand a user's points to another key.
user_keys = Table(
    "user_keys",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("batch_id", BigInteger, nullable=False),
    Column("ledger", String(100), nullable=False),
    Column("ledger_id", Integer, nullable=False),
    Column("user_key", String(200), nullable=False),
    Column("user_number", BigInteger, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    UniqueConstraint("user_key", "ledger_id", name="uq_user_keys_key_ledger"),
    UniqueConstraint("user_number", "ledger_id", name="uq_user_keys_number_ledger"),
)

# A user's username and display name as of `recorded_at`; the latest row of a user wins.
# Names only label outputs: they never change a score.
user_names = Table(
    "user_names",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("batch_id", BigInteger, nullable=False),
    Column("ledger", String(100), nullable=False),
    Column("ledger_id", Integer, nullable=False),
    Column("user_number", BigInteger, nullable=False),
    Column("username", Text, nullable=True),
    Column("name", Text, nullable=True),
    Column("recorded_at", DateTime, nullable=False),
    Index("ix_user_names_user", "ledger_id", "user_number", "seq"),
)

EVENT_TABLES = (
    "batches",
    "actions",
    "schedule_versions",
    "schedule_rules",
    "schedule_rule_points",
    "adjustments",
    "corrections",
    "merges",
    "compensation_intents",
    "user_keys",
    "user_names",
)

# Projections (migration 0002): derived, rebuildable read models, not events. `recalc`
# replaces their rows; `projection_state.through_seq` is the journal sequence number up to
# which every event of the ledger is reflected in them. On PostgreSQL all four are UNLOGGED
# (migration 0009; daily_scores' parts, 0022): a crash of the server empties them together,
# and the ledger rebuilds.
daily_scores = Table(
    "daily_scores",
    metadata,
    Column("ledger_id", Integer, nullable=False),
    Column("day", Date, nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("points", BigInteger, nullable=False),
    # Day-major and carrying points, so period leaderboards read the key alone (0004); on
    # SQLite the table is WITHOUT ROWID, i.e. it is this key.
    PrimaryKeyConstraint("ledger_id", "day", "user_id", name="pk_daily_scores", postgresql_include=["points"]),
    sqlite_with_rowid=False,
    # On PostgreSQL, each ledger's rows in parts over ranges of days, which a full rebuild
    # replaces whole (0022, ledger/store/projection_parts.py).
    postgresql_partition_by=DAILY.partition_by,
)

user_totals = Table(
    "user_totals",
    metadata,
    Column("ledger_id", Integer, nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("points", BigInteger, nullable=False),
    PrimaryKeyConstraint("ledger_id", "user_id", name="pk_user_totals"),
    # The all-time leaderboard walks this in rank order and stops at its limit (0003).
    Index("ix_user_totals_ranking", "ledger_id", text("points DESC"), "user_id"),
)

# Points per user in each calendar month, quarter and year (migration 0005), so that the
# leaderboard of one such period reads only that period's rows instead of summing
# daily_scores over it. Kept by ledger/rollups.py in the same transaction
# as daily_scores; a user with daily rows in a period has a row here, even at 0 points.
period_totals = Table(
    "period_totals",
    metadata,
    Column("ledger_id", Integer, nullable=False),
    # The period's length: 1 (a month), 3 (a quarter) or 12 (a year). A number, not a name:
    # this column follows the ledger in the key, so building the key compares it in nearly
    # every step, and text compares far slower.
    Column("period_months", SmallInteger, nullable=False),
    # The period's first day: the 1st of its month, of its quarter's first month, or Jan 1.
    Column("period_start", Date, nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("points", BigInteger, nullable=False),
    # One period's rows are one range of the key (0005): a leaderboard keeps the top ones; no
    # index in points order to rebuild. On PostgreSQL the key leaves points out and pages keep
    # room, so a recalc's updates stay in place (0020). SQLite: WITHOUT ROWID.
    PrimaryKeyConstraint("ledger_id", "period_months", "period_start", "user_id", name="pk_period_totals"),
    CheckConstraint("period_months IN (1, 3, 12)", name="ck_period_totals_period_months"),
    sqlite_with_rowid=False,
    # On PostgreSQL, in parts as daily_scores (0022): each range's months and quarters, and
    # the years, of a ledger.
    postgresql_partition_by=PERIODS.partition_by,
)

projection_state = Table(
    "projection_state",
    metadata,
    Column("ledger", String(100), primary_key=True),
    Column("through_seq", BigInteger, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("rebuilt_at", DateTime, nullable=True),
)

PROJECTION_TABLES = ("daily_scores", "user_totals", "period_totals", "projection_state")
