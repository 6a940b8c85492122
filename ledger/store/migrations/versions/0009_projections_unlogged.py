"""On PostgreSQL the projections are UNLOGGED tables: rebuilding them writes no WAL.

Projections are derived (docs/design.md: never the source of truth): every row of them is
rebuilt from the events, which stay in logged tables. Written to the WAL, a full rebuild
logs every row it writes, which slows it and protects nothing the events cannot rebuild;
incremental recalcs write less WAL too.

What it costs, on PostgreSQL only:
- After a crash of the server (not after a clean shutdown or restart), PostgreSQL empties
  unlogged tables. projection_state is one of them, so it empties with the rest: the ledger
  then knows it has projected nothing, and the next read or recalc rebuilds everything, as
  on a ledger's first recalc. The events are untouched.
- A streaming-replication standby has no rows of unlogged tables and refuses to read them;
  where projections must be read on a standby, `ALTER TABLE ... SET LOGGED` on the four
  tables gives the previous behaviour (scoreledger works with either).

SQLite has no unlogged tables; nothing changes there.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from alembic import op

from ledger.store.dialects import dialect_of

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Each rewrites its table and indexes: quick while projections are small, and at worst the
# size of one rebuild's writes.
UNLOG = (
    "ALTER TABLE daily_scores SET UNLOGGED",
    "ALTER TABLE user_totals SET UNLOGGED",
    "ALTER TABLE period_totals SET UNLOGGED",
    "ALTER TABLE projection_state SET UNLOGGED",
)
LOG = (
    "ALTER TABLE daily_scores SET LOGGED",
    "ALTER TABLE user_totals SET LOGGED",
    "ALTER TABLE period_totals SET LOGGED",
    "ALTER TABLE projection_state SET LOGGED",
)


def upgrade() -> None:
    _run_on_postgresql(UNLOG)


def downgrade() -> None:
    _run_on_postgresql(LOG)


def _run_on_postgresql(statements: tuple[str, ...]) -> None:
    if dialect_of(op.get_bind()).is_postgresql:
        for statement in statements:
            op.execute(statement)
