"""`python -m bench --scale small|large [--output DIR] [--postgres URL]`

Runs the benchmark suite at one scale and writes DIR/latest.json and DIR/latest.md
(default DIR: bench/results). Exits non-zero if any part failed to run; a missed target is
not a failure, it is reported.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bench import report, runner
from bench.databases import DEFAULT_ADMIN_URL
from bench.scales import SCALES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small", help="small (100k actions, a smoke test) or large (10M)")
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("results"), help="folder for latest.json and latest.md")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("SCORELEDGER_BENCH_DATABASE_URL", DEFAULT_ADMIN_URL),
        help="a PostgreSQL URL whose user may create databases (bench_* are created and dropped); "
        "default $SCORELEDGER_BENCH_DATABASE_URL or " + DEFAULT_ADMIN_URL,
    )
    parser.add_argument("--seed", type=int, default=runner.SEED, help="the community's random seed")
    arguments = parser.parse_args(argv)
    run, context = runner.run(SCALES[arguments.scale], arguments.postgres, arguments.seed)
    json_path, markdown_path = report.write(run, context, arguments.output)
    print(markdown_path.read_text(encoding="utf-8"))
    print(f"written: {json_path} and {markdown_path}", file=sys.stderr)
    return 1 if run.errors else 0


if __name__ == "__main__":
    sys.exit(main())
