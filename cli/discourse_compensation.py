"""`scoreledger discourse plan`: the compensations a point-value change needs on the forum."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Annotated

import typer

from ledger.discourse.http import DiscourseClient
from ledger.discourse.journal import LedgerJournal
from ledger.discourse.plan import Plan, make_plan, planned_events, verify_forum
from ledger.discourse.plan_page import plan_page
from ledger.discourse.push import PushFailed, push, summary
from ledger.discourse.scorables import detect_shape
from ledger.domain import today_utc

from .context import options
from .discourse import DsnOption as ForumDsnOption
from .discourse import QueryIdOption, open_forum
from .discourse import UrlOption as HostedForumOption
from .output import OutputFormat, render, say, write_output
from .parsing import day_option

PLAN_COLUMNS = ["user_id", "username", "name", "discourse_points", "ledger_points", "difference"]
FromOption = Annotated[
    str | None,
    typer.Option(
        "--recalculate-from",
        help="The first day the forum recalculates (YYYY-MM-DD). Default: all time, as the plugin's button.",
        show_default=False,
    ),
]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="Price at the values in force on this day. Default: today (UTC).", show_default=False)
]
LeaderboardOption = Annotated[
    int | None,
    typer.Option(
        "--leaderboard", help="G3 forums: the leaderboard to match. Default: the first that follows the site's values.", show_default=False
    ),
]


def register(app: typer.Typer) -> None:
    """Add the compensation commands to the `discourse` group."""
    app.command("plan")(plan_command)
    app.command("push")(push_command)
    app.command("verify")(verify_command)


def compute_plan(
    ctx: typer.Context,
    forum_at: tuple[str | None, str | None, int | None],
    recalculate_from: str | None,
    as_of: str | None,
    leaderboard: int | None,
) -> Plan:
    """The plan, the forum read from `forum_at`: (--dsn, --url, --query-id), as `open_forum` takes them."""
    book = options(ctx).open()
    with open_forum(*forum_at) as forum:
        shape = detect_shape(forum)
        plan = make_plan(
            book,
            forum,
            shape,
            recalculate_from=day_option(recalculate_from, "--recalculate-from"),
            as_of=day_option(as_of, "--as-of"),
            leaderboard_id=leaderboard,
        )
    for warning in plan.warnings:
        say(f"warning: {warning}")
    return plan


def plan_command(
    ctx: typer.Context,
    dsn: ForumDsnOption = None,
    url: HostedForumOption = None,
    query_id: QueryIdOption = None,
    recalculate_from: FromOption = None,
    as_of: AsOfOption = None,
    leaderboard: LeaderboardOption = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, json or html (one self-contained page).")] = "table",
    output: Annotated[
        Path | None, typer.Option("--output", help="Write to this file instead of standard output.", show_default=False)
    ] = None,
) -> None:
    """What each user's forum total will be after the plugin recalculates, against the
    ledger's, and the compensating score event each user needs.

    The forum's side: its stored daily scores before --recalculate-from, every scorable from
    it on at the values in force on --as-of, and its score events (earlier compensations
    included). The ledger's side: every action at the values in force on its day, plus the
    forum's own score events. Users already in agreement are left out; users the plugin does
    not score (G2/G3: inactive, suspended) are skipped and counted. A summary goes to stderr.
    The forum is read from its database (--dsn) or, for a hosted forum, through the saved Data
    Explorer query (--url with --query-id).

    Example: scoreledger --ledger forum discourse plan --dsn postgresql://reader@forum-db/discourse --format csv
    """
    if fmt not in ("table", "csv", "json", "html"):
        raise typer.BadParameter("use table, csv, json or html", param_hint="--format")
    plan = compute_plan(ctx, (dsn, url, query_id), recalculate_from, as_of, leaderboard)
    _summary(plan)
    if fmt == "html":
        page = plan_page(plan)
        if output is None:
            typer.echo(page, nl=False)
        else:
            write_output(output, page, "plan")
        return
    rows = [
        {
            "user_id": row.user_id,
            "username": row.username,
            "name": row.name,
            "discourse_points": row.discourse_points,
            "ledger_points": row.ledger_points,
            "difference": row.difference,
        }
        for row in plan.rows
    ]
    if output is None:
        render(rows, PLAN_COLUMNS, OutputFormat(fmt), title="compensations")
        return
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        render(rows, PLAN_COLUMNS, OutputFormat(fmt), title="compensations")
    write_output(output, buffer.getvalue(), "plan")


def _summary(plan: Plan) -> None:
    if not plan.rows:
        say(f"nobody moves: the forum will show the ledger's total for all {plan.users_compared} users compared")
        return
    ordered = sorted(plan.rows, key=lambda row: row.difference)
    gains = ", ".join(f"user {row.user_id} {row.difference:+d}" for row in reversed(ordered[-3:]) if row.difference > 0)
    losses = ", ".join(f"user {row.user_id} {row.difference:+d}" for row in ordered[:3] if row.difference < 0)
    say(
        f"{len(plan.rows)} of {plan.users_compared} users move, {plan.total:+d} points in all"
        + (f"; largest gains: {gains}" if gains else "")
        + (f"; largest losses: {losses}" if losses else "")
        + (f"; {plan.skipped_unscored} users the forum does not score were skipped" if plan.skipped_unscored else "")
    )
    if plan.recalculate_from > today_utc():
        say("note: --recalculate-from is in the future")


UrlOption = Annotated[
    str,
    typer.Option(
        "--url",
        help="The forum, https://forum.example. API key and username come from $DISCOURSE_API_KEY and $DISCOURSE_API_USERNAME only.",
        show_default=False,
    ),
]


def push_command(
    ctx: typer.Context,
    url: UrlOption,
    dsn: ForumDsnOption = None,
    query_id: QueryIdOption = None,
    recalculate_from: FromOption = None,
    as_of: AsOfOption = None,
    leaderboard: LeaderboardOption = None,
    rate: Annotated[
        float, typer.Option("--rate", help="At most this many requests a minute (Discourse allows 60 for all admin keys together).")
    ] = 50.0,
    link: Annotated[
        str | None, typer.Option("--link", help="A link added to each event's description (the announcement).", show_default=False)
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be posted; post nothing.")] = False,
    recalculate: Annotated[
        bool, typer.Option("--recalculate", help="Then ask the forum to recalculate from the plan's day (it allows 5 a day).")
    ] = False,
) -> None:
    """Post the plan's compensating score events to the forum, each exactly once.

    Before each post the ledger records the intent; after it, the compensation with the id
    Discourse returned. A push cut short is run again as it is: events already posted are
    skipped, and one whose answer was lost is looked up on the forum by its marker
    ([scoreledger:KEY] in its description) before being posted again. It stays under --rate,
    honours the forum's 429 answers and retries transient failures; on a permanent failure it
    stops with everything posted so far recorded. The plan reads the forum's database (--dsn)
    or, for a hosted forum, the saved Data Explorer query at --url (--query-id).

    Example: scoreledger --ledger forum discourse push --url https://forum.example --dsn postgresql://reader@forum-db/discourse
    """
    book = options(ctx).open()
    plan = compute_plan(ctx, (dsn, None, None) if dsn is not None else (None, url, query_id), recalculate_from, as_of, leaderboard)
    events = planned_events(plan)
    with DiscourseClient(url, rate_per_minute=rate) as client:
        try:
            report = push(events, LedgerJournal(book), client, link=link, dry_run=dry_run, progress=True)
        except PushFailed as failure:
            for line in summary(failure.report):
                say(line)
            raise
        for line in summary(report):
            typer.echo(line)
        if dry_run:
            return
        if recalculate:
            answer = client.recalculate_scores(plan.recalculate_from)
            left = "" if answer.remaining is None else f"; {answer.remaining} left today"
            typer.echo(f"recalculation from {answer.from_date} requested{left}")
        else:
            typer.echo(
                f"the forum shows these events after its recalculation covers {plan.as_of}: run the gamification "
                f"plugin's recalculation from {plan.recalculate_from} (or pass --recalculate)"
            )


def verify_command(
    ctx: typer.Context,
    dsn: ForumDsnOption = None,
    url: HostedForumOption = None,
    query_id: QueryIdOption = None,
    leaderboard: LeaderboardOption = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table, csv or json.")] = OutputFormat.table,
) -> None:
    """Compare the forum's current totals with the ledger's; exit 1 if any user differs.

    The forum is read from its database (--dsn) or, for a hosted forum, through the saved
    Data Explorer query (--url with --query-id), as `discourse import` reads it. Also lists
    compensations the ledger recorded that the forum does not hold, and events carrying
    scoreledger's marker that the ledger does not know.

    Example: scoreledger --ledger forum discourse verify --dsn postgresql://reader@forum-db/discourse
    """
    book = options(ctx).open()
    with open_forum(dsn, url, query_id) as forum:
        result = verify_forum(book, forum, detect_shape(forum), leaderboard_id=leaderboard)
    rows = [
        {
            "user_id": row.user_id,
            "username": row.username,
            "name": row.name,
            "discourse_points": row.discourse_points,
            "ledger_points": row.ledger_points,
            "difference": row.difference,
        }
        for row in result.differences
    ]
    if rows:
        render(rows, PLAN_COLUMNS, fmt, title="users whose forum total differs from the ledger's")
    for key in result.missing_on_forum:
        say(f"compensation {key} is recorded in the ledger but not on the forum")
    for key in result.unknown_to_ledger:
        say(f"the forum holds an event marked [scoreledger:{key}] that the ledger does not know")
    if result.agrees:
        say(f"the forum shows the ledger's total for all {result.users_compared} users compared")
        return
    say(f"{len(rows)} of {result.users_compared} users differ")
    raise typer.Exit(1)
