"""`scoreledger recalc | scores | leaderboard | audit`: replayed points, and where they come from."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ledger import Ledger
from ledger.audit import AuditLine
from ledger.collector import collector_paused
from ledger.domain import UserPoints, today_utc
from ledger.errors import InputProblem, InvalidInput
from ledger.standings import Period, Ranking, Standing, period_window
from ledger.user_keys import UserRef, key_text, user_ref

from .context import options
from .output import OutputFormat, render, say
from .parsing import day_option, timestamp_option

FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table, csv or json.")]
FromOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        metavar="DAY",
        help="First day (YYYY-MM-DD), inclusive; days are the ledger's (UTC unless init --timezone).",
        show_default=False,
    ),
]
ToOption = Annotated[str | None, typer.Option("--to", metavar="DAY", help="Last day (YYYY-MM-DD), inclusive.", show_default=False)]


def register(app: typer.Typer) -> None:
    """Add the replay commands to the root command."""
    for command in (recalc, scores, leaderboard, audit):
        app.command()(command)


def recalc(
    ctx: typer.Context,
    full: Annotated[bool, typer.Option("--full", help="Rebuild the projections from every event instead of only what changed.")] = False,
) -> None:
    """Bring the projections (daily points per user, totals) up to date.

    Each action is priced by the schedule version in force on its day (UTC, or the ledger's time zone). Without --full
    only what changed since the last run is repriced: the (user, day) pairs new actions
    touch, and every day from the earliest effective_from of newly recorded versions.

    Example: scoreledger recalc --full
    """
    book = options(ctx).open()
    with Console(stderr=True).status("recalculating") as status:
        outcome = book.recalc(full=full, progress=lambda step: status.update(step))
    if not outcome.full and not outcome.user_days and not outcome.users:
        typer.echo(f"up to date: nothing recorded since the last recalculation (through event {outcome.through_seq})")
        return
    kind = "full rebuild" if outcome.full else "incremental"
    typer.echo(f"{kind}: {outcome.user_days} user-day(s) priced for {outcome.users} user(s), through event {outcome.through_seq}")


def catch_up(book: Ledger) -> None:
    """Recalculate first, saying so on standard error with the step under way, when events
    were recorded since the last recalculation (reads then wait for it)."""
    if not book.is_behind():
        return
    say("catching up: events were recorded since the last recalculation, recalculating first")
    with Console(stderr=True).status("recalculating") as status:
        outcome = book.recalc(progress=lambda step: status.update(step))
    say(f"caught up through event {outcome.through_seq}")


def scores(
    ctx: typer.Context,
    from_day: FromOption = None,
    to_day: ToOption = None,
    as_known_at: Annotated[
        str | None,
        typer.Option(
            "--as-known-at",
            metavar="TIME",
            help="Answer from the events and schedule versions recorded by this ISO 8601 time (UTC).",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Points per user, sorted by user.

    --from/--to keep only actions on those days. --as-known-at answers what the ledger said
    at that time, computed from what it had recorded by then.

    Example: scoreledger scores --from 2024-01-01 --to 2024-12-31 --format csv
    """
    known_at = timestamp_option(as_known_at, "--as-known-at")
    first, last = day_option(from_day, "--from"), day_option(to_day, "--to")
    book = options(ctx).open()
    if known_at is None:
        catch_up(book)
    rows = book.scores(from_day=first, to_day=last, as_known_at=known_at)
    leveled = any(row.level is not None for row in rows)
    columns = ["user_id", "points", *(["level"] if leveled else []), *name_columns(rows)]
    render([{**user_cells(row), "points": row.points, "level": row.level} for row in rows], columns, fmt)


def name_columns(rows: Sequence[UserPoints | Standing]) -> list[str]:
    """The username and name columns, when any user shown has one: last, so that the
    columns before them keep their places for scripts that read them."""
    return ["username", "name"] if any(row.username is not None or row.name is not None for row in rows) else []


def user_cells(row: UserPoints | Standing) -> dict[str, Any]:
    """A row's user as shown: the key as text, and the user's names."""
    return {"user_id": key_text(row.user_id), "username": row.username, "name": row.name}


def leaderboard(
    ctx: typer.Context,
    period: Annotated[Period, typer.Option("--period", help="The period around --at.")] = Period.all,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", metavar="DAY", help="A day in the period (YYYY-MM-DD). Default: today (in the ledger's time zone).", show_default=False
        ),
    ] = None,
    from_day: FromOption = None,
    to_day: ToOption = None,
    limit: Annotated[int | None, typer.Option("--limit", metavar="N", help="Show at most this many rows.", show_default=False)] = None,
    ranking: Annotated[
        Ranking, typer.Option("--ranking", help="How ties rank: dense_rank (1,1,2), rank (1,1,3) or row_number (1,2,3).")
    ] = Ranking.dense_rank,
    exclude_users: Annotated[
        Path | None,
        typer.Option(
            "--exclude-users", metavar="FILE", help="A file of user keys (one a line, # comments) left off the board.", show_default=False
        ),
    ] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Users ranked by points over a period (or --from/--to), most first.

    Periods are calendar periods of days (UTC, or the ledger's time zone) around --at (weeks run Monday to Sunday). The
    table's title names the period and its days; in json each row carries them (period,
    from, to); csv rows hold rank, user_id (the user's key) and points only, to stay
    pipeable, then username and name when the ledger knows users' names.

    Example: scoreledger leaderboard --period month --at 2024-05-15 --limit 10
    """
    day, first, last = day_option(at, "--at"), day_option(from_day, "--from"), day_option(to_day, "--to")
    excluded = _user_ids(exclude_users) if exclude_users else ()
    book = options(ctx).open()
    catch_up(book)
    rows = book.leaderboard(period=period, at=day, from_day=first, to_day=last, limit=limit, ranking=ranking, exclude=excluded)
    span, start, end = covered(period, day, first, last, book.today())
    leveled = any(row.level is not None for row in rows)
    columns = ["rank", "user_id", "points", *(["level"] if leveled else []), *name_columns(rows)]
    table = [{"rank": row.rank, **user_cells(row), "points": row.points, "level": row.level} for row in rows]
    if fmt is OutputFormat.json:
        table = [{**row, "period": span, "from": start, "to": end} for row in table]
        columns += ["period", "from", "to"]
    render(table, columns, fmt, title=f"Leaderboard, {describe_span(span, start, end, book.zone_name())}")


def covered(
    period: Period, at: date | None, first: date | None, last: date | None, today: date | None = None
) -> tuple[str, date | None, date | None]:
    """(period name, first day, last day) a leaderboard covers: the --from/--to range when
    given ("range", either end open), else the period around --at (default `today`, the
    ledger's)."""
    if first is not None or last is not None:
        return "range", first, last
    window = period_window(period, at or today or today_utc())
    return (period.value, *window) if window else (period.value, None, None)


def describe_span(span: str, start: date | None, end: date | None, zone: str = "UTC") -> str:
    """A leaderboard's coverage in words, e.g. "month 2024-05-01 to 2024-05-31 (UTC days)"
    (the ledger's time zone)."""
    if span == "all":
        return "all time"
    if start == end and start is not None:
        return f"{span} {start} ({zone})"
    return f"{span} {start or 'the beginning'} to {end or 'now'} ({zone} days)"


def _user_ids(path: Path) -> list[UserRef]:
    """User keys from a file, one a line (# starts a comment); every bad line is reported."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidInput([InputProblem(str(path), None, None, reason)], what="--exclude-users", writes=False) from None
    found: list[UserRef] = []
    problems: list[InputProblem] = []
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            found.append(user_ref(text))
        except ValueError as exc:
            problems.append(InputProblem(str(path), number, "user_id", str(exc)))
    if problems:
        raise InvalidInput(problems, what="--exclude-users", writes=False)
    return found


AUDIT_COLUMNS = [
    "when",
    "kind",
    "action",
    "source_key",
    "user_id",
    "quantity",
    "events",
    "attributes",
    "effective_from",
    "reason",
    "rule",
    "points",
    "total",
]
# Left out of the audit table, first listed first, when the terminal is too narrow for all.
AUDIT_OPTIONAL = ["user_id", "source_key", "events", "reason", "effective_from", "attributes", "quantity", "kind", "rule"]


def audit(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="The user's key (an id, a UUID, any text).")],
    from_day: FromOption = None,
    to_day: ToOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Every line that makes up a user's points, in order, with a running total.

    Each line names the schedule version that priced it (its effective_from and reason)
    and the rule; a rule with `per` prices a day's bucket of events as one line. The last
    total equals what `scores` says for the user. Times are UTC (json and csv: ISO 8601
    with Z); a user the ledger has never seen is an error.

    USER is the user's key as the platform names it: 42, a UUID, any text.

    Example: scoreledger audit 42 --from 2024-01-01 --format csv
    """
    first, last = day_option(from_day, "--from"), day_option(to_day, "--to")
    book = options(ctx).open()
    # The CLI owns its process: building the lines does not need the cyclic collector.
    with collector_paused():
        lines = book.audit(user, from_day=first, to_day=last)
    if not lines:
        book.require_user(user)
        say(f"user {user.strip()} has no actions in this range")
    names = book.names_of(user)
    known = [text for text in (names.username, names.name) if text] if names else []
    shown = f"{user.strip()} ({', '.join(known)})" if known else user.strip()
    render([audit_row(line) for line in lines], AUDIT_COLUMNS, fmt, title=f"audit of user {shown}", optional=AUDIT_OPTIONAL)


def audit_row(line: AuditLine) -> dict[str, Any]:
    """An audit line as a row for `render`: attributes as an object (none for a bucket of
    several events, which `events` counts)."""
    return {
        "when": line.when,
        "kind": line.kind,
        "action": line.action,
        "source_key": line.source_key,
        # The event's own user where it counts through a merge; empty for the audited user's.
        "user_id": None if line.merged_from is None else key_text(line.merged_from),
        "quantity": line.quantity,
        "events": line.events,
        "attributes": _as_object(line.attributes) if line.events == 1 else None,
        "effective_from": line.effective_from,
        "reason": line.reason,
        "rule": line.rule,
        "points": line.points,
        "total": line.running_total,
    }


def _as_object(attributes: str | None) -> Any:
    """Attributes as stored (canonical JSON text) as an object."""
    if isinstance(attributes, str):
        return json.loads(attributes) if attributes else None
    return attributes
