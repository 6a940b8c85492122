"""`scoreledger schedule ...`: record and inspect point-value versions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.domain import RecordedScheduleVersion, Rule, ScheduleVersion, today_utc
from ledger.errors import InputProblem, InvalidInput
from ledger.exporters.schedules import export_schedule
from ledger.schedules import RecordOutcome

from .context import options
from .output import OutputFormat, render
from .parsing import assignments, day_option

app = typer.Typer(no_args_is_help=True, help="Record and inspect point-value schedules (which action earns what, from when).")

FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table, csv or json.")]
RULE_COLUMNS = ["action", "value", "per", "min_quantity", "by"]
# A retroactive change lists the users it moves most; the rest are counted.
MOVES_SHOWN = 20


@app.command("set")
def set_values(
    ctx: typer.Context,
    values: Annotated[list[str], typer.Argument(help="ACTION=POINTS pairs; ACTION=0 turns an action off.", show_default=False)],
    effective_from: Annotated[str, typer.Option("--effective-from", help="First UTC day (YYYY-MM-DD) the values apply.")],
    reason: Annotated[str | None, typer.Option(help="Why the values change.")] = None,
    author: Annotated[str | None, typer.Option(help="Who decided the change.")] = None,
    link: Annotated[str | None, typer.Option(help="Where the change is announced.")] = None,
    retroactive: Annotated[bool, typer.Option("--retroactive", help="Allow a date before today: reprices past actions.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the version that would be recorded; write nothing.")] = False,
) -> None:
    """Record new point values from a date. Unlisted actions keep their current values.

    Example: scoreledger schedule set --effective-from 2026-12-01 likes_received=6 posts_created=3 --reason "Reward quality"
    """
    changes = {action: Rule(value=points) for action, points in assignments(values).items()}
    day = day_option(effective_from, "--effective-from")
    assert day is not None
    outcome = options(ctx).open().set_schedule(
        day, changes, author=author, reason=reason, link=link, retroactive=retroactive, dry_run=dry_run
    )
    _report(outcome)


@app.command("import")
def import_document(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="YAML, JSON or CSV schedule document, or - for standard input (YAML).")],
    retroactive: Annotated[bool, typer.Option("--retroactive", help="Allow versions dated before today.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the document and show what is new; write nothing.")] = False,
) -> None:
    """Record every version of a schedule document (full rules: value, per, min_quantity, by; levels).

    Versions already recorded are skipped, so importing the same document twice adds nothing.

    Example: scoreledger schedule import schedule.yaml --retroactive
    """
    book = options(ctx).open()
    if path == "-":
        outcome = book.import_schedule(sys.stdin.buffer, "<stdin>", "yaml", retroactive=retroactive, dry_run=dry_run)
    else:
        try:
            with open(path, "rb") as stream:
                outcome = book.import_schedule(stream, path, retroactive=retroactive, dry_run=dry_run)
        except OSError as exc:
            raise InvalidInput([InputProblem(path, None, None, exc.strerror or str(exc))], what="schedule import") from None
    _report(outcome)


def _report(outcome: RecordOutcome) -> None:
    verb = "would record" if outcome.dry_run else "recorded"
    for version in outcome.recorded:
        rules = ", ".join(f"{action}={_rule_text(rule)}" for action, rule in sorted(version.rules.items()))
        typer.echo(f"{verb} version effective {version.effective_from.isoformat()}: {rules or '(no rules)'}")
    if outcome.already_present:
        typer.echo(f"{outcome.already_present} version(s) already recorded")
    if outcome.affected_actions:
        typer.echo(f"reprices {outcome.affected_actions} recorded action(s) dated on or after the change")
    if outcome.moved:
        since = outcome.moved_from.isoformat() if outcome.moved_from else "the change"
        typer.echo(f"{'would move' if outcome.dry_run else 'moves'} {len(outcome.moved)} user(s) (points from actions on and after {since}):")
        for move in outcome.moved[:MOVES_SHOWN]:
            typer.echo(f"  user {move.user_id}: {move.before} -> {move.after} ({move.after - move.before:+d})")
        if len(outcome.moved) > MOVES_SHOWN:
            typer.echo(f"  ... and {len(outcome.moved) - MOVES_SHOWN} more")


def _rule_text(rule: Rule) -> str:
    if rule.by:
        return f"by {rule.by_attribute} {rule.by_points}"
    text = str(rule.value)
    if rule.per:
        text += f" per {rule.per}"
    if rule.min_quantity:
        text += f" (min {rule.min_quantity})"
    return text


def _rule_rows(version: ScheduleVersion) -> list[dict[str, Any]]:
    return [
        {"action": action, "value": rule.value, "per": rule.per, "min_quantity": rule.min_quantity, "by": rule.by}
        for action, rule in sorted(version.rules.items())
    ]


@app.command("show")
def show(
    ctx: typer.Context,
    at: Annotated[str | None, typer.Option("--at", help="UTC day (YYYY-MM-DD). Default: today.")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The rules in force on a day.

    Example: scoreledger schedule show --at 2024-05-15 --format csv
    """
    day = day_option(at, "--at") or today_utc()
    recorded = options(ctx).open().schedule_at(day)
    version = recorded.version
    title = f"in force on {day.isoformat()}: version effective {version.effective_from.isoformat()}"
    if version.reason:
        title += f" ({version.reason})"
    render(_rule_rows(version), RULE_COLUMNS, fmt, title=title)


@app.command("history")
def history(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """Every recorded version, oldest effective date first.

    Example: scoreledger schedule history --format json
    """
    versions = options(ctx).open().schedule_history()
    render([_history_row(recorded) for recorded in versions], ["effective_from", "recorded_at", "retroactive", "rules", "reason", "author", "link"], fmt)


def _history_row(recorded: RecordedScheduleVersion) -> dict[str, Any]:
    version = recorded.version
    return {
        "effective_from": version.effective_from,
        "recorded_at": recorded.recorded_at,
        "retroactive": recorded.retroactive,
        "rules": ", ".join(f"{a}={_rule_text(r)}" for a, r in sorted(version.rules.items())),
        "reason": version.reason,
        "author": version.author,
        "link": version.link,
    }


@app.command("export")
def export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="json, yaml or csv.")] = "yaml",
    output: Annotated[Path | None, typer.Option("--output", help="Write to this file instead of standard output.")] = None,
) -> None:
    """Write the whole schedule history as a document that `schedule import` reads back.

    Example: scoreledger schedule export --format json --output schedule.json
    """
    if fmt not in ("json", "yaml", "csv"):
        raise InvalidInput([InputProblem("--format", None, None, f"{fmt!r} is not one of json, yaml, csv")], what="export")
    versions = [recorded.version for recorded in options(ctx).open().schedule_history()]
    document = export_schedule(versions, fmt)
    if output is None:
        sys.stdout.write(document)
    else:
        output.write_text(document, encoding="utf-8")
        typer.echo(f"wrote {len(versions)} version(s) to {output}", err=True)


@app.command("diff")
def diff(
    ctx: typer.Context,
    from_day: Annotated[str, typer.Option("--from", help="UTC day (YYYY-MM-DD) of the first version.")],
    to_day: Annotated[str, typer.Option("--to", help="UTC day (YYYY-MM-DD) of the second version.")],
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """What changed between the versions in force on two days.

    Example: scoreledger schedule diff --from 2024-05-15 --to 2024-05-16
    """
    start, end = day_option(from_day, "--from"), day_option(to_day, "--to")
    assert start is not None and end is not None
    _, _, changes = options(ctx).open().schedule_diff(start, end)
    rows = [
        {"action": change.action, "before": _rule_text(change.before) if change.before else None, "after": _rule_text(change.after) if change.after else None}
        for change in changes
    ]
    render(rows, ["action", "before", "after"], fmt)
