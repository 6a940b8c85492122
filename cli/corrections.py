"""`scoreledger adjust | adjustments | retract | reinstate | merge-users`: corrections as events.

Nothing recorded is ever edited: each command records a new, dated, hash-chained event. An
action keeps the points of the version in force on its day; a correction is booked on the
day it is made, so past days and periods keep their points and the all-time total is right.
"""

from __future__ import annotations

import difflib
import sys
from typing import Annotated, TypeVar

import typer
from pydantic import BaseModel, ValidationError

from ledger.domain import ADJUSTMENT_KINDS, Adjustment, Located, Reinstatement, Retraction, now_utc
from ledger.errors import InputProblem, InvalidInput
from ledger.importers.actions import guess_format
from ledger.importers.records import read_records
from ledger.user_keys import key_text

from .context import LedgerGroup, options
from .output import OutputFormat, render
from .parsing import day_option, timestamp_option

adjustments_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Record adjustments in bulk and list them.\n\n\b\nExample: scoreledger adjustments import bonuses.csv",
)

AtOption = Annotated[
    str | None,
    typer.Option(
        "--at",
        help="When the correction was made (ISO 8601, UTC without a zone); it is booked on that day. Default: now.",
        show_default=False,
    ),
]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why, for the audit.", show_default=False)]


Model = TypeVar("Model", bound=BaseModel)


def _model(model: type[Model], where: str, **fields: object) -> Model:
    """`model(**fields)`, its validation problems turned into the CLI's one-line errors."""
    try:
        return model(**fields)
    except ValidationError as error:
        problems = [
            InputProblem(where, None, ".".join(str(part) for part in detail["loc"]) or None, detail["msg"]) for detail in error.errors()
        ]
        raise InvalidInput(problems, what=where) from None


def register(app: typer.Typer) -> None:
    """Add the correction commands to the root command."""
    app.command()(adjust)
    app.command()(retract)
    app.command()(reinstate)
    app.command("merge-users")(merge_users)
    app.add_typer(adjustments_app, name="adjustments", cls=LedgerGroup)


def adjust(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="The user's key (an id, a UUID, any text).")],
    points: Annotated[int, typer.Argument(help="Points to add (negative to take away).")],
    on: Annotated[str, typer.Option("--on", help="The day it is booked on (YYYY-MM-DD).")],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the audit.")],
    author: Annotated[str | None, typer.Option("--author", help="Who decided it.", show_default=False)] = None,
    key: Annotated[
        str | None,
        typer.Option(
            "--key", help="Idempotency key: the same key again records nothing. Default: adjust:USER:DAY:POINTS:REASON.", show_default=False
        ),
    ] = None,
) -> None:
    """Give or take points on a day, with a reason (an adjustment of kind manual).

    A correction of an adjustment is another adjustment. Re-running the same command (same
    key) records nothing; the same key with other values is refused.

    Example: scoreledger adjust 42 --on 2024-06-01 --reason "duplicate award" -- -15

    (`--` before a negative number, so it is not read as an option.)
    """
    day = day_option(on, "--on")
    adjustment = _model(
        Adjustment,
        "adjust",
        key=key or f"adjust:{user.strip()}:{day}:{points}:{reason}"[:200],
        user_id=user,
        points=points,
        on=day,
        reason=reason,
        author=author,
    )
    written = options(ctx).open().record_adjustments([Located("adjust", None, adjustment)], origin="adjust")
    typer.echo(f"{written.new} recorded, {written.already_present} already present")


# An adjustments file's columns; `user_id` is read as `user`, as action files name it.
ADJUSTMENT_REQUIRED = ("key", "user", "points", "on", "reason")
ADJUSTMENT_COLUMNS = (*ADJUSTMENT_REQUIRED, "kind", "author", "reference")


def _check_adjustment_columns(record: dict) -> None:
    """Refuse a record with a column the file format does not have (a misspelt `autor` would
    be dropped unseen) or without a required one, in the file's own names."""
    unknown = sorted(set(record) - {*ADJUSTMENT_COLUMNS, "user_id"})
    if unknown:
        raise ValueError(
            f"unknown column(s) {', '.join(_with_nearest(name) for name in unknown)}; the columns are {', '.join(ADJUSTMENT_COLUMNS)}"
        )
    missing = [name for name in ADJUSTMENT_REQUIRED if name not in record and not (name == "user" and "user_id" in record)]
    if missing:
        raise ValueError(f"no value for {', '.join(missing)} (required: {', '.join(ADJUSTMENT_REQUIRED)})")


def _with_nearest(name: str) -> str:
    nearest = difflib.get_close_matches(name, ADJUSTMENT_COLUMNS, n=1)
    return f"{name!r} (did you mean {nearest[0]!r}?)" if nearest else repr(name)


@adjustments_app.command("import")
def import_adjustments(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="CSV or JSON Lines file, or - for standard input.")],
    fmt: Annotated[str | None, typer.Option("--format", help="csv or jsonl. Default: from the file name.", show_default=False)] = None,
) -> None:
    """Record adjustments from a file: all of it, or nothing if any row is bad.

    Columns (CSV) or keys (JSONL): key, user (the user's key), points, on (YYYY-MM-DD), reason, and optionally
    kind (manual, imported or compensation; default manual), author, reference. Idempotent
    by key, as ingest is by source_key.

    Example: scoreledger adjustments import bonuses.csv
    """
    source = "<stdin>" if path == "-" else path
    fmt = fmt or ("csv" if path == "-" else guess_format(path))

    def build(record: dict) -> Adjustment:
        _check_adjustment_columns(record)
        if "user" in record and "user_id" not in record:
            record["user_id"] = record.pop("user")
        return Adjustment(**record)

    try:
        stream = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise InvalidInput([InputProblem(path, None, None, exc.strerror or str(exc))], what="adjustments") from None
    with stream:
        records = read_records(stream, source, fmt, build, what="adjustments")
    written = (
        options(ctx)
        .open()
        .record_adjustments([Located(source, line, adjustment) for line, adjustment in records], origin=f"adjustments import {source}")
    )
    typer.echo(f"{written.new} recorded, {written.already_present} already present")


@adjustments_app.command("list")
def list_adjustments(
    ctx: typer.Context,
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only this kind: manual, imported or compensation.", show_default=False)
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only this user (its key).", show_default=False)] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table, csv or json.")] = OutputFormat.table,
) -> None:
    """The ledger's adjustments, in the order they were recorded.

    Example: scoreledger adjustments list --kind compensation --format csv
    """
    if kind is not None and kind not in ADJUSTMENT_KINDS:
        # A misspelt kind would list nothing, as if the ledger had no such adjustments.
        nearest = difflib.get_close_matches(kind, ADJUSTMENT_KINDS, n=1)
        hint = f"; did you mean {nearest[0]}?" if nearest else ""
        reason = f"{kind!r} is not a kind: {', '.join(ADJUSTMENT_KINDS)}{hint}"
        raise InvalidInput([InputProblem("--kind", None, None, reason)], what="adjustments list", writes=False)
    book = options(ctx).open()
    if user is not None:
        # A mistyped user would list nothing, as if the user had no adjustments.
        book.require_user(user)
    rows = [
        {
            "key": a.key,
            "user_id": key_text(a.user_id),
            "points": a.points,
            "on": a.on,
            "kind": a.kind,
            "reason": a.reason,
            "author": a.author,
            "reference": a.reference,
        }
        for a in book.adjustments(kind=kind, user_id=user)
    ]
    render(rows, ["key", "user_id", "points", "on", "kind", "reason", "author", "reference"], fmt, title="adjustments")


def retract(
    ctx: typer.Context,
    source_keys: Annotated[list[str], typer.Argument(help="The source_keys of the actions to retract.")],
    at: AtOption = None,
    reason: ReasonOption = None,
) -> None:
    """Take back recorded actions (a post deleted, a like removed).

    Each retraction cancels exactly what its action earned at the version in force on the
    action's day, booked on the day of --at. An unknown key, or one already retracted, is
    refused and nothing is written.

    Example: scoreledger retract post:123 post:124 --at 2024-07-01T09:00 --reason "spam"
    """
    moment = timestamp_option(at, "--at") or now_utc()
    items = [Located("retract", None, _model(Retraction, "retract", source_key=key, at=moment, reason=reason)) for key in source_keys]
    written = options(ctx).open().record_corrections(items, origin="retract")
    typer.echo(f"{written.new} retracted, {written.already_present} already retracted at that time")


def reinstate(
    ctx: typer.Context,
    source_keys: Annotated[list[str], typer.Argument(help="The source_keys of retracted actions.")],
    at: AtOption = None,
    reason: ReasonOption = None,
) -> None:
    """Let retracted actions count again (a post restored), booked on the day of --at.

    Example: scoreledger reinstate post:123 --reason "restored by a moderator"
    """
    moment = timestamp_option(at, "--at") or now_utc()
    items = [
        Located("reinstate", None, _model(Reinstatement, "reinstate", source_key=key, at=moment, reason=reason)) for key in source_keys
    ]
    written = options(ctx).open().record_corrections(items, origin="reinstate")
    typer.echo(f"{written.new} reinstated, {written.already_present} already reinstated at that time")


def merge_users(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="The key of the user merged away.")],
    target: Annotated[str, typer.Argument(help="The key of the user it is merged into.")],
    at: AtOption = None,
    reason: ReasonOption = None,
) -> None:
    """Merge one user into another: every event of SOURCE, past and future, counts for TARGET.

    Points stay on the days they were earned (past leaderboards show them under TARGET);
    the audit of TARGET names each line's original user. Chains are followed (A into B, then
    B into C); a self-merge or a cycle is refused. --as-known-at before the merge still
    shows the two users apart.

    Example: scoreledger merge-users 1042 17 --reason "duplicate account"
    """
    written = options(ctx).open().merge_users(source, target, at=timestamp_option(at, "--at"), reason=reason)
    typer.echo("merged" if written.new else f"user {source.strip()} was already merged into user {target.strip()}")
