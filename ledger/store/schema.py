"""Creating and upgrading the schema with Alembic, driven from code (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from ledger.errors import NotInitialized
from ledger.store.dialects import dialect_of
from ledger.store.engine import create_sqlite_file, translate_errors

MIGRATIONS = Path(__file__).with_name("migrations")
SCHEMA_LOCK_KEY = 0x5C0E1ED7


def migrations_config() -> Config:
    """Alembic's configuration for the ledger's migrations, with no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(migrations_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest revision. Returns (revision before, revision after).

    Safe to run any number of times: an up-to-date database is left as it is. Creates a
    missing SQLite file (nothing else does).
    """
    create_sqlite_file(engine)
    with translate_errors(), engine.begin() as conn:
        # Two `init`s at once must not both create the tables.
        dialect_of(conn).lock_exclusively(conn, SCHEMA_LOCK_KEY)
        before = current_revision(conn)
        migrate(conn, "head")
        return before, current_revision(conn) or head_revision()


def migrate(conn: Connection, revision: str, *, down: bool = False) -> None:
    """Bring the schema that `conn` reaches up (or `down`) to Alembic `revision`, inside the
    connection's transaction."""
    config = migrations_config()
    config.attributes["connection"] = conn
    (command.downgrade if down else command.upgrade)(config, revision)


def require_current(conn: Connection) -> None:
    """Refuse to work on a database whose schema is missing or older than this code."""
    revision = current_revision(conn)
    if revision is None:
        raise NotInitialized("the database has no ledger schema yet; run `scoreledger init`")
    if revision != head_revision():
        raise NotInitialized(
            f"the database schema is at revision {revision}, this scoreledger needs {head_revision()}; run `scoreledger init` to upgrade it"
        )
