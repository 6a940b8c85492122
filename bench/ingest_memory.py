"""Peak memory of `scoreledger ingest` of a large CSV file, in a process of its own.

    python -m bench.ingest_memory URL ROWS [--keep FILE]

writes a seeded CSV file of ROWS actions (about 80 bytes a row), then runs
`/usr/bin/time -v python -m cli ingest FILE` against URL (a fresh, initialised database) and
prints one JSON object: seconds, peak RSS (time's "Maximum resident set size") and the rows
recorded. /usr/bin/time is the child's parent, so the figure is the ingest's own, not the
benchmark's (bench/probe.py explains why getrusage in the benchmark's process would not do).
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TIME = Path("/usr/bin/time")
ACTIONS = ("likes_received", "likes_given", "posts_created", "posts_read", "time_read", "solutions", "days_visited")
START = datetime(2020, 1, 1)
SPAN_S = 6 * 365 * 86_400


def write_csv(path: Path, rows: int, users: int, seed: int = 20260101) -> None:
    """A CSV file of `rows` actions by up to `users` users over six years."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        out.write("source_key,user_id,action,occurred_at,quantity,attributes\n")
        block: list[str] = []
        for index in range(rows):
            action = ACTIONS[index % len(ACTIONS)]
            moment = START + timedelta(seconds=rng.randrange(SPAN_S))
            quantity = rng.randrange(5, 200) if action in ("posts_read", "time_read") else 1
            attributes = '"{""category_id"": 4}"' if index % 5 == 0 else ""
            block.append(f"{action}:{index},{rng.randrange(1, users + 1)},{action},{moment:%Y-%m-%dT%H:%M:%S},{quantity},{attributes}\n")
            if len(block) == 100_000:
                out.writelines(block)
                block.clear()
        out.writelines(block)


def measure(url: str, path: Path, timeout: float | None = None) -> dict | None:
    """Seconds and peak RSS of `scoreledger ingest path` against `url`; None if it did not
    finish within `timeout` seconds. Raises if the ingest failed."""
    command = [sys.executable, "-m", "cli", "--db", url, "ingest", str(path)]
    if TIME.exists():
        command = [str(TIME), "-v", *command]
    started = time.perf_counter()
    try:
        finished = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    seconds = time.perf_counter() - started
    if finished.returncode != 0:
        raise RuntimeError(f"ingest failed: {finished.stderr.strip().splitlines()[-3:]}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", finished.stderr)
    new = re.match(r"(\d+) new", finished.stdout.strip())
    return {
        "seconds": seconds,
        "peak_rss_mib": int(peak.group(1)) / 1024 if peak else None,
        "new": int(new.group(1)) if new else None,
        "file_mib": path.stat().st_size / 2**20,
    }


def main(argv: list[str]) -> None:
    url, rows = argv[0], int(argv[1])
    keep = Path(argv[argv.index("--keep") + 1]) if "--keep" in argv else None
    with tempfile.TemporaryDirectory() as folder:
        path = keep or Path(folder) / "actions.csv"
        if not path.exists():
            write_csv(path, rows, users=max(1, rows // 100))
        print(json.dumps(measure(url, path)))


if __name__ == "__main__":
    main(sys.argv[1:])
