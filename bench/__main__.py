"""`python -m bench --scale small|large [--output DIR] [--postgres URL]`

Runs the benchmark suite at one scale and writes DIR/latest.json and DIR/latest.md
(default DIR: bench/results). Exits non-zero if any part failed to run; a missed target is
not a failure, it is reported.

`python -m bench --only recalcs [--actions N] [--changes N] [--rounds N] [--baseline REV]`
measures the recalculations alone on PostgreSQL (full with corrections, incremental after new
actions, retraction + recalc, merge + recalc) at N actions (default 1,000,000), and with
--baseline the same on the code of git revision REV too, alternately on copies of one
database, for a before/after side by side; prints a Markdown table, writes nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bench import recalcs, report, runner
from bench.databases import DEFAULT_ADMIN_URL
from bench.scales import SCALES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.split("\n\n")[1],
        epilog=__doc__.split("\n\n")[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scale", choices=sorted(SCALES), default="small", help="small (100k actions, a smoke test) or large (10M)")
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("results"), help="folder for latest.json and latest.md")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("SCORELEDGER_BENCH_DATABASE_URL", DEFAULT_ADMIN_URL),
        help="a PostgreSQL URL whose user may create databases (bench_* are created and dropped); "
        "default $SCORELEDGER_BENCH_DATABASE_URL or " + DEFAULT_ADMIN_URL,
    )
    parser.add_argument("--seed", type=int, default=runner.SEED, help="the community's random seed")
    parser.add_argument("--only", choices=["recalcs"], help="recalcs: the recalculations alone (see below), not the suite")
    parser.add_argument("--actions", type=int, default=1_000_000, help="with --only recalcs: the community's size")
    parser.add_argument(
        "--changes", type=int, default=10_000, help="with --only recalcs: new actions, retracted keys, merged user's actions"
    )
    parser.add_argument("--rounds", type=int, default=2, help="with --only recalcs: rounds per code (medians are shown)")
    parser.add_argument(
        "--baseline", metavar="REV", help="with --only recalcs: a git revision whose code is measured alternately with this checkout's"
    )
    arguments = parser.parse_args(argv)
    if arguments.only == "recalcs":
        print(recalcs.run(arguments.postgres, arguments.actions, arguments.changes, arguments.rounds, arguments.baseline))
        return 0
    run, context = runner.run(SCALES[arguments.scale], arguments.postgres, arguments.seed)
    json_path, markdown_path = report.write(run, context, arguments.output)
    print(markdown_path.read_text(encoding="utf-8"))
    print(f"written: {json_path} and {markdown_path}", file=sys.stderr)
    return 1 if run.errors else 0


if __name__ == "__main__":
    sys.exit(main())
