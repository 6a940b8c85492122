"""The root of the `scoreledger` command: global options and the top-level commands."""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from ledger.collector import collector_paused
from ledger.config import Settings, redact
from ledger.importers.actions import ActionFile

from . import corrections, demo, discourse, discourse_compensation, schedule, scores, trust, users
from .context import LedgerGroup, Options, options
from .output import ProblemReport

# Plain help (click's), not rich panels: it rewraps paragraphs to the terminal and shows
# no type placeholders such as <bool> on flags.
HELP = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    cls=LedgerGroup,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings=HELP,
    help="An event-sourced scoring ledger: community points replayed at the point values "
    "in force on the day each action happened, so changing point values never rewrites the past. "
    "Days are UTC days, as in Discourse, unless a ledger was given its own time zone (init --timezone).\n\n"
    "Global options (--db, --ledger) go before or after the command.\n\n"
    "\b\nExample: scoreledger --ledger demo leaderboard --period month --at 2024-05-15",
)
schedule.app.rich_markup_mode = None
app.add_typer(
    schedule.app,
    name="schedule",
    cls=LedgerGroup,
    help="Record and inspect point-value schedules (which action earns what, from when; "
    "days are UTC unless the ledger has its own time zone).\n\nExample: scoreledger schedule show --at 2024-05-15",
)
discourse.app.rich_markup_mode = None
discourse_compensation.register(discourse.app)
app.add_typer(discourse.app, name="discourse", cls=LedgerGroup)
trust.register(app)
users.app.rich_markup_mode = None
app.add_typer(users.app, name="users", cls=LedgerGroup)
scores.register(app)
corrections.register(app)
demo.register(app)

# Files smaller than this are recorded before a progress bar would be readable.
PROGRESS_THRESHOLD_BYTES = 2_000_000


def _version(value: bool) -> None:
    if value:
        try:
            number = version("scoreledger")
        except PackageNotFoundError:  # run from a clone without installing
            number = "unknown (not installed)"
        typer.echo(f"scoreledger {number}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="URL",
            help="Database URL (sqlite:///FILE or postgresql://...). Default: $SCORELEDGER_DATABASE_URL, else sqlite:///scoreledger.db.",
            show_default=False,
        ),
    ] = None,
    ledger: Annotated[
        str | None,
        typer.Option(
            "--ledger",
            metavar="NAME",
            help="Ledger namespace in the database. Default: $SCORELEDGER_LEDGER, else 'default'.",
            show_default=False,
        ),
    ] = None,
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    settings = Settings()
    ctx.obj = Options(db or settings.database_url, ledger or settings.ledger)


@app.command()
def init(
    ctx: typer.Context,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            metavar="ZONE",
            help="The ledger's time zone (IANA name, e.g. Europe/Zurich): its days and periods are counted in it. "
            "Default UTC, as in Discourse. Fixed once the ledger holds events.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create the ledger's tables, or upgrade them to this version. Safe to run again.

    Example: scoreledger --db postgresql://localhost/community --ledger zurich init --timezone Europe/Zurich
    """
    opts = options(ctx)
    book = opts.open()
    before, after = book.init(timezone=timezone)
    where = redact(opts.database_url)
    if before == after:
        typer.echo(f"schema up to date (revision {after}) in {where}")
    else:
        typer.echo(f"schema {'created' if before is None else 'upgraded from ' + before} at revision {after} in {where}")
    if timezone is not None:
        typer.echo(f"ledger {opts.ledger!r} counts its days in {book.zone_name()}")


@app.command()
def ingest(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="CSV or JSON Lines file of actions, or - for standard input.")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv or jsonl. Default: from the file name (.jsonl/.ndjson: jsonl), else csv."),
    ] = None,
    all_problems: Annotated[
        bool, typer.Option("--all-problems", help="Print every problem of a refused file, not only the first 20.")
    ] = False,
    problems_file: Annotated[
        Path | None,
        typer.Option(
            "--problems-file", metavar="FILE", help="Also write every problem of a refused file to this file.", show_default=False
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Refuse the file if it has an action type no schedule version prices (a typo, most often).")
    ] = False,
) -> None:
    """Record actions from a file: all of it, or nothing if any row is bad.

    Columns (CSV) or keys (JSONL): source_key, user_id, action, occurred_at, and optionally
    quantity (default 1) and attributes (a JSON object). occurred_at is ISO 8601; without a
    time zone it is UTC, and each action counts on its day in the ledger's time zone (UTC
    unless given at init). A source_key seen before
    with the same payload is skipped, so re-running an import adds nothing; with a
    different payload it is refused. A refused file prints its first 20 problems and how
    many more there are. Action types that no schedule version prices are named, with the
    nearest priced name (--strict refuses the file instead). The file is read a chunk at a
    time, so its size does not matter to memory.

    Example: scoreledger ingest actions.csv --problems-file problems.txt
    """
    opts = options(ctx)
    opts.problems = ProblemReport(all_problems, problems_file, offered=True)
    book = opts.open()
    source = ActionFile(path, fmt)
    origin = f"ingest {path}"
    # The CLI owns its process: the rows read and written form no cycles for the collector to find.
    with collector_paused():
        try:
            if source.size < PROGRESS_THRESHOLD_BYTES or not Console(stderr=True).is_terminal:
                result = book.ingest_source(source, origin=origin, strict=strict)
            else:
                with _progress_bar() as bar:
                    # The bar follows the bytes read, so that it moves while rows already recorded
                    # are only compared as well as while new ones are written.
                    task = bar.add_task("ingesting", total=source.size)
                    result = book.ingest_source(
                        source,
                        origin=origin,
                        strict=strict,
                        progress=lambda _rows: bar.update(task, completed=max(bar.tasks[0].completed, source.bytes_read)),
                    )
        finally:
            source.close()
    typer.echo(f"{result.new} new, {result.already_present} already present")
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if result.warnings:
        typer.echo("(--strict refuses such a file)", err=True)


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
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
