"""`scoreledger discourse plan`: the compensations a point-value change needs on the forum."""

from __future__ import annotations

import contextlib
import io
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from ledger.discourse.forum import PostgresForum
from ledger.discourse.plan import Plan, make_plan
from ledger.discourse.plan_page import plan_page
from ledger.discourse.scorables import detect_shape

from .context import options
from .output import OutputFormat, render, say
from .parsing import day_option

PLAN_COLUMNS = ["user_id", "username", "name", "discourse_points", "ledger_points", "difference"]
FromOption = Annotated[
    str | None,
    typer.Option("--recalculate-from", help="The first day the forum recalculates (YYYY-MM-DD). Default: all time, as the plugin's button.", show_default=False),
]
AsOfOption = Annotated[str | None, typer.Option("--as-of", help="Price at the values in force on this day. Default: today (UTC).", show_default=False)]
DsnOption = Annotated[str, typer.Option("--dsn", help="The Discourse database, postgresql://USER@HOST/DB. Read only.", show_default=False)]
LeaderboardOption = Annotated[
    int | None,
    typer.Option("--leaderboard", help="G3 forums: the leaderboard to match. Default: the first that follows the site's values.", show_default=False),
]


def register(app: typer.Typer) -> None:
    """Add the compensation commands to the `discourse` group."""
    app.command("plan")(plan_command)


def compute_plan(ctx: typer.Context, dsn: str, recalculate_from: str | None, as_of: str | None, leaderboard: int | None) -> Plan:
    book = options(ctx).open()
    with PostgresForum(dsn) as forum:
        shape = detect_shape(forum)
        plan = make_plan(
            book, forum, shape, recalculate_from=day_option(recalculate_from, "--recalculate-from"),
            as_of=day_option(as_of, "--as-of"), leaderboard_id=leaderboard,
        )
    for warning in plan.warnings:
        say(f"warning: {warning}")
    return plan


def plan_command(
    ctx: typer.Context,
    dsn: DsnOption,
    recalculate_from: FromOption = None,
    as_of: AsOfOption = None,
    leaderboard: LeaderboardOption = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, json or html (one self-contained page).")] = "table",
    output: Annotated[Path | None, typer.Option("--output", help="Write to this file instead of standard output.", show_default=False)] = None,
) -> None:
    """What each user's forum total will be after the plugin recalculates, against the
    ledger's, and the compensating score event each user needs.

    The forum's side: its stored daily scores before --recalculate-from, every scorable from
    it on at the values in force on --as-of, and its score events (earlier compensations
    included). The ledger's side: every action at the values in force on its day, plus the
    forum's own score events. Users already in agreement are left out; users the plugin does
    not score (G2/G3: inactive, suspended) are skipped and counted. A summary goes to stderr.

    Example: scoreledger --ledger forum discourse plan --dsn postgresql://reader@forum-db/discourse --format csv
    """
    if fmt not in ("table", "csv", "json", "html"):
        raise typer.BadParameter("use table, csv, json or html", param_hint="--format")
    plan = compute_plan(ctx, dsn, recalculate_from, as_of, leaderboard)
    _summary(plan)
    if fmt == "html":
        page = plan_page(plan)
        if output is None:
            typer.echo(page, nl=False)
        else:
            output.write_text(page, encoding="utf-8")
        return
    rows = [
        {"user_id": row.user_id, "username": row.username, "name": row.name, "discourse_points": row.discourse_points,
         "ledger_points": row.ledger_points, "difference": row.difference}
        for row in plan.rows
    ]
    if output is None:
        render(rows, PLAN_COLUMNS, OutputFormat(fmt), title="compensations")
        return
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        render(rows, PLAN_COLUMNS, OutputFormat(fmt), title="compensations")
    output.write_text(buffer.getvalue(), encoding="utf-8")


def _summary(plan: Plan) -> None:
    if not plan.rows:
        say(f"nobody moves: the forum will show the ledger's total for all {plan.users_compared} users compared")
        return
    ordered = sorted(plan.rows, key=lambda row: row.difference)
    gains = ", ".join(f"user {row.user_id} {row.difference:+d}" for row in reversed(ordered[-3:]) if row.difference > 0)
    losses = ", ".join(f"user {row.user_id} {row.difference:+d}" for row in ordered[:3] if row.difference < 0)
    say(
        f"{len(plan.rows)} of {plan.users_compared} users move, {plan.total:+d} points in all"
        + (f"; largest gains: {gains}" if gains else "") + (f"; largest losses: {losses}" if losses else "")
        + (f"; {plan.skipped_unscored} users the forum does not score were skipped" if plan.skipped_unscored else "")
    )
    if plan.recalculate_from.isoformat() > date.today().isoformat():
        say("note: --recalculate-from is in the future")
