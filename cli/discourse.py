"""`scoreledger discourse ...`: import a Discourse forum's scoring history and point values."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ledger.discourse import settings as forum_settings
from ledger.discourse.data_explorer import DataExplorerForum
from ledger.discourse.explorer_query import PLUGIN_BRANCHES, compose
from ledger.discourse.forum import PostgresForum
from ledger.discourse.http import DiscourseClient
from ledger.discourse.importer import ForumUser, ImportReport, import_forum, read_users
from ledger.discourse.scorables import ACTION_NAMES, GENERATIONS, detect_shape
from ledger.errors import InputProblem, InvalidInput
from ledger.exporters.schedules import FORMATS as SCHEDULE_FORMATS
from ledger.exporters.schedules import export_schedule
from ledger.spreadsheet import neutralise

from .context import options
from .output import OutputFormat, render, say, write_output

app = typer.Typer(
    no_args_is_help=True,
    help="Import a Discourse forum's scoring history (as the gamification plugin scores it) and its point-value history. "
    "The forum's database is only ever read, in a read-only session.\n\n"
    "\b\nExample: scoreledger discourse import --dsn postgresql://reader@forum-db/discourse",
)

DsnOption = Annotated[
    str | None,
    typer.Option("--dsn", help="The Discourse database, postgresql://USER@HOST/DB. Read only, in a read-only session.", show_default=False),
]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="A hosted forum, read through Data Explorer (with --query-id); the API key and username come from "
        "DISCOURSE_API_KEY and DISCOURSE_API_USERNAME only.",
        show_default=False,
    ),
]
QueryIdOption = Annotated[
    int | None,
    typer.Option(
        "--query-id",
        help="With --url: the id of the saved Data Explorer query holding sql/discourse/data_explorer.sql.",
        show_default=False,
    ),
]


@contextmanager
def open_forum(dsn: str | None, url: str | None, query_id: int | None) -> Iterator[Any]:
    """The forum to read: its database (--dsn) or its Data Explorer (--url, --query-id)."""
    if (dsn is None) == (url is None):
        raise InvalidInput(
            [InputProblem("--dsn", None, None, "give either --dsn (the forum's database) or --url with --query-id (Data Explorer)")],
            what="discourse",
        )
    if dsn is not None:
        with PostgresForum(dsn) as forum:
            yield forum
        return
    if query_id is None:
        raise InvalidInput(
            [InputProblem("--query-id", None, None, "--url needs --query-id: the saved query holding sql/discourse/data_explorer.sql")],
            what="discourse",
        )
    assert url is not None
    with DataExplorerForum(DiscourseClient(url), query_id) as forum:
        yield forum


GenerationOption = Annotated[
    str | None,
    typer.Option(
        "--generation",
        help="G1 (standalone plugin), G2 (bundled in core) or G3 (per-leaderboard scoring). Default: detected.",
        show_default=False,
    ),
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table, csv or json.")]


def _generation(value: str | None) -> str | None:
    if value is None:
        return None
    if value.upper() not in GENERATIONS:
        raise InvalidInput([InputProblem("--generation", None, None, f"{value!r} is not one of G1, G2, G3")], what="discourse")
    return value.upper()


@app.command("defaults")
def defaults(
    fmt: Annotated[str, typer.Option("--format", help="yaml, json or csv.")] = "yaml",
) -> None:
    """Print the gamification plugin's default point values as a schedule document.

    The document is what `scoreledger schedule import` reads: time_read and post_read are
    priced per 3600 seconds / 100 posts with the plugin's minimums (60 seconds, 5 posts).

    Example: scoreledger discourse defaults --format yaml > discourse-defaults.yaml
    """
    if fmt not in SCHEDULE_FORMATS:
        raise InvalidInput(
            [InputProblem("--format", None, None, f"{fmt!r} is not one of {', '.join(SCHEDULE_FORMATS)}")], what="discourse defaults"
        )
    sys.stdout.write(export_schedule([forum_settings.default_schedule()], fmt))


@app.command("explorer-query")
def explorer_query(
    without: Annotated[
        list[str] | None,
        typer.Option(
            "--without",
            help=f"Leave out a part the forum lacks: {', '.join(PLUGIN_BRANCHES)} (repeatable; G1 and G2 forums: leaderboards, solved-answers).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print the one Data Explorer query a hosted forum's import needs (sql/discourse/data_explorer.sql).

    An admin creates a query in Data Explorer, pastes this text, saves it and passes its id
    as --query-id. The query reads a current forum with every plugin; a forum without the
    solved, reactions or chat plugin needs it without that part (its tables do not exist
    there), and a forum on the G1 or G2 plugin without leaderboards and solved-answers.

    Example: scoreledger discourse explorer-query --without chat > discourse-query.sql
    """
    try:
        sys.stdout.write(compose(tuple(without or ())))
    except ValueError as exc:
        raise InvalidInput([InputProblem("--without", None, None, str(exc))], what="discourse") from None


@app.command("schedule-history")
def schedule_history(
    ctx: typer.Context,
    dsn: DsnOption = None,
    url: UrlOption = None,
    query_id: QueryIdOption = None,
    leaderboard: Annotated[
        int | None,
        typer.Option(
            "--leaderboard",
            help="G3: the history as seen by this leaderboard (its overrides and categories on top of the site's values).",
            show_default=False,
        ),
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Record the versions in the ledger (implies --retroactive: they are dated in the past).")
    ] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Rebuild the dated history of point values from the forum's staff action log.

    A first version holds the values in force before the earliest logged change (a setting
    never changed through the admin page keeps its current value); then one version per UTC
    day on which `*_score_value` or `scorable_categories` changed, with the log's authors and
    changes as author and reason. Shown only, unless --apply.

    Example: scoreledger --ledger forum discourse schedule-history --dsn postgresql://discourse@db/discourse --apply
    """
    with open_forum(dsn, url, query_id) as forum:
        current = forum_settings.current_values(forum)
        changes = forum_settings.setting_changes(forum)
        overlay = None
        if leaderboard is not None:
            if "gamification_leaderboard_scores" not in detect_shape(forum).tables:
                raise InvalidInput(
                    [InputProblem("--leaderboard", None, None, "the forum has no per-leaderboard scoring (G3): leave --leaderboard out")],
                    what="discourse",
                )
            boards = {board.leaderboard_id: board for board in forum_settings.leaderboards(forum)}
            if leaderboard not in boards:
                raise InvalidInput(
                    [InputProblem("--leaderboard", None, None, f"no leaderboard {leaderboard} on the forum")], what="discourse"
                )
            overlay = boards[leaderboard]
    versions = forum_settings.history(current, changes, overlay)
    render(
        [
            {
                "effective_from": version.effective_from,
                "author": version.author,
                "reason": version.reason,
                "rules": ", ".join(f"{action}={_rule_text(rule)}" for action, rule in sorted(version.rules.items())),
            }
            for version in versions
        ],
        ["effective_from", "author", "reason", "rules"],
        fmt,
    )
    if apply:
        outcome = options(ctx).open().record_schedule(versions, retroactive=True)
        say(f"recorded {len(outcome.recorded)} version(s), {outcome.already_present} already recorded")
    else:
        say("shown only: pass --apply to record these versions")


def _rule_text(rule: forum_settings.Rule) -> str:
    if rule.by:
        return f"{next(iter(rule.by_points.values()), 0)} in categories {'|'.join(rule.by_points)}"
    text = str(rule.value)
    if rule.per:
        text += f" per {rule.per} (min {rule.min_quantity})"
    return text


@app.command("import")
def import_command(
    ctx: typer.Context,
    dsn: DsnOption = None,
    url: UrlOption = None,
    query_id: QueryIdOption = None,
    generation: GenerationOption = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Read every row again, not only those above the recorded watermarks, and correct what changed since recorded: retract, reinstate, amend, merge users; compare every user's names.",
        ),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read the forum and show the counts; write nothing.")] = False,
    users_file: Annotated[
        Path | None,
        typer.Option(
            "--users-file", help="Write the forum's users (user_id, username, name, off_board) to this CSV file.", show_default=False
        ),
    ] = None,
    exclude_file: Annotated[
        Path | None,
        typer.Option(
            "--exclude-file",
            help="Write the ids of users the plugin leaves off its boards, one a line, for `leaderboard --exclude-users`.",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Import every scoring row of a Discourse forum as one action each, as the plugin scores it.

    Action names are the plugin's (day_visited, time_read, post_read, post_created,
    topic_created, like_received, like_given, solution, flag_created, user_invited,
    reaction_received, reaction_given, chat_message_created, chat_reaction_received,
    chat_reaction_given); source keys are stable (post:123, like-received:456, visit:789),
    so running it again adds only what is new: each action type is read from its watermark
    (the highest key recorded for it), and the rows the forum changed since the last import
    are reconciled: what stopped scoring is retracted, what scores again reinstated, changed
    measures amended, accounts Discourse merged are merged, and the names of the users the
    forum updated since are recorded. --full reconciles every key and every user's names (for
    changes no timestamp shows: a row deleted outright, an unaccepted solution). Score events
    become adjustments (kind imported), except those the ledger posted. At the end: counts per
    action type of what was added, retracted, reinstated, amended and merged. Price them with
    `discourse schedule-history`.

    Hosted forums: --url https://forum.example --query-id N, N being the saved Data Explorer
    query of `scoreledger discourse explorer-query`.

    Example: scoreledger --ledger forum discourse import --dsn postgresql://discourse@db/discourse --dry-run
    """
    chosen = _generation(generation)
    book = options(ctx).open()
    with open_forum(dsn, url, query_id) as forum, _progress() as bar:
        tasks: dict[str, Any] = {}

        def advance(action: str, rows: int) -> None:
            if action not in tasks:
                tasks[action] = bar.add_task(action, total=None)
            bar.advance(tasks[action], rows)

        shape = detect_shape(forum, chosen)
        say(f"Discourse forum, plugin generation {shape.generation} ({'detected' if shape.detected else 'as given'})")
        report = import_forum(book, forum, generation=shape.generation, full=full, dry_run=dry_run, progress=advance)
        wanted = users_file is not None or exclude_file is not None
        # A later import reads only the users the forum updated: the files list every user.
        users = read_users(forum, report.shape) if wanted and report.users_changed_since is not None else report.users
    _summary(report, fmt)
    if users_file is not None:
        _write_users(users, users_file)
    if exclude_file is not None:
        write_output(exclude_file, "".join(f"{user.user_id}\n" for user in users.values() if user.off_board), "--exclude-file")


def _write_users(users: dict[int, ForumUser], path: Path) -> None:
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["user_id", "username", "name", "off_board"])
    for user in sorted(users.values(), key=lambda user: user.user_id):
        writer.writerow([user.user_id, neutralise(user.username), neutralise(user.name or ""), " ".join(user.off_board)])
    write_output(path, stream.getvalue(), "--users-file")


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


COUNTS = ("added", "retracted", "reinstated", "amended", "merged")


def _summary(report: ImportReport, fmt: OutputFormat) -> None:
    """Counts per action type of what was (or, with --dry-run, would be) added, retracted,
    reinstated, amended and merged."""
    prefix = "would be " if report.dry_run else ""
    rows = [
        {
            "action": action,
            "found": report.found.get(action, 0),
            **{f"{prefix}{name}".replace(" ", "_"): getattr(report, name).get(action, 0) for name in COUNTS},
            "note": report.skipped.get(action, ""),
        }
        for action in ACTION_NAMES
    ]
    columns = ["action", "found", *(f"{prefix}{name}".replace(" ", "_") for name in COUNTS), "note"]
    render(rows, columns, fmt)
    off = report.off_board
    totals = ", ".join(f"{sum(getattr(report, name).values())} {name}" for name in COUNTS)
    if report.reconciled_all_because:
        say(f"every key was reconciled, as --full does: {report.reconciled_all_because}")
    unhandled = f"; {sum(report.changed.values())} changed in ways no correction expresses (left as recorded)" if report.changed else ""
    say(
        f"{prefix}{totals}{unhandled}; {len(report.merges)} user merge(s); "
        f"{len(report.adjustments)} score-event adjustment(s) {prefix or ''}recorded, {report.own_events} of the ledger's own events recognised; "
        f"{_users_read(report)}, {len(off)} off the plugin's boards"
    )


def _users_read(report: ImportReport) -> str:
    if report.users_changed_since is None:
        return f"{len(report.users)} forum users"
    return f"{len(report.users)} forum users updated since {report.users_changed_since.isoformat(sep=' ', timespec='seconds')}"
