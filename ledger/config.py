"""Settings read from the environment (or a .env file), passed explicitly from there on."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///scoreledger.db"
DEFAULT_LEDGER = "default"


class Settings(BaseSettings):
    """Where the ledger lives. `SCORELEDGER_DATABASE_URL` and `SCORELEDGER_LEDGER` override."""

    model_config = SettingsConfigDict(env_prefix="SCORELEDGER_", env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    ledger: str = DEFAULT_LEDGER
