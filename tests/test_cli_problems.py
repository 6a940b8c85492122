"""Bad input never floods the terminal: a binary file is one clean line, and a file with
many bad rows prints its first problems and a count, all of them only when asked."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli.output import PROBLEMS_SHOWN, ProblemReport, report_problems, safe_text
from tests.factories import action_row, csv_text

BAD_ROWS = 100_000


def bad_file(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "bad.csv"
    rows = [action_row(f"k{i}", when="yesterday") for i in range(count)]
    path.write_text(csv_text(rows))
    return path


def test_a_binary_file_is_one_clean_line(cli, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 40)
    result = cli("ingest", str(path), ok=False)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines == [
        f"{path}: not a text file (it contains NUL bytes): give a CSV or JSON Lines file in UTF-8",
        "error: ingest refused: 1 problem; nothing was written",
    ]
    assert result.stdout == ""


def test_a_utf16_file_is_named_as_such(cli, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(csv_text([action_row("a")]).encode("utf-16"))
    result = cli("ingest", str(path), ok=False)
    assert "UTF-16" in result.stderr and len(result.stderr.splitlines()) == 2


def test_binary_on_standard_input_too(cli) -> None:
    result = cli("ingest", "-", input=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ok=False)
    assert result.exit_code == 1 and "not a text file" in result.stderr
    assert "\x00" not in result.stderr and "\x1a" not in result.stderr


# The file is refused before anything is stored: one backend is enough for the big one.
@pytest.mark.parametrize("backend", ["sqlite"])
def test_many_bad_rows_print_the_first_problems_and_a_count(cli, tmp_path: Path) -> None:
    path = bad_file(tmp_path, BAD_ROWS)
    result = cli("ingest", str(path), ok=False)
    lines = result.stderr.splitlines()
    assert len(lines) == PROBLEMS_SHOWN + 2
    assert lines[0] == f"{path}:2: occurred_at: not an ISO 8601 timestamp: 'yesterday'"
    assert lines[-2] == f"... and {BAD_ROWS - PROBLEMS_SHOWN} more problem(s) (all of them: --all-problems, or --problems-file FILE)"
    assert lines[-1] == f"error: ingest refused: {BAD_ROWS} problems; nothing was written"

    problems = tmp_path / "problems.txt"
    to_file = cli("ingest", str(path), "--problems-file", str(problems), ok=False)
    assert len(to_file.stderr.splitlines()) == PROBLEMS_SHOWN + 2
    assert f"all {BAD_ROWS} problem(s) written to {problems}" in to_file.stderr
    written = problems.read_text().splitlines()
    assert len(written) == BAD_ROWS and written[-1].startswith(f"{path}:{BAD_ROWS + 1}: occurred_at")


def test_all_problems_when_asked(cli, tmp_path: Path) -> None:
    path = bad_file(tmp_path, 50)
    result = cli("ingest", str(path), "--all-problems", ok=False)
    assert len(result.stderr.splitlines()) == 51
    assert "more problem" not in result.stderr


def test_a_few_problems_are_all_shown(cli, tmp_path: Path) -> None:
    result = cli("ingest", str(bad_file(tmp_path, PROBLEMS_SHOWN)), ok=False)
    assert len(result.stderr.splitlines()) == PROBLEMS_SHOWN + 1


def test_stray_bytes_in_a_text_file_are_shown_escaped(cli, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    header = "source_key,user_id,action,occurred_at\n"
    path.write_bytes(header.encode() + b"k1,1,caf\xe9\x1b[31m,2024-05-01\n")
    result = cli("ingest", str(path), ok=False)
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr and "\udce9" not in result.stderr
    assert "not valid UTF-8" in result.stderr


@given(st.text())
def test_safe_text_is_printable(text: str) -> None:
    shown = safe_text(text, 80)
    assert len(shown) <= 80
    assert all(char == "\t" or char.isprintable() for char in shown)
    if text.isprintable() and len(text) <= 80:
        assert shown == text


def test_the_count_names_the_options_only_where_the_command_has_them(capsys) -> None:
    from ledger.errors import InputProblem, InvalidInput

    error = InvalidInput([InputProblem("doc.yaml", n, "value", "bad") for n in range(1, 31)], what="schedule import")
    report_problems(error, ProblemReport())
    lines = capsys.readouterr().err.splitlines()
    assert lines[-2] == "... and 10 more problem(s)"
    report_problems(error, ProblemReport(offered=True))
    assert "--all-problems" in capsys.readouterr().err


def test_an_output_file_that_cannot_be_written_is_one_clear_line(cli, tmp_path: Path) -> None:
    cli("schedule", "set", "--effective-from", "2024-01-01", "--retroactive", "--new-action", "likes_received=3")
    missing_folder = tmp_path / "no-such-folder" / "schedule.yaml"
    for command, path, what in [
        (["schedule", "export", "--output", str(missing_folder)], missing_folder, "export"),
        (["digest", "--output", str(tmp_path)], tmp_path, "digest"),
    ]:
        result = cli(*command, ok=False)
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception  # no traceback
        reason = "No such file or directory" if path == missing_folder else "Is a directory"
        assert result.stderr.splitlines() == [f"{path}: cannot write it: {reason}", f"error: {what} refused: 1 problem"]
        assert result.stdout == ""
