"""`scoreledger users import | list`: users' usernames and display names.

A user is named by its key everywhere (ledger/user_keys.py); names only label the outputs
of `scores`, `leaderboard` and `audit`, and never change a score.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.user_keys import key_text

from .context import options
from .output import OutputFormat, render

app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Users' usernames and display names, shown next to their keys.\n\n\b\nExample: scoreledger users import users.csv",
)


@app.command("import")
def import_users(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="CSV or JSON Lines file, or - for standard input.")],
    fmt: Annotated[str | None, typer.Option("--format", help="csv or jsonl. Default: from the file name.", show_default=False)] = None,
) -> None:
    """Record users' usernames and display names from a file: all of it, or nothing if any
    row is bad.

    Columns (CSV) or keys (JSONL): user (the user's key, as in action files), and username
    and name (either may be empty). A user's latest names win; importing the same file again
    records nothing. A key not seen before is registered.

    \b
    Example: scoreledger users import users.csv
      user,username,name
      42,alice,Alice Liddell
      6f1c2d9e-0b7a-4a53-9c1e-3f6f0d2b8a11,bob,Bob Dylan
    """
    written = options(ctx).open().import_users_file(path, fmt)
    typer.echo(f"{written.new} recorded, {written.already_present} already present")


@app.command("list")
def list_users(
    ctx: typer.Context,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table, csv or json.")] = OutputFormat.table,
) -> None:
    """Every user with recorded names: key, username and name.

    Example: scoreledger users list --format csv
    """
    book = options(ctx).open()
    rows = [{"user_id": key_text(user), "username": names.username, "name": names.name} for user, names in book.user_names().items()]
    render(rows, ["user_id", "username", "name"], fmt, title="users")
