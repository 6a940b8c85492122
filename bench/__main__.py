"""`python -m bench --scale small|medium|large [--only PART] [--output DIR] [--postgres URL]`

Runs the benchmark suite at one scale and writes DIR/latest.json and DIR/latest.md
(default DIR: bench/results). Exits non-zero if any part failed to run; a missed target is
not a failure, it is reported.

One part alone (`--only`), printed rather than written unless `--output` says where:
  recalcs            the recalculations on PostgreSQL (full with corrections, incremental after
                     new actions, retraction + recalc, merge + recalc) at --actions N (default
                     1,000,000); with --baseline REV the same on git revision REV's code too,
                     alternately on copies of one database (taken back to REV's schema where
                     it is older), for a before/after side by side.
  audit              per-user audits (p50, p99, max of 1,000 users drawn uniformly, in a child
                     process) on PostgreSQL and SQLite at --actions N (default 1,000,000) with
                     the community's corrections; with --baseline REV the same on git revision
                     REV's code too, round by round, each code on ledgers it built itself.
  discourse-import   the forum loaded, then the Discourse import's rows (bench/discourse_import.py).
  compensation       the Discourse plan and push on a forum and ledger of their own
                     (bench/compensation_alone.py), the old pricing beside the new.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bench import audits, compensation_alone, recalcs, report, runner
from bench.databases import DEFAULT_ADMIN_URL
from bench.machine import describe
from bench.scales import SCALES

ONLY = sorted([*runner.PARTS, "recalcs", "audit", "compensation"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.split("\n\n")[1],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--scale",
        choices=sorted(SCALES),
        default="small",
        help="small (100k actions, a smoke test), medium (for --only) or large (10M, 100k users)",
    )
    parser.add_argument("--only", choices=ONLY, help="run one part alone (see below)")
    parser.add_argument("--output", type=Path, help="folder for latest.json and latest.md (default: bench/results, without --only)")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("SCORELEDGER_BENCH_DATABASE_URL", DEFAULT_ADMIN_URL),
        help="a PostgreSQL URL whose user may create databases (bench_* are created and dropped); "
        "default $SCORELEDGER_BENCH_DATABASE_URL or " + DEFAULT_ADMIN_URL,
    )
    parser.add_argument("--seed", type=int, default=runner.SEED, help="the community's random seed")
    parser.add_argument("--actions", type=int, default=1_000_000, help="with --only recalcs or audit: the community's size")
    parser.add_argument(
        "--changes", type=int, default=10_000, help="with --only recalcs: new actions, retracted keys, merged user's actions"
    )
    parser.add_argument("--rounds", type=int, default=2, help="with --only recalcs or audit: rounds per code (medians are shown)")
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="with --only recalcs or audit: a git revision whose code is measured alternately with this checkout's",
    )
    arguments = parser.parse_args(argv)
    if arguments.only == "recalcs":
        print(recalcs.run(arguments.postgres, arguments.actions, arguments.changes, arguments.rounds, arguments.baseline))
        return 0
    if arguments.only == "audit":
        print(audits.run(arguments.postgres, arguments.actions, arguments.rounds, arguments.baseline))
        return 0
    if arguments.only == "compensation":
        results = compensation_alone.run(SCALES[arguments.scale], arguments.postgres, arguments.seed, runner.HISTORY_END, say)
        print(f"machine: {describe(arguments.postgres)}")
        for result in results:
            print(f"- {result.name} | {result.backend} | {result.value:.2f} {result.unit} | target {result.target} | {result.note}")
        return 0
    if arguments.only:
        run, context = runner.PARTS[arguments.only](SCALES[arguments.scale], arguments.postgres, arguments.seed)
        if arguments.output is None:
            print(report.markdown(report.document_of(run, context)))
            return 1 if run.errors else 0
    else:
        run, context = runner.run(SCALES[arguments.scale], arguments.postgres, arguments.seed)
    json_path, markdown_path = report.write(run, context, arguments.output or Path(__file__).with_name("results"))
    print(markdown_path.read_text(encoding="utf-8"))
    print(f"written: {json_path} and {markdown_path}", file=sys.stderr)
    return 1 if run.errors else 0


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
