"""Settings read from the environment (or a .env file), passed explicitly from there on, and
how a database URL is shown in messages (never with its password)."""

from __future__ import annotations

import re

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///scoreledger.db"
DEFAULT_LEDGER = "default"


class Settings(BaseSettings):
    """Where the ledger lives. `SCORELEDGER_DATABASE_URL` and `SCORELEDGER_LEDGER` override."""

    model_config = SettingsConfigDict(env_prefix="SCORELEDGER_", env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    ledger: str = DEFAULT_LEDGER


def redact(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        # Not parseable: hide everything between the user name and the last `@`, since a
        # password may itself contain `@`.
        return re.sub(r"(://[^:/@]+:).*@", r"\1***@", url)
