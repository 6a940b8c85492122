"""`python -m bench --scale small|medium|large [--only PART] [--output DIR] [--postgres URL]`

Runs the benchmark suite at one scale and writes DIR/latest.json and DIR/latest.md
(default DIR: bench/results). Exits non-zero if any part failed to run; a missed target is
not a failure, it is reported. `--only discourse-import` runs only the Discourse import's
rows (the forum loaded, then bench/discourse_import.py) and writes its report only where
`--output` says.
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
    parser.add_argument(
        "--scale",
        choices=sorted(SCALES),
        default="small",
        help="small (100k actions, a smoke test), medium (1M, for --only) or large (10M)",
    )
    parser.add_argument(
        "--only",
        choices=sorted(runner.PARTS),
        help="run one part alone: discourse-import (load the forum, then the import rows: full, "
        "after 10,000 changes, through Data Explorer); its report is printed, and written only with --output",
    )
    parser.add_argument("--output", type=Path, help="folder for latest.json and latest.md (default: bench/results, without --only)")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("SCORELEDGER_BENCH_DATABASE_URL", DEFAULT_ADMIN_URL),
        help="a PostgreSQL URL whose user may create databases (bench_* are created and dropped); "
        "default $SCORELEDGER_BENCH_DATABASE_URL or " + DEFAULT_ADMIN_URL,
    )
    parser.add_argument("--seed", type=int, default=runner.SEED, help="the community's random seed")
    arguments = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
