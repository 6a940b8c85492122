"""Ledgers named by number in keys: ledger_numbers, and a ledger_id column leading the keys
of actions and of the projections.

Every index of actions but its primary key, and every projection key, led with the ledger's
name. Building such an index sorts all its rows, and with a text column in front each
comparison goes through the collation, even when the names are equal, where an integer
compares at once. So each ledger gets a number (ledger_numbers, generated on the ledger's
first write) and those keys hold it instead of the name. Events keep the name, which is what their
hash covers; actions.ledger_id is derived from it, as `day` is from occurred_at, and
`scoreledger verify` checks the two agree. For the same reason period_totals names a period
by its length in months (1, 3, 12) rather than 'month', 'quarter' or 'year': that column
comes next in its key, and a text column compared in second place costs as much as one in
first.

Existing actions get their ledger's number here: on PostgreSQL by one UPDATE with the
append-only trigger disabled inside the migration's transaction; on SQLite by copying the
table into its new shape (see `_SQLITE_ACTIONS`), triggers and indexes made afresh. The projections are recreated
empty and the projection state cleared: the next recalculation (or read that catches the
projections up) rebuilds them all.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Callable
from typing import cast

import sqlalchemy as sa
from alembic import op

from ledger.store.append_only import install_append_only
from ledger.store.dialects import dialect_of

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_numbers",
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ledger", sa.String(100), nullable=False, unique=True),
    )
    op.execute(
        "INSERT INTO ledger_numbers (ledger) "
        "SELECT ledger FROM (SELECT ledger FROM batches UNION SELECT ledger FROM projection_state) known ORDER BY ledger"
    )
    op.execute("DROP VIEW replay_actions")  # it reads the columns changed next
    _number_the_actions()
    _create_replay_actions_view(with_ledger_id=True)
    _recreate_projections(
        lambda: sa.Column("ledger_id", sa.Integer, nullable=False),
        sa.Column("period_months", sa.SmallInteger, nullable=False),
        sa.CheckConstraint("period_months IN (1, 3, 12)", name="ck_period_totals_period_months"),
    )


def downgrade() -> None:
    postgres = dialect_of(op.get_bind()).is_postgresql
    _recreate_projections(
        lambda: sa.Column("ledger", sa.String(100), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.CheckConstraint("period IN ('month', 'quarter', 'year')", name="ck_period_totals_period"),
    )
    op.execute("DROP VIEW replay_actions")
    if postgres:
        for index in ("ix_actions_replay", "ix_actions_ledger_user_day"):
            op.drop_index(index, table_name="actions")
        op.drop_constraint("uq_actions_ledger_source_key", "actions", type_="unique")
        op.execute("ALTER TABLE actions ALTER COLUMN source_key TYPE VARCHAR(200) COLLATE pg_catalog.default")
        op.create_unique_constraint("uq_actions_ledger_source_key", "actions", ["ledger", "source_key"])
        op.create_index(
            "ix_actions_replay", "actions", ["ledger", "day", "user_id", "action"], postgresql_include=["quantity", "attributes"]
        )
        op.create_index("ix_actions_ledger_user_day", "actions", ["ledger", "user_id", "day"])
        op.drop_column("actions", "ledger_id")
    else:
        _rebuild_sqlite_actions(numbered=False)
    _create_replay_actions_view(with_ledger_id=False)
    op.drop_table("ledger_numbers")


def _number_the_actions() -> None:
    if dialect_of(op.get_bind()).is_postgresql:
        _number_postgres_actions()
    else:
        _rebuild_sqlite_actions(numbered=True)


def _number_postgres_actions() -> None:
    for index in ("ix_actions_replay", "ix_actions_ledger_user_day"):
        op.drop_index(index, table_name="actions")
    op.drop_constraint("uq_actions_ledger_source_key", "actions", type_="unique")
    op.add_column("actions", sa.Column("ledger_id", sa.Integer, nullable=True))
    op.execute("ALTER TABLE actions DISABLE TRIGGER actions_append_only")
    op.execute("UPDATE actions SET ledger_id = (SELECT number FROM ledger_numbers n WHERE n.ledger = actions.ledger)")
    op.execute("ALTER TABLE actions ENABLE ALWAYS TRIGGER actions_append_only")
    op.alter_column("actions", "ledger_id", nullable=False)
    # Keys compared bytewise: equality is the same under any deterministic collation,
    # and sorting them bytewise to build the unique key is quicker than through the
    # database's collation.
    op.execute('ALTER TABLE actions ALTER COLUMN source_key TYPE VARCHAR(200) COLLATE "C"')
    op.create_unique_constraint("uq_actions_ledger_source_key", "actions", ["ledger_id", "source_key"])
    op.create_index(
        "ix_actions_replay", "actions", ["ledger_id", "day", "user_id", "action"], postgresql_include=["quantity", "attributes"]
    )
    op.create_index("ix_actions_ledger_user_day", "actions", ["ledger_id", "user_id", "day"])


# SQLite's actions before (revision 0001) and after this revision. After, seq is the table's
# own key (INTEGER PRIMARY KEY: the rowid, with no separate index to keep) and the unique
# key is a named index, which a bulk load can set aside and rebuild like the others; the
# UNIQUE table constraint it replaces could not be dropped. A 10M-action load spent most of
# its time keeping those two automatic indexes row by row.
_SQLITE_ACTIONS = {
    True: """CREATE TABLE actions_rebuilt (
    seq INTEGER PRIMARY KEY,
    batch_id BIGINT NOT NULL,
    ledger VARCHAR(100) NOT NULL,
    ledger_id INTEGER NOT NULL,
    source_key VARCHAR(200) NOT NULL,
    user_id BIGINT NOT NULL,
    action VARCHAR(100) NOT NULL,
    occurred_at DATETIME NOT NULL,
    day DATE NOT NULL,
    quantity BIGINT NOT NULL,
    attributes TEXT NOT NULL,
    recorded_at DATETIME NOT NULL
)""",
    False: """CREATE TABLE actions_rebuilt (
    seq BIGINT NOT NULL,
    batch_id BIGINT NOT NULL,
    ledger VARCHAR(100) NOT NULL,
    source_key VARCHAR(200) NOT NULL,
    user_id BIGINT NOT NULL,
    action VARCHAR(100) NOT NULL,
    occurred_at DATETIME NOT NULL,
    day DATE NOT NULL,
    quantity BIGINT NOT NULL,
    attributes TEXT NOT NULL,
    recorded_at DATETIME NOT NULL,
    PRIMARY KEY (seq),
    CONSTRAINT uq_actions_ledger_source_key UNIQUE (ledger, source_key)
)""",
}
_SQLITE_COPY = {
    True: "INSERT INTO actions_rebuilt (seq, batch_id, ledger, ledger_id, source_key, user_id, action, occurred_at, "
    "day, quantity, attributes, recorded_at) SELECT a.seq, a.batch_id, a.ledger, n.number, a.source_key, a.user_id, "
    "a.action, a.occurred_at, a.day, a.quantity, a.attributes, a.recorded_at "
    "FROM actions a JOIN ledger_numbers n ON n.ledger = a.ledger ORDER BY a.seq",
    False: "INSERT INTO actions_rebuilt (seq, batch_id, ledger, source_key, user_id, action, occurred_at, day, "
    "quantity, attributes, recorded_at) SELECT seq, batch_id, ledger, source_key, user_id, action, occurred_at, day, "
    "quantity, attributes, recorded_at FROM actions ORDER BY seq",
}


def _rebuild_sqlite_actions(numbered: bool) -> None:
    """SQLite's actions copied into the table of `_SQLITE_ACTIONS[numbered]`, with its
    indexes and append-only triggers made afresh."""
    op.execute(_SQLITE_ACTIONS[numbered])
    op.execute(_SQLITE_COPY[numbered])
    # The triggers first: DROP TABLE empties the table before dropping it.
    op.execute("DROP TRIGGER actions_no_update")
    op.execute("DROP TRIGGER actions_no_delete")
    op.execute("DROP TABLE actions")
    op.execute("ALTER TABLE actions_rebuilt RENAME TO actions")
    key = "ledger_id" if numbered else "ledger"
    if numbered:
        op.create_index("uq_actions_ledger_source_key", "actions", ["ledger_id", "source_key"], unique=True)
    op.create_index("ix_actions_replay", "actions", [key, "day", "user_id", "action", "quantity", "attributes"])
    op.create_index("ix_actions_ledger_user_day", "actions", [key, "user_id", "day"])
    install_append_only(op.execute, "sqlite", ["actions"])


# The replay_actions view of revision 0002, without and with ledger_id, for each dialect:
# PostgreSQL needs the cast to read attributes as JSON, SQLite reads JSON from text.
_REPLAY_ACTIONS = {
    ("postgresql", False): "CREATE VIEW replay_actions AS SELECT seq, ledger, source_key, user_id, action, occurred_at, "
    "day, quantity, attributes, attributes::json AS attributes_json, recorded_at FROM actions",
    ("postgresql", True): "CREATE VIEW replay_actions AS SELECT seq, ledger, ledger_id, source_key, user_id, action, "
    "occurred_at, day, quantity, attributes, attributes::json AS attributes_json, recorded_at FROM actions",
    ("sqlite", False): "CREATE VIEW replay_actions AS SELECT seq, ledger, source_key, user_id, action, occurred_at, "
    "day, quantity, attributes, attributes AS attributes_json, recorded_at FROM actions",
    ("sqlite", True): "CREATE VIEW replay_actions AS SELECT seq, ledger, ledger_id, source_key, user_id, action, "
    "occurred_at, day, quantity, attributes, attributes AS attributes_json, recorded_at FROM actions",
}


def _create_replay_actions_view(with_ledger_id: bool) -> None:
    op.execute(_REPLAY_ACTIONS[(dialect_of(op.get_bind()).name, with_ledger_id)])


def _recreate_projections(ledger_column: Callable[[], sa.Column], *period_columns: sa.Column | sa.CheckConstraint) -> None:
    """The three projection tables, empty, each with a fresh `ledger_column()` in front;
    period_totals names its period by `period_columns` (the column first, then its check)."""
    ledger_key = ledger_column().name
    for table in ("daily_scores", "user_totals", "period_totals"):
        op.drop_table(table)
    op.create_table(
        "daily_scores",
        ledger_column(),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(ledger_key, "day", "user_id", name="pk_daily_scores", postgresql_include=["points"]),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "user_totals",
        ledger_column(),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(ledger_key, "user_id", name="pk_user_totals"),
    )
    op.create_index("ix_user_totals_ranking", "user_totals", [ledger_key, sa.text("points DESC"), "user_id"])
    op.create_table(
        "period_totals",
        ledger_column(),
        *period_columns,
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            ledger_key,
            cast(sa.Column, period_columns[0]).name,
            "period_start",
            "user_id",
            name="pk_period_totals",
            postgresql_include=["points"],
        ),
        sqlite_with_rowid=False,
    )
    op.execute("DELETE FROM projection_state")
