"""Running the real `scoreledger` command in child processes, for the crash and concurrency
suites: a child can be killed with SIGKILL, or several can race, as in production."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def command(url: str, *args: str) -> list[str]:
    """`scoreledger --db URL ARGS...`, run from this checkout's sources."""
    return [sys.executable, "-m", "cli", "--db", url, *args]


def start(url: str, *args: str) -> subprocess.Popen[str]:
    """Start the command in the background; its output is collected in pipes."""
    return _popen(command(url, *args))


def start_python(code: str, *args: str) -> subprocess.Popen[str]:
    """Start `python -c CODE ARGS...` against this checkout's library, in the background."""
    return _popen([sys.executable, "-c", code, *args])


def _popen(argv: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        argv,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(url: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the command to its end."""
    return subprocess.run(
        command(url, *args),
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
