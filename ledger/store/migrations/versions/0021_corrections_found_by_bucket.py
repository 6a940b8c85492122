"""Corrections lose their index by key (ix_corrections_key): a key's corrections are found
through its action's bucket (ix_corrections_bucket), which every correction is written to
anyway.

A correction carries its action's user, day and action (the bucket), and the ledger's time
zone is fixed once it holds events, so the action's row names the bucket that holds every
correction of its key. Looking a key up there instead of by key leaves one random index
insert fewer for each correction written; the key index served nothing else.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_corrections_key", table_name="corrections")


def downgrade() -> None:
    op.create_index("ix_corrections_key", "corrections", ["ledger_id", "source_key", "seq"])
