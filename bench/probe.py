"""Run one operation in a fresh process and report its time and the process's peak RSS.

    python -m bench.probe URL LEDGER recalc [--full]
    python -m bench.probe URL LEDGER audit USER_ID
    python -m bench.probe URL LEDGER audits USERS SAMPLES SEED BUDGET_S
    python -m bench.probe URL LEDGER retract KEYS_FILE AT     (then an incremental recalc)
    python -m bench.probe URL LEDGER merge SOURCE TARGET AT   (then an incremental recalc)

A separate process, so the peak memory measured is the operation's own (plus the
interpreter and libraries it needs), not the benchmark's generated data, and so the caller
can give up on an operation that runs too long. Prints one JSON object. The time is the
operation's own: the interpreter's start, its imports and the first connection are not in it.

`audits` times per-user audits of uniformly drawn users (bench/measurements.py
`audit_latencies`) here rather than in the benchmark's process, which holds the generated
community (gigabytes of objects): there a pass of Python's garbage collector over them can
land on an audit, and the audits' tail is slower than in a process of their own.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
from datetime import datetime
from pathlib import Path

from bench.measurements import audit_latencies
from ledger import Ledger


def main(argv: list[str]) -> None:
    url, name, operation, *rest = argv
    book = Ledger.open(url, name)
    book.check_schema()
    # The imports' objects owe Python's collector a full pass, which would otherwise land in
    # whichever operation comes first; a long-running process has paid it long before.
    gc.collect()
    before = _peak_rss_mib()
    started = time.perf_counter()
    figures: dict[str, float]
    if operation == "recalc":
        outcome = book.recalc(full="--full" in rest)
        figures = {"full": outcome.full, "user_days": outcome.user_days, "users": outcome.users}
    elif operation == "audit":
        figures = {"lines": len(book.audit(int(rest[0])))}
    elif operation == "audits":
        users, samples, seed, budget_s = rest
        figures = audit_latencies(book, int(users), int(samples), int(seed), float(budget_s))
    elif operation in ("retract", "merge"):
        if operation == "retract":
            keys = Path(rest[0]).read_text(encoding="utf-8").split()
            book.retract(keys, at=datetime.fromisoformat(rest[1]), reason="bench")
        else:
            book.merge_users(int(rest[0]), int(rest[1]), at=datetime.fromisoformat(rest[2]), reason="bench")
        written = time.perf_counter()
        outcome = book.recalc()
        figures = {
            "write_seconds": written - started,
            "recalc_seconds": time.perf_counter() - written,
            "user_days": outcome.user_days,
            "users": outcome.users,
        }
    else:
        raise SystemExit(f"unknown operation {operation!r}")
    seconds = time.perf_counter() - started
    book.close()
    print(json.dumps({"seconds": seconds, "peak_rss_mib": _peak_rss_mib(), "rss_before_mib": before, **figures}))


def _peak_rss_mib() -> float:
    """This process's peak resident memory.

    VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the parent through
    fork and exec, so a child of the (multi-GB) benchmark process would report the parent's.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main(sys.argv[1:])
