"""`python -m bench --scale small|medium|large [--only compensation] [--output DIR] [--postgres URL]`

Runs the benchmark suite at one scale and writes DIR/latest.json and DIR/latest.md
(default DIR: bench/results). Exits non-zero if any part failed to run; a missed target is
not a failure, it is reported. `--only compensation` measures the Discourse plan and push
alone (bench/compensation_alone.py) and prints them, writing no file.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bench import compensation_alone, report, runner
from bench.databases import DEFAULT_ADMIN_URL
from bench.machine import describe
from bench.scales import SCALES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    parser.add_argument(
        "--scale",
        choices=sorted(SCALES),
        default="small",
        help="small (100k actions, a smoke test), medium (2M, 20k users) or large (10M, 100k users)",
    )
    parser.add_argument(
        "--only",
        choices=["compensation"],
        help="measure one part alone and print it: compensation (the Discourse plan and push, on a forum and ledger of their own)",
    )
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("results"), help="folder for latest.json and latest.md")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("SCORELEDGER_BENCH_DATABASE_URL", DEFAULT_ADMIN_URL),
        help="a PostgreSQL URL whose user may create databases (bench_* are created and dropped); "
        "default $SCORELEDGER_BENCH_DATABASE_URL or " + DEFAULT_ADMIN_URL,
    )
    parser.add_argument("--seed", type=int, default=runner.SEED, help="the community's random seed")
    arguments = parser.parse_args(argv)
    if arguments.only == "compensation":
        results = compensation_alone.run(SCALES[arguments.scale], arguments.postgres, arguments.seed, runner.HISTORY_END, say)
        print(f"machine: {describe(arguments.postgres)}")
        for result in results:
            print(f"- {result.name} | {result.backend} | {result.value:.2f} {result.unit} | target {result.target} | {result.note}")
        return 0
    run, context = runner.run(SCALES[arguments.scale], arguments.postgres, arguments.seed)
    json_path, markdown_path = report.write(run, context, arguments.output)
    print(markdown_path.read_text(encoding="utf-8"))
    print(f"written: {json_path} and {markdown_path}", file=sys.stderr)
    return 1 if run.errors else 0


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
