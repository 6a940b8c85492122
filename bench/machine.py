"""What the benchmark ran on: cores, memory, CPU model, Python, SQLite and PostgreSQL.

Also how much the OS page cache held when the run began, and PostgreSQL's own buffer pool:
a read that finds its pages in neither goes to disk. On the reference machine the page cache
is emptied now and then, whatever memory is free, so the first reads after that (the first
audits, say) cost several times what they cost once their pages are back in memory."""

from __future__ import annotations

import os
import platform
import sqlite3
import sys
from pathlib import Path

import psycopg


def describe(postgres_url: str | None) -> dict[str, str | int | None]:
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
    }


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
            return conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
    except psycopg.Error:
        return None
