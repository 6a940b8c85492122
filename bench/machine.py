"""What the benchmark ran on: cores, memory, CPU model, Python, SQLite and PostgreSQL.

Also how much the OS page cache held when the run began, and PostgreSQL's own buffer pool:
a read that finds its pages in neither goes to disk. On the reference machine the page cache
is emptied now and then, whatever memory is free, so the first reads after that (the first
audits, say) cost several times what they cost once their pages are back in memory.

And how fast the host ran: the time of a fixed Python workload and a fixed PostgreSQL query,
at the start and the end of the run. Machines that report the same CPU model and cores ran
the same code markedly slower on one day than another, and every figure with them; these
two say which runs can be compared."""

from __future__ import annotations

import os
import platform
import sqlite3
import sys
import time
import timeit
from pathlib import Path

import psycopg


def describe(postgres_url: str | None) -> dict[str, str | float | None]:
    """The machine and software versions, as plain values for the report."""
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _meminfo_gib("MemTotal:"),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "postgresql": _postgres_setting(postgres_url, "server_version") if postgres_url else None,
        "postgresql_shared_buffers": _postgres_setting(postgres_url, "shared_buffers") if postgres_url else None,
        "os_page_cache_at_start_gib": _meminfo_gib("Cached:"),
        "load_average_at_start": " ".join(f"{value:.2f}" for value in os.getloadavg()),
        **host_speed(postgres_url, "start"),
    }


def host_speed(postgres_url: str | None, when: str) -> dict[str, float | None]:
    """Seconds that a fixed pure-Python workload and a fixed PostgreSQL query took (best of
    three each), labelled with `when` in the run."""
    return {
        f"python_workload_s_at_{when}": round(min(timeit.repeat(_python_workload, number=1, repeat=3)), 3),
        f"postgresql_workload_s_at_{when}": _postgres_workload(postgres_url) if postgres_url else None,
    }


def _python_workload() -> int:
    """Integer arithmetic, a dict and small objects: what building audit lines and ingest
    rows costs the interpreter."""
    seen: dict[int, tuple[int, str]] = {}
    for number in range(1_000_000):
        seen[number % 4096] = (number * 7 % 13, str(number))
    return len(seen)


def _postgres_workload(url: str) -> float | None:
    """A query that sorts and aggregates two million generated rows in the server."""
    query = "SELECT count(DISTINCT n % 100003) FROM generate_series(1, 2000000) AS n"
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            timings = []
            for _ in range(3):
                started = time.perf_counter()
                conn.execute(query).fetchone()
                timings.append(time.perf_counter() - started)
            return round(min(timings), 3)
    except psycopg.Error:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _meminfo_gib(field: str) -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(field):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _postgres_setting(url: str, name: str) -> str | None:
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            row = conn.execute(f"SHOW {name}").fetchone()
            return None if row is None else row[0]
    except psycopg.Error:
        return None


def machine_line(machine: dict) -> str:
    """One line naming the machine a side-by-side ran on and its load at the start and now."""
    return (
        f"Machine: {machine['cpu_model']}, {machine['cores']} cores, PostgreSQL {machine['postgresql']}, "
        f"load average at start {machine['load_average_at_start']}, at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}."
    )
