"""What every command needs: the ledger chosen by the global options, and error handling."""

from __future__ import annotations

from dataclasses import dataclass

import typer
from typer.core import TyperGroup

from ledger import Ledger
from ledger.config import Settings
from ledger.errors import InvalidInput, LedgerError


@dataclass
class Options:
    database_url: str
    ledger: str

    def open(self) -> Ledger:
        return Ledger.open(self.database_url, self.ledger)


def options(ctx: typer.Context) -> Options:
    root = ctx.find_root()
    if not isinstance(root.obj, Options):
        settings = Settings()
        root.obj = Options(settings.database_url, settings.ledger)
    return root.obj


class LedgerGroup(TyperGroup):
    """Turns ledger errors from any command into one clear line and exit status 1."""

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except InvalidInput as error:
            for problem in error.problems:
                typer.echo(str(problem), err=True)
            typer.echo(f"error: {error.summary()}", err=True)
            raise typer.Exit(1) from None
        except LedgerError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from None
