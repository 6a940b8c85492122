"""On PostgreSQL, period_totals' key no longer carries points, and its pages keep room for
updates: an incremental recalc then moves a (user, period) row in place.

An incremental recalc moves each touched (user, month), (user, quarter) and (user, year) row
by its change (ledger/rollups.py `apply_changes`), three updates per touched user. While the
key carried points (revision 0005), every update changed an indexed column, so PostgreSQL
wrote a new row version elsewhere and a new entry into the key for each. With points out of
the key, and a tenth of each page left free (fillfactor 90), an update stays on its page
and leaves the key alone (a heap-only tuple). A period leaderboard still reads one range of
the key; it now also reads the period's rows in the table, which a rebuild writes in key
order, so those are a few consecutive pages.

The fill factor applies to pages written from now on: the next full recalc, which rewrites
the table, gives every page its room. SQLite's table is its key (WITHOUT ROWID): nothing
changes there.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""

from alembic import op

from ledger.store.dialects import dialect_of

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

DROP_KEY = "ALTER TABLE period_totals DROP CONSTRAINT pk_period_totals"
KEY_WITHOUT_POINTS = (
    DROP_KEY,
    "ALTER TABLE period_totals ADD CONSTRAINT pk_period_totals PRIMARY KEY (ledger_id, period_months, period_start, user_id)",
)
KEY_WITH_POINTS = (
    DROP_KEY,
    "ALTER TABLE period_totals ADD CONSTRAINT pk_period_totals PRIMARY KEY (ledger_id, period_months, period_start, user_id) INCLUDE (points)",
)


def upgrade() -> None:
    _run_on_postgresql(("ALTER TABLE period_totals SET (fillfactor = 90)", *KEY_WITHOUT_POINTS))


def downgrade() -> None:
    _run_on_postgresql(("ALTER TABLE period_totals RESET (fillfactor)", *KEY_WITH_POINTS))


def _run_on_postgresql(statements: tuple[str, ...]) -> None:
    if dialect_of(op.get_bind()).is_postgresql:
        for statement in statements:
            op.execute(statement)
