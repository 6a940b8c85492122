"""The root of the `scoreledger` command: global options and the top-level commands."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from . import demo, discourse, schedule, scores, trust
from .context import LedgerGroup, Options, options
from ledger.config import Settings
from ledger.store.engine import redact

app = typer.Typer(
    cls=LedgerGroup,
    no_args_is_help=True,
    add_completion=False,
    help="An event-sourced scoring ledger: community points replayed at the point values "
    "in force on the day each action happened, so changing point values never rewrites the past.",
)
app.add_typer(schedule.app, name="schedule")
app.add_typer(discourse.app, name="discourse")
trust.register(app)
scores.register(app)
demo.register(app)

# Inputs smaller than this finish before a progress bar would be readable.
PROGRESS_THRESHOLD = 20_000


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL (sqlite:///FILE or postgresql://...). Default: $SCORELEDGER_DATABASE_URL, else sqlite:///scoreledger.db.", show_default=False),
    ] = None,
    ledger: Annotated[
        str | None,
        typer.Option("--ledger", help="Ledger namespace in the database. Default: $SCORELEDGER_LEDGER, else 'default'.", show_default=False),
    ] = None,
) -> None:
    settings = Settings()
    ctx.obj = Options(db or settings.database_url, ledger or settings.ledger)


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the ledger's tables, or upgrade them to this version. Safe to run again.

    Example: scoreledger --db postgresql://localhost/community init
    """
    opts = options(ctx)
    before, after = opts.open().init()
    where = redact(opts.database_url)
    if before == after:
        typer.echo(f"schema up to date (revision {after}) in {where}")
    else:
        typer.echo(f"schema {'created' if before is None else 'upgraded from ' + before} at revision {after} in {where}")


@app.command()
def ingest(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="CSV or JSON Lines file of actions, or - for standard input.")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv or jsonl. Default: from the file name (.jsonl/.ndjson: jsonl), else csv."),
    ] = None,
) -> None:
    """Record actions from a file: all of it, or nothing if any row is bad.

    Columns (CSV) or keys (JSONL): source_key, user_id, action, occurred_at, and optionally
    quantity (default 1) and attributes (a JSON object). occurred_at is ISO 8601; without a
    time zone it is UTC. A source_key seen before with the same payload is skipped, so
    re-running an import adds nothing; with a different payload it is refused.

    Example: scoreledger ingest actions.csv
    """
    book = options(ctx).open()
    rows = book.read_action_file(path, fmt)
    if len(rows) < PROGRESS_THRESHOLD:
        result = book.ingest_rows(rows, origin=f"ingest {path}")
    else:
        with _progress_bar() as bar:
            task = bar.add_task("ingesting", total=len(rows))
            result = book.ingest_rows(rows, origin=f"ingest {path}", progress=lambda n: bar.advance(task, n))
    typer.echo(f"{result.new} new, {result.already_present} already present")


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def main() -> None:
    """Console-script entry point."""
    # Driver errors reach the user as one line from LedgerGroup; the driver's own warnings
    # about the same failure (e.g. a COPY cut short) would only repeat it.
    logging.getLogger("psycopg").setLevel(logging.ERROR)
    app()


if __name__ == "__main__":
    main()
