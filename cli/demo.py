"""`scoreledger demo`: the main job, end to end, on a synthetic community."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger import Ledger
from ledger.config import redact
from ledger.demo import DEMO_LEDGER, SCHEDULE, TODAY_VALUES, run_demo

from .context import options
from .output import OutputFormat, render
from .scores import audit_row

# The audit's columns that fit a terminal; `scoreledger audit` shows them all.
DEMO_AUDIT_COLUMNS = ["when", "action", "quantity", "effective_from", "rule", "points", "total"]
# Left out, first listed first, on a terminal too narrow for them all.
DEMO_AUDIT_OPTIONAL = ["effective_from", "quantity"]


def register(app: typer.Typer) -> None:
    """Add the demo command to the root command."""
    app.command()(demo)


def demo(
    ctx: typer.Context,
    users: Annotated[int, typer.Option("--users", min=1, max=100_000, help="How many community members.")] = 300,
) -> None:
    """Build a synthetic community (two years of posts, likes, solutions, reading and
    ratings), change point values in the middle, recalculate, and show the leaderboard, one
    user's audit across the change, and how far a naive "today's values" total drifts.

    It writes to the ledger named 'demo' of the database (--db; default the SQLite file
    scoreledger.db here). Running it again records nothing new.

    Example: scoreledger demo --users 300
    """
    opts = options(ctx)
    book = Ledger.open(opts.database_url, DEMO_LEDGER)
    report = run_demo(book, users)
    where = redact(opts.database_url)
    typer.echo(f"Ledger '{report.ledger}' in {where}: {report.new_actions} new actions, {report.known_actions} already recorded.")
    for version in SCHEDULE:
        rules = ", ".join(f"{action}={rule.value}" for action, rule in sorted(version.rules.items()) if not rule.by and not rule.per)
        typer.echo(f"  schedule from {version.effective_from}: {rules} ({version.reason})")
    kind = "full rebuild" if report.recalc.full else "incremental, nothing new" if not report.recalc.user_days else "incremental"
    typer.echo(f"Recalculated ({kind}).\n")

    render(
        [{"rank": s.rank, "user_id": s.user_id, "points": s.points} for s in report.top],
        ["rank", "user_id", "points"],
        OutputFormat.table,
        title="Top 10, all time",
    )

    title = f"Audit of user {report.audited_user}, {report.audit_from} to {report.audit_to} (the change is on {SCHEDULE[1].effective_from})"
    render([audit_row(line) for line in report.audit], DEMO_AUDIT_COLUMNS, OutputFormat.table, title=title, optional=DEMO_AUDIT_OPTIONAL)
    audit_total = report.audit[-1].running_total if report.audit else 0
    typer.echo(
        f"Audit total {audit_total} = `scores --from {report.audit_from} --to {report.audit_to}` for user {report.audited_user}: {report.audit_window_score}\n"
    )

    drift = report.naive_total - report.drift_free_total
    typer.echo(f"Drift-free total (each action at the values in force on its day): {report.drift_free_total}")
    typer.echo(f"Naive total (every action at the values of {TODAY_VALUES}):          {report.naive_total}")
    typer.echo(f"Retroactive drift a naive recalculation would introduce:           {drift:+d}\n")
    render(
        [{"user_id": user, "drift_free": fair, "naive": naive, "drift": naive - fair} for user, fair, naive in report.most_moved],
        ["user_id", "drift_free", "naive", "drift"],
        OutputFormat.table,
        title="Users a naive recalculation moves most",
    )
    typer.echo(f"Explore: scoreledger --ledger {DEMO_LEDGER} leaderboard --period year --at 2024-06-01")
