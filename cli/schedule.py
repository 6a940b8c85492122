"""`scoreledger schedule ...`: record and inspect point-value versions."""

from __future__ import annotations

import difflib
import io
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.domain import RecordedScheduleVersion, Rule, ScheduleVersion
from ledger.errors import InputProblem, InvalidInput
from ledger.exporters.schedules import FORMATS as SCHEDULE_FORMATS
from ledger.exporters.schedules import export_schedule
from ledger.importers.schedules import read_schedule
from ledger.rule_edits import PARTS, parse_rule_edits
from ledger.rule_words import describe_rule
from ledger.schedules import (
    FAR_FUTURE_DAYS,
    RecordOutcome,
    RuleChange,
    ScoringPeriodEdit,
    far_future,
    known_actions,
    scoring_words,
    unknown_actions,
)
from ledger.user_keys import key_text

from .context import options
from .output import OutputFormat, render, write_output
from .parsing import day_option

app = typer.Typer(no_args_is_help=True, help="Record and inspect point-value schedules (which action earns what, from when).")

FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table, csv or json.")]
MovesFormatOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format",
        help="List every user whose points move, as table, csv or json, on standard output (the summary goes to standard error).",
        show_default=False,
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print no summary (for scripts); errors and --format output still print.")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help=f"Record a date more than {FAR_FUTURE_DAYS} days ahead without asking.")]
RetroactiveOption = Annotated[bool, typer.Option("--retroactive", help="Allow a date before today: reprices past actions.")]
# Without --format, a change lists the users it moves most; the rest are counted.
MOVES_SHOWN = 20
MOVE_COLUMNS = ["user_id", "before", "after", "change"]


@app.command("set")
def set_values(
    ctx: typer.Context,
    effective_from: Annotated[
        str, typer.Option("--effective-from", help="First day (YYYY-MM-DD, the ledger's: UTC unless init --timezone) the values apply.")
    ],
    values: Annotated[
        list[str] | None,
        typer.Argument(
            help="ACTION=POINTS changes a rule's value and keeps its other parts; ACTION.per=N, "
            "ACTION.min_quantity=N change those parts (=none removes one, as does ACTION.by=none); "
            "ACTION=0 turns an action off.",
            show_default=False,
        ),
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why the values change.")] = None,
    author: Annotated[str | None, typer.Option(help="Who decided the change.")] = None,
    link: Annotated[str | None, typer.Option(help="Where the change is announced.")] = None,
    retroactive: RetroactiveOption = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the resulting rules and whose points would move; write nothing.")
    ] = False,
    new_action: Annotated[
        bool, typer.Option("--new-action", help="Allow an action no version has ever priced (new on purpose, not a typo).")
    ] = False,
    disable: Annotated[
        bool, typer.Option("--disable", help="Turn scoring off from the date: actions recorded from now on earn nothing there.")
    ] = False,
    enable: Annotated[bool, typer.Option("--enable", help="Turn scoring back on from the date.")] = False,
    start_date: Annotated[
        str | None,
        typer.Option(
            "--start-date",
            help="Scoring starts on this day (YYYY-MM-DD; `none` removes it): actions before it, recorded from now on, earn nothing.",
        ),
    ] = None,
    yes: YesOption = False,
    fmt: MovesFormatOption = None,
    quiet: QuietOption = False,
) -> None:
    """Record new point values, or a new scoring period, from a date. Unlisted actions keep
    their rules, and a listed action keeps the parts of its rule not named; the scoring period
    is kept unless --disable, --enable or --start-date change it.

    A scoring period decides for the actions recorded after it: points already earned never
    change (`--as-known-at` shows both states).

    An action no version has ever priced needs --new-action (a typo is refused, with the
    nearest known name), and a date more than 365 days ahead needs --yes (asked on a
    terminal). With a date before today (--retroactive) or actions already recorded on or
    after it, the users whose points move are listed.

    Example: scoreledger schedule set --effective-from 2026-12-01 likes_received=6 posts_created=3 --reason "Reward quality"

    Example: scoreledger schedule set --effective-from 2026-12-01 posts_read=2 posts_read.per=50 --dry-run

    Example: scoreledger schedule set --effective-from 2026-12-01 solutions_accepted=60 --new-action

    Example: scoreledger schedule set --effective-from 2026-01-01 --start-date 2026-02-01 --retroactive
    """
    if disable and enable:
        raise InvalidInput([InputProblem("--disable", None, None, "--disable and --enable cannot be combined")], what="schedule set")
    if not values and not (disable or enable or start_date is not None):
        raise InvalidInput(
            [InputProblem("schedule set", None, None, "name a rule change (ACTION=POINTS), --disable, --enable or --start-date")],
            what="schedule set",
        )
    period = None
    if disable or enable or start_date is not None:
        starts = start_date is not None
        period = ScoringPeriodEdit(
            enabled=False if disable else True if enable else None,
            change_start=starts,
            start_date=day_option(start_date, "--start-date") if starts and start_date != "none" else None,
        )
    edits = parse_rule_edits(values) if values else {}
    day = day_option(effective_from, "--effective-from")
    assert day is not None
    book = options(ctx).open()
    versions = book.schedule_history()
    unknown = unknown_actions(versions, list(edits))
    if unknown and not new_action:
        raise InvalidInput([_unknown_action(name, known_actions(versions)) for name in unknown], what="schedule set")
    if not dry_run:
        _confirm_far_dates([day], book.today(), yes, "--effective-from")
    outcome = book.set_schedule(
        day, edits, author=author, reason=reason, link=link, retroactive=retroactive, dry_run=dry_run, period=period
    )
    _report(outcome, fmt, quiet)


def _unknown_action(name: str, known: list[str]) -> InputProblem:
    action, dot, part = name.rpartition(".")
    if dot and action in known:
        # `posts_read.pre=3` is a known action's part misspelt, not a new action's name.
        nearest = difflib.get_close_matches(part, PARTS, n=1)
        hint = f"; did you mean {action}.{nearest[0]}?" if nearest else "."
        reason = f"{action} has no part {part!r} (a rule's parts: {', '.join(PARTS)}){hint} A new action of this name needs --new-action"
        return InputProblem(name, None, None, reason)
    if not known:
        return InputProblem(name, None, None, "the ledger has no schedule yet, so every action is new: pass --new-action to price it")
    nearest = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {nearest[0]}? If" if nearest else "if"
    return InputProblem(name, None, None, f"no schedule version has ever priced this action; {hint} it is new, pass --new-action")


def _confirm_far_dates(days: list[date], today: date, yes: bool, where: str) -> None:
    """Ask before recording a date far in the future of the ledger's `today`; without a
    terminal, refuse unless --yes."""
    far = sorted({day for day in days if far_future(day, today)})
    if not far or yes:
        return
    dates = ", ".join(day.isoformat() for day in far)
    message = f"{dates} is more than {FAR_FUTURE_DAYS} days after today ({today.isoformat()})"
    if not _interactive():
        raise InvalidInput(
            [InputProblem(where, None, None, f"{message}; pass --yes to record it (no terminal to ask on)")], what="schedule"
        )
    if not typer.confirm(f"{message}. Record it?", default=False, err=True):
        raise InvalidInput([InputProblem(where, None, None, f"{message}; not confirmed")], what="schedule")


def _interactive() -> bool:
    return sys.stdin.isatty()


@app.command("import")
def import_document(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="YAML, JSON or CSV schedule document, or - for standard input (YAML).")],
    retroactive: Annotated[bool, typer.Option("--retroactive", help="Allow versions dated before today.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the document and show what is new and whose points would move; write nothing.")
    ] = False,
    yes: YesOption = False,
    fmt: MovesFormatOption = None,
    quiet: QuietOption = False,
) -> None:
    """Record every version of a schedule document (full rules: value, per, min_quantity, by; levels).

    Importing the same document again adds nothing, and a version already in force from its
    date is skipped. Unknown keys (`valeu: 6`) are refused with file, line, version and action.

    Example: scoreledger schedule import schedule.yaml --retroactive
    """
    book = options(ctx).open()
    source, fmt_name = (path, None) if path != "-" else ("<stdin>", "yaml")
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput([InputProblem(path, None, None, exc.strerror or str(exc))], what="schedule import") from None
    if not dry_run:
        days = [version.effective_from for version in read_schedule(io.BytesIO(data), source, fmt_name)]
        _confirm_far_dates(days, book.today(), yes, source)
    outcome = book.import_schedule(io.BytesIO(data), source, fmt_name, retroactive=retroactive, dry_run=dry_run)
    _report(outcome, fmt, quiet)


def _report(outcome: RecordOutcome, fmt: OutputFormat | None, quiet: bool) -> None:
    """The summary for people (standard output, or standard error when --format lists the
    moves there), and with --format every user who moves."""

    def say(line: str) -> None:
        if not quiet:
            typer.echo(line, err=fmt is not None)

    would = outcome.dry_run
    if outcome.document_seen:
        say(f"this document was imported before: nothing new ({outcome.already_present} version(s))")
    for version, changes in zip(outcome.recorded, outcome.changes, strict=True):
        scoring = "" if scoring_words(version) == "on" else f" (scoring {scoring_words(version)})"
        say(
            f"{'would record' if would else 'recorded'} version effective {version.effective_from.isoformat()}{scoring}"
            f"{_change_count(version, changes)}"
        )
        for change in changes:
            say(f"  {change.action}: {_words(change.action, change.before)} → {_words(change.action, change.after)}")
    if outcome.already_present and not outcome.document_seen:
        say(f"{outcome.already_present} version(s) already in force from their date: skipped")
    if not outcome.recorded:
        say("nothing recorded" if not would else "nothing would be recorded")
    elif outcome.moved:
        since = outcome.moved_from.isoformat() if outcome.moved_from else "the change"
        gain = sum(1 for move in outcome.moved if move.after > move.before)
        net = sum(move.after - move.before for move in outcome.moved)
        say(
            f"reprices {outcome.affected_actions:,} recorded action(s); {'would move' if would else 'moves'} "
            f"{len(outcome.moved):,} user(s) (points from actions on and after {since}): "
            f"{gain:,} up, {len(outcome.moved) - gain:,} down, {net:+,} points in total"
        )
        if fmt is None:
            for move in outcome.moved[:MOVES_SHOWN]:
                say(f"  user {move.user_id}: {move.before:,} -> {move.after:,} ({move.after - move.before:+,})")
            if len(outcome.moved) > MOVES_SHOWN:
                say(f"  ... and {len(outcome.moved) - MOVES_SHOWN:,} more (--format csv lists every one)")
    elif outcome.affected_actions:
        say(f"nobody {'would move' if would else 'moves'}: the {outcome.affected_actions:,} repriced action(s) earn the same points")
    else:
        say(f"nobody {'would move' if would else 'moves'}: no recorded action is repriced")
    if fmt is not None:
        rows = [{"user_id": key_text(m.user_id), "before": m.before, "after": m.after, "change": m.after - m.before} for m in outcome.moved]
        render(rows, MOVE_COLUMNS, fmt)


def _change_count(version: ScheduleVersion, changes: list[RuleChange]) -> str:
    if not changes:
        return " (no rule changes)"
    kept = sum(1 for action in version.rules if action not in {change.action for change in changes})
    return f" ({len(changes)} rule(s) change, {kept} kept):"


def _words(action: str, rule: Rule | None) -> str:
    return describe_rule(action, rule) if rule is not None else "(no rule)"


def _rule_fields(rule: Rule | None, prefix: str = "") -> dict[str, Any]:
    """A rule's parts as typed columns (all None for no rule)."""
    return {
        f"{prefix}value": rule.value if rule else None,
        f"{prefix}per": rule.per if rule else None,
        f"{prefix}min_quantity": rule.min_quantity if rule else None,
        f"{prefix}by": rule.by if rule else None,
    }


@app.command("show")
def show(
    ctx: typer.Context,
    at: Annotated[str | None, typer.Option("--at", help="Day (YYYY-MM-DD). Default: today in the ledger's time zone.")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The rules in force on a day, in words (table) or by part (csv, json).

    Example: scoreledger schedule show --at 2024-05-15 --format csv
    """
    asked = day_option(at, "--at")
    book = options(ctx).open()
    day = asked or book.today()
    recorded = book.schedule_at(day)
    version = recorded.version
    title = f"in force on {day.isoformat()}: version effective {version.effective_from.isoformat()}"
    if version.reason:
        title += f" ({version.reason})"
    if scoring_words(version) != "on":
        title += f"; scoring {scoring_words(version)}"
    rows = [{"action": action, **_rule_fields(rule), "rule": describe_rule(action, rule)} for action, rule in sorted(version.rules.items())]
    columns = ["action", "rule"] if fmt is OutputFormat.table else ["action", "value", "per", "min_quantity", "by", "rule"]
    render(rows, columns, fmt, title=title)


@app.command("history")
def history(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """Every recorded version, oldest effective date first (two of one date: the later
    recorded is in force). JSON gives rules as objects, as a schedule document writes them.

    Example: scoreledger schedule history --format json
    """
    versions = options(ctx).open().schedule_history()
    render(
        [_history_row(recorded, fmt) for recorded in versions],
        ["effective_from", "recorded_at", "retroactive", "scoring", "rules", "reason", "author", "link"],
        fmt,
        # On a narrow terminal the rules and their reason matter more than when and how they were recorded.
        optional=("link", "author", "retroactive", "recorded_at"),
    )


def _history_row(recorded: RecordedScheduleVersion, fmt: OutputFormat) -> dict[str, Any]:
    version = recorded.version
    if fmt is OutputFormat.table:
        rules: Any = "; ".join(f"{action}: {describe_rule(action, rule)}" for action, rule in sorted(version.rules.items()))
    else:
        rules = {action: rule.to_document() for action, rule in sorted(version.rules.items())}
    return {
        "effective_from": version.effective_from,
        # A table shows times as every table does (2026-12-03 21:20:05 UTC).
        "recorded_at": recorded.recorded_at if fmt is OutputFormat.table else iso_utc(recorded.recorded_at),
        "retroactive": recorded.retroactive,
        "scoring": scoring_words(version),
        "rules": rules,
        "reason": version.reason,
        "author": version.author,
        "link": version.link,
    }


def iso_utc(moment: datetime) -> str:
    """A stored (naive UTC) timestamp as ISO 8601 with its zone: 2026-12-03T21:20:05Z."""
    return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds") + "Z"


@app.command("export")
def export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="json, yaml or csv.")] = "yaml",
    output: Annotated[Path | None, typer.Option("--output", help="Write to this file instead of standard output.")] = None,
) -> None:
    """Write the whole schedule history as a document that `schedule import` reads back to
    the same history (two versions of one date included).

    Example: scoreledger schedule export --format json --output schedule.json
    """
    if fmt not in SCHEDULE_FORMATS:
        raise InvalidInput([InputProblem("--format", None, None, f"{fmt!r} is not one of {', '.join(SCHEDULE_FORMATS)}")], what="export")
    versions = [recorded.version for recorded in options(ctx).open().schedule_history()]
    document = export_schedule(versions, fmt)
    if output is None:
        sys.stdout.write(document)
    else:
        write_output(output, document, "export")
        typer.echo(f"wrote {len(versions)} version(s) to {output}", err=True)


@app.command("diff")
def diff(
    ctx: typer.Context,
    from_day: Annotated[str, typer.Option("--from", help="Day (YYYY-MM-DD) of the first version.")],
    to_day: Annotated[str, typer.Option("--to", help="Day (YYYY-MM-DD) of the second version.")],
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """What changed between the versions in force on two days: in words (table), rules as
    objects (json), or each part in a column (csv).

    Example: scoreledger schedule diff --from 2024-05-15 --to 2024-05-16 --format json
    """
    start, end = day_option(from_day, "--from"), day_option(to_day, "--to")
    assert start is not None and end is not None
    before, after, changes = options(ctx).open().schedule_diff(start, end)
    scoring = [scoring_words(v.version) if v else "on" for v in (before, after)]
    if fmt is OutputFormat.table:
        rows: list[dict[str, Any]] = [
            {"action": c.action, "before": _words(c.action, c.before), "after": _words(c.action, c.after)} for c in changes
        ]
        if scoring[0] != scoring[1]:
            rows.append({"action": "(scoring)", "before": scoring[0], "after": scoring[1]})
        render(rows, ["action", "before", "after"], fmt)
    elif fmt is OutputFormat.json:
        rows = [
            {
                "action": c.action,
                "before": c.before.to_document() if c.before else None,
                "after": c.after.to_document() if c.after else None,
                "change": f"{_words(c.action, c.before)} → {_words(c.action, c.after)}",
            }
            for c in changes
        ]
        if scoring[0] != scoring[1]:
            rows.append({"action": "(scoring)", "before": scoring[0], "after": scoring[1], "change": f"{scoring[0]} → {scoring[1]}"})
        render(rows, ["action", "before", "after", "change"], fmt)
    else:
        rows = [{"action": c.action, **_rule_fields(c.before, "before_"), **_rule_fields(c.after, "after_")} for c in changes]
        render(
            rows, ["action", *[f"{side}_{part}" for side in ("before", "after") for part in ("value", "per", "min_quantity", "by")]], fmt
        )
