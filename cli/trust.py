"""`scoreledger verify` and `scoreledger digest`: prove the journal was not altered."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.errors import InputProblem, InvalidInput
from ledger.verify import JournalDigest

from .context import options
from .output import write_output


def register(app: typer.Typer) -> None:
    """Add the trust commands to the root command."""
    app.command()(verify)
    app.command()(digest)


def verify(
    ctx: typer.Context,
    digest_file: Annotated[
        Path | None,
        typer.Option(
            "--digest",
            help="A digest written earlier by `scoreledger digest`: also prove the history up to it is unchanged and still present.",
        ),
    ] = None,
    projections: Annotated[
        bool,
        typer.Option(
            "--projections",
            help="Also recompute the projections (daily points, totals, period totals) from the events and report every difference.",
        ),
    ] = False,
) -> None:
    """Recompute every event's bytes and every batch hash; exit 1 at the first break.

    Checks the whole journal of the database (all ledgers share one hash chain). On a break,
    prints one line naming the batch and sequence number and what differs. Without --digest
    it cannot notice a removed tail or a history rewritten with recomputed hashes: keep
    digests outside the database and verify against them.

    With --projections, the projections are recomputed from the events as well and every
    row that differs is printed, one a line (exit 1 if any).

    Example: scoreledger verify --digest digests/2026-11-01.json --projections
    """
    expected = _read_digest(digest_file) if digest_file is not None else None
    book = options(ctx).open()
    result = book.verify(expected)
    head = result.head
    line = (
        f"journal verified: {result.batches} batches, {result.events} events; "
        f"head batch {head.batch_id}, seq {head.last_seq}, hash {head.hash}"
    )
    if result.keyed_batches:
        line += f"; {result.keyed_batches} batch(es) carry a valid chain-key MAC, the newest included"
    if result.unchecked_macs:
        # Without the key a rehashed history verifies: say so rather than look as sure.
        line += f"; {result.unchecked_macs} batch(es) carry a chain-key MAC, not checked: SCORELEDGER_CHAIN_KEY is not set"
    if expected is not None:
        line += f"; contains the digest of batch {expected.batch_id} (taken {expected.taken_at:%Y-%m-%d %H:%M:%S} UTC)"
    typer.echo(line)
    if projections:
        differences = book.projection_differences()
        for difference in differences:
            typer.echo(str(difference), err=True)
        if differences:
            typer.echo(
                f"error: the projections differ from the events in {len(differences)} place(s); run `scoreledger recalc --full`", err=True
            )
            raise typer.Exit(1)
        typer.echo("projections agree with the events")


def digest(
    ctx: typer.Context,
    output: Annotated[Path | None, typer.Option("--output", help="Write the digest to this file instead of standard output.")] = None,
) -> None:
    """Verify the journal, then write its head (batch id, last seq, hash, time) as JSON.

    Keep the file outside the database: a later `scoreledger verify --digest FILE` proves
    nothing up to this head has changed. Refuses (exit 1) if the journal is already broken.

    Example: scoreledger digest --output digests/$(date +%F).json
    """
    head = options(ctx).open().digest()
    if output is None:
        typer.echo(head.to_json(), nl=False)
        return
    write_output(output, head.to_json(), "digest")
    typer.echo(f"wrote digest of batch {head.batch_id} (seq {head.last_seq}) to {output}", err=True)


def _read_digest(path: Path) -> JournalDigest:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InvalidInput([InputProblem(str(path), None, None, reason)], what="verify") from None
    return JournalDigest.from_json(text, str(path))
