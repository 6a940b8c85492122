"""The README's tour runs as written, in order, on the default SQLite ledger."""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app

ROOT = Path(__file__).resolve().parent.parent


def tour_commands() -> list[list[str]]:
    readme = (ROOT / "README.md").read_text()
    tour = readme[readme.index("## A short tour") :]
    block = re.search(r"```sh\n(.*?)```", tour, re.DOTALL)
    assert block is not None
    commands = [shlex.split(line, comments=True) for line in block.group(1).splitlines()]
    return [words for words in commands if words and words[0] == "scoreledger"]


def test_tour_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCORELEDGER_DATABASE_URL", raising=False)
    monkeypatch.delenv("SCORELEDGER_LEDGER", raising=False)
    runner = CliRunner()
    commands = tour_commands()
    assert len(commands) >= 12
    outputs = {}
    for words in commands:
        result = runner.invoke(app, words[1:])
        assert result.exit_code == 0, f"{shlex.join(words)} exited {result.exit_code}: {result.output}"
        outputs[words[1]] = result.stdout
    assert (tmp_path / "scoreledger.db").exists()
    # The example community: user 42 earned 6 + 3 + 3 before the change and 60 + 6 after it.
    scores = dict(line.split(",")[:2] for line in outputs["scores"].strip().splitlines()[1:])
    assert scores["42"] == str(6 + 3 + 3 + 60 + 6)
    # User 7: a post (6), 230 posts read in buckets of 100 (2), a 4-star rating (40), a like at the new value (6).
    assert scores["7"] == str(6 + 2 + 40 + 6)


def test_the_tour_says_where_to_run_it_and_its_files_are_there() -> None:
    readme = (ROOT / "README.md").read_text()
    tour = readme[readme.index("## A short tour") :]
    assert "Run it from the clone's folder" in tour
    for words in tour_commands():
        for word in words:
            if word.startswith("examples/"):
                assert (ROOT / word).is_file(), word


def test_the_test_section_matches_docker_compose() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["postgres"]
    env = compose["environment"]
    host_port = compose["ports"][0].rsplit(":", 2)[-2]
    url = f"postgresql://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@127.0.0.1:{host_port}/{env['POSTGRES_DB']}"
    readme = (ROOT / "README.md").read_text()
    setup = readme[readme.index("## Set up") : readme.index("## A short tour")]
    assert f"export SCORELEDGER_TEST_DATABASE_URL={url}" in setup
    # Every PostgreSQL URL the section gives is the compose one: no other port or user.
    assert set(re.findall(r"postgresql://\S+?(?=[`\s])", setup)) == {url}


def test_the_static_checks_are_the_ones_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    setup = readme[readme.index("## Set up") : readme.index("## A short tour")]
    block = re.search(r"```sh\n(ruff .*?)\n```", setup)
    assert block is not None, "the set-up section shows the static checks"
    checks = [command.strip() for command in block.group(1).split("&&")]
    assert checks == ["ruff check .", "ruff format --check .", "mypy"]
    ci_lines = {line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()}
    assert set(checks) <= ci_lines, "every check the README gives runs in CI"


def test_every_dependency_is_used_and_every_import_declared() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    modules = {IMPORT_NAMES.get(name, name) for name in (re.split(r"[\[<>=~! ]", spec)[0].lower().replace("-", "_") for spec in declared)}
    imported: set[str] = set()
    for path in [*(ROOT / "ledger").rglob("*.py"), *(ROOT / "cli").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"ledger", "cli", "scoreledger_cli"}
    assert modules - third_party == set(), "declared but never imported: drop them or use them"
    assert third_party - modules == set(), "imported but not declared in pyproject.toml"


# Distribution names whose module is named otherwise.
IMPORT_NAMES = {"pyyaml": "yaml"}


def test_a_plain_pytest_never_stops_the_server(tmp_path: Path) -> None:
    """Without SCORELEDGER_TEST_STOP_SERVER=1 the server-stopping tests skip before any
    fixture (no database is even named here, so nothing could be stopped); under CI=true
    they fail instead, so CI cannot pass without them."""
    env = {k: v for k, v in os.environ.items() if k not in ("SCORELEDGER_TEST_STOP_SERVER", "SCORELEDGER_TEST_DATABASE_URL", "CI")}
    env["DOCKER_HOST"] = "unix:///nonexistent"  # no testcontainers either
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", "-m", "stops_server", "tests/test_crash.py"]
    plain = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "2 skipped" in plain.stdout and "SCORELEDGER_TEST_STOP_SERVER=1" in plain.stdout
    in_ci = subprocess.run(args, cwd=ROOT, env={**env, "CI": "true"}, capture_output=True, text=True, timeout=300)
    assert in_ci.returncode != 0
    assert "2 failed" in in_ci.stdout or "2 error" in in_ci.stdout, in_ci.stdout
    for name in ("test_postgres_stopped_during_copy", "test_a_server_crash_empties"):
        assert name in in_ci.stdout
