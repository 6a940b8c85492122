"""What every command needs: the ledger chosen by the global options, and error handling."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperArgument, TyperGroup

from ledger import Ledger
from ledger.config import Settings
from ledger.errors import InvalidInput, LedgerError

from .flags import in_cli_words
from .output import ProblemReport, display_zone, report_problems, safe_text

if TYPE_CHECKING:
    # typer vendors click; its Context and Command (typer.Context's base) have no public name.
    from typer._click import Command as ClickCommand
    from typer._click import Context as ClickContext

# Options of the root command that are also accepted after a command's name.
GLOBAL_OPTIONS = ("--db", "--ledger")
# Commands that work from what a ledger recorded: on a ledger name the database has never
# seen they are an error listing the ledgers there are, not an empty answer (a typo would
# look like one) nor, for recalc, a new ledger.
READS_EXISTING_LEDGER = {
    ("scores",),
    ("leaderboard",),
    ("audit",),
    ("recalc",),
    ("schedule", "show"),
    ("schedule", "history"),
    ("schedule", "diff"),
    ("schedule", "export"),
    ("users", "list"),
    ("adjustments", "list"),
    # Against a ledger that holds nothing, every forum total would look wrong: a plan (and a
    # push) would compensate the whole forum.
    ("discourse", "plan"),
    ("discourse", "push"),
    ("discourse", "verify"),
}


@dataclass
class Options:
    database_url: str
    ledger: str
    problems: ProblemReport = field(default_factory=ProblemReport)
    # The words naming the running command below the root, e.g. ("schedule", "show").
    command: tuple[str, ...] = ()

    def open(self) -> Ledger:
        """The chosen ledger; for a command that only reads, refused if it does not exist."""
        book = Ledger.open(self.database_url, self.ledger)
        if self.command in READS_EXISTING_LEDGER:
            book.require_existing()
        display_zone.set(book.zone)
        return book


def options(ctx: typer.Context) -> Options:
    """The global options, for the command whose context is `ctx`."""
    root = ctx.find_root()
    if not isinstance(root.obj, Options):
        settings = Settings()
        root.obj = Options(settings.database_url, settings.ledger)
    root.obj.command = _command_words(ctx)
    # A process that runs several commands (tests, scripts) shows each one's times in its own ledger's zone.
    display_zone.set(lambda: None)
    return root.obj


def _command_words(ctx: typer.Context) -> tuple[str, ...]:
    words: list[str] = []
    context: ClickContext = ctx
    while context.parent is not None:
        words.append(context.info_name or "")
        context = context.parent
    return tuple(reversed(words))


def global_options_first(args: list[str]) -> list[str]:
    """`args` with --db/--ledger (and their values) moved in front of the command name, so
    `scoreledger scores --ledger demo` means what `scoreledger --ledger demo scores` does.
    Words after `--` are left alone."""
    moved: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        if word == "--":
            rest.extend(args[index:])
            break
        name = word.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            if "=" in word:
                moved.append(word)
            else:
                moved.extend(args[index : index + 2])
                index += 1
        else:
            rest.append(word)
        index += 1
    return moved + rest


# typer's type names, as command-line tools name values.
VALUE_NAMES = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "Path": "PATH", "path": "PATH", "file": "FILE"}


class ConventionalArgument(TyperArgument):
    """An argument shown as command-line tools show one: `PATH` in the usage line and the
    Arguments list (`[VALUE]...` when optional and repeated), without typer's `{path}` and
    type placeholders such as `<str>` or `<list[str]>`."""

    def display_type_rich(self, ctx: ClickContext) -> str | None:
        return None

    def get_usage_pieces(self, ctx: ClickContext) -> list[str]:
        name = self.display_name_raw.upper()
        name = name if self.required else f"[{name}]"
        return [f"{name}..." if self.nargs != 1 else name]


def conventional_metavars(command: ClickCommand, ctx: ClickContext) -> None:
    """Name each option's value in help the way command-line tools do (TEXT, INTEGER,
    PATH, [table|csv|json]) where the command names none, instead of typer's type
    placeholders such as <str>; arguments likewise (ConventionalArgument)."""
    for param in getattr(command, "params", ()):
        if isinstance(param, TyperArgument) and not isinstance(param, ConventionalArgument):
            # typer builds every argument itself and takes no class for one: the instance is
            # given the subclass that only changes how it is shown.
            param.__class__ = ConventionalArgument
            if param.metavar is None:
                param.metavar = param.display_name_raw.upper()
            continue
        if param.metavar is not None or getattr(param, "is_flag", False) or param.param_type_name != "option":
            continue
        label = param.display_type(ctx).strip("<>")
        param.metavar = VALUE_NAMES.get(label, f"[{label}]" if "|" in label else label.upper())


def unwrapped_examples(help_text: str | None) -> str | None:
    """Help whose `Example:` paragraphs are printed as written: rewrapped to the terminal,
    an example command would break across lines and no longer paste as one."""
    if not help_text or "\b\nExample:" in help_text:
        return help_text
    return help_text.replace("\n\nExample: ", "\n\n\b\nExample: ")


class LedgerGroup(TyperGroup):
    """Turns ledger errors from any command into one clear line and exit status 1, and
    accepts the global options after the command name too."""

    def get_command(self, ctx: ClickContext, cmd_name: str) -> ClickCommand | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            conventional_metavars(command, ctx)
            command.help = unwrapped_examples(command.help)
        return command

    def parse_args(self, ctx: ClickContext, args: list[str]) -> list[str]:
        if ctx.parent is None:
            args = global_options_first(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: ClickContext) -> Any:
        try:
            return super().invoke(ctx)
        except InvalidInput as error:
            report = ctx.obj.problems if isinstance(ctx.obj, Options) else ProblemReport()
            report_problems(in_cli_words(error), report)
            raise typer.Exit(1) from None
        except LedgerError as error:
            typer.echo(f"error: {safe_text(str(in_cli_words(error)))}", err=True)
            raise typer.Exit(1) from None
