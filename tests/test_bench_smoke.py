"""The benchmark suite runs end to end at a tiny size (no timing is asserted, ever): the
generator is reproducible and shaped like a forum, and a run writes both reports."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from bench import compensation_alone, discourse_import, report, runner
from bench.corrections import corrections_of
from bench.databases import postgres_database, require_reachable, schema_taken_back
from bench.generator import ACTION_TYPES, generate, ledger_rows, more_rows
from bench.measurements import REPO, in_turn, ingested_with, schema_revision_of, write_action_file
from bench.scales import Scale
from bench.schedule import versions
from ledger import Ledger
from ledger.store import schema
from ledger.store.engine import open_engine
from tests.backends import in_ci

TINY = Scale("tiny", 3_000, 100, (3_000,), 100, 10, True, targets_apply=False)


def test_same_seed_same_community() -> None:
    first = ledger_rows(generate(2_000, 50, seed=7))
    again = ledger_rows(generate(2_000, 50, seed=7))
    other = ledger_rows(generate(2_000, 50, seed=8))
    assert first == again
    assert first != other


def test_community_is_shaped_like_a_forum() -> None:
    rows = [located.row for located in ledger_rows(generate(20_000, 500, seed=1))]
    assert 19_000 <= len(rows) <= 21_000
    assert {row.action for row in rows} == set(ACTION_TYPES)
    assert len({row.source_key for row in rows}) == len(rows)
    per_user = sorted(Counter(row.user_id for row in rows).values(), reverse=True)
    # Skewed: the busiest tenth of users does a large share of everything.
    assert sum(per_user[: len(per_user) // 10]) > 0.4 * len(rows)
    # Growing: the last year is busier than the first.
    years = Counter(row.occurred_at.year for row in rows)
    assert years[max(years)] > 2 * years[min(years)]
    assert len(versions()) >= 12


def test_corrections_are_reproducible_and_name_recorded_actions() -> None:
    community = generate(20_000, 500, seed=3)
    rows = {located.row.source_key: located.row for located in ledger_rows(community)}
    found = corrections_of(community)
    assert found == corrections_of(generate(20_000, 500, seed=3))
    assert 0.015 * len(rows) <= len(found.retractions) <= 0.025 * len(rows)
    assert found.amendments and found.merges
    assert {adjustment.kind for adjustment in found.adjustments} == {"imported", "manual"}
    corrected = [*found.retractions, *found.amendments]
    # Each key once, never before its action's day; amendments only grow a measure.
    assert len({item.source_key for item in corrected}) == len(corrected)
    for item in corrected:
        assert item.at.date() >= rows[item.source_key].occurred_at.date()
    for amendment in found.amendments:
        assert amendment.quantity > rows[amendment.source_key].quantity
    users = [user for source, target, _ in found.merges for user in (source, target)]
    assert len(set(users)) == len(users)


def test_tiny_run_writes_both_reports(tmp_path: Path) -> None:
    admin_url = os.environ.get("SCORELEDGER_TEST_DATABASE_URL")
    if admin_url is None and in_ci():
        raise AssertionError("CI must run the benchmark smoke test against PostgreSQL")
    run, context = runner.run(TINY, admin_url)
    json_path, markdown_path = report.write(run, context, tmp_path)
    document = json.loads(json_path.read_text())
    assert document["errors"] == []
    names = {(result["name"], result["backend"]) for result in document["results"]}
    assert ("full recalc (all projections)", "sqlite") in names
    assert ("retract 100 keys + incremental recalc", "sqlite") in names
    assert ("merge a user with ~100 actions + incremental recalc", "sqlite") in names
    if admin_url:
        assert ("side-by-side: plugin-style time / scoreledger full recalc", "postgresql") in names
        assert ("discourse import from the forum database (full)", "postgresql") in names
        assert ("discourse import from the forum database (full), beside another ledger as large", "postgresql") in names
        assert any(name.startswith("discourse plan for ") and backend == "postgresql" for name, backend in names)
        for backend in ("postgresql", "sqlite"):
            assert ("discourse push: own time per event beyond the forum's answer", backend) in names
    assert [entry["actions"] for entry in document["growth"]] == [3_000]
    # How fast the host ran, at both ends of the run, so that runs can be compared.
    machine = document["machine"]
    for when in ("start", "end"):
        assert machine[f"python_workload_s_at_{when}"] > 0
        assert (machine[f"postgresql_workload_s_at_{when}"] > 0) if admin_url else machine[f"postgresql_workload_s_at_{when}"] is None
    table = markdown_path.read_text()
    assert "| measurement | backend |" in table and "## Growth" in table
    assert "| python workload s at end |" in table


def test_discourse_import_alone(tmp_path: Path) -> None:
    """`python -m bench --only discourse-import` measures the import's rows and nothing else."""
    admin_url = os.environ.get("SCORELEDGER_TEST_DATABASE_URL")
    if admin_url is None:
        run, _ = runner.discourse_import_only(TINY, None)
        assert run.errors and "PostgreSQL" in run.errors[0]
        return
    run, context = runner.PARTS["discourse-import"](TINY, admin_url, runner.SEED)
    assert run.errors == []
    names = [result.name for result in run.results]
    assert names == [
        "discourse import from the forum database (full)",
        "discourse import after 10,000 new or changed forum rows",
        "discourse import through Data Explorer (stand-in, full)",
    ]
    full, _, explorer = run.results
    assert full.actions > 0 and full.value is not None and full.value > 0
    # A forum this small (grown by the rows changed since the first import) is read through
    # Data Explorer whole.
    assert explorer.actions > full.actions and "stopped" not in explorer.note
    assert explorer.value is not None and explorer.value > 0
    document = report.document_of(run, context)
    assert document["only"] == "discourse-import" and document["community"]["users"] == TINY.users
    assert "| discourse import from the forum database (full) |" in report.markdown(document)


def test_compensation_alone_prices_the_plan_both_ways_and_pushes() -> None:
    """`python -m bench --only compensation` at a tiny size: the old pricing beside the new
    (which must give every user the same points), the plan and the push."""
    admin_url = os.environ.get("SCORELEDGER_TEST_DATABASE_URL")
    if admin_url is None:
        if in_ci():
            raise AssertionError("CI must run the benchmark smoke test against PostgreSQL")
        pytest.skip("no PostgreSQL: set SCORELEDGER_TEST_DATABASE_URL")
    said: list[str] = []
    results = compensation_alone.run(TINY, admin_url, runner.SEED, runner.HISTORY_END, said.append)
    assert [result.name.split(" for ")[0] for result in results] == [
        "platform points, every action priced again (before)",
        "discourse plan",
        "discourse push: own time per event beyond the forum's answer",
    ]
    assert "same points for all users" in results[0].note
    assert all(result.value is not None and result.value > 0 for result in results)
    assert any(message.startswith("imported in ") for message in said)


def test_side_by_side_rounds_take_turns_going_first() -> None:
    codes = {"baseline": Path("/a"), "this checkout": Path("/b")}
    firsts = [in_turn(codes, round_number)[0][0] for round_number in range(1, 5)]
    assert firsts == ["baseline", "this checkout", "baseline", "this checkout"]
    assert all(sorted(name for name, _ in in_turn(codes, n)) == sorted(codes) for n in range(1, 5))


def test_a_large_forum_is_read_through_data_explorer_only_in_part(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond EXPLORER_MAX_ROWS the import through the stand-in stops, and its figure is the
    time per 100,000 rows of what it read."""
    admin_url = os.environ.get("SCORELEDGER_TEST_DATABASE_URL")
    if admin_url is None:
        if in_ci():
            pytest.fail("CI must run this test: SCORELEDGER_TEST_DATABASE_URL is not set")
        pytest.skip("SCORELEDGER_TEST_DATABASE_URL is not set")
    monkeypatch.setattr(discourse_import, "EXPLORER_MAX_ROWS", 500)
    run, _ = runner.PARTS["discourse-import"](TINY, admin_url, runner.SEED)
    assert run.errors == []
    explorer = run.results[2]
    assert 500 <= explorer.actions < run.results[0].actions
    assert "(stopped there)" in explorer.note and explorer.value is not None and explorer.value > 0


def test_new_actions_go_through_a_file_that_any_checkout_ingests(tmp_path: Path) -> None:
    """`--only recalcs` has each code ingest the new actions itself, from one action file:
    the file holds exactly the generated rows, and this checkout's child process records them."""
    extra = more_rows(generate(2_000, 50, seed=5), 30, day=100)
    path = tmp_path / "new-actions.csv"
    write_action_file(path, extra)
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    book = Ledger.open(url)
    book.init()
    book.close()
    ingested_with(REPO, url, path)
    book = Ledger.open(url)
    try:
        states = book.action_states()
    finally:
        book.close()
    assert sorted(states) == sorted(located.row.source_key for located in extra)
    for located in extra:
        state = states[located.row.source_key]
        assert (state.user_id, state.action, state.occurred_at, state.quantity) == located.row[1:5]


def test_a_baseline_with_an_older_schema_measures_copies_taken_back_to_it() -> None:
    admin_url = os.environ.get("SCORELEDGER_TEST_DATABASE_URL")
    if admin_url is None:
        if in_ci():
            pytest.fail("CI must run this test: SCORELEDGER_TEST_DATABASE_URL is not set")
        pytest.skip("SCORELEDGER_TEST_DATABASE_URL is not set")
    assert schema_revision_of(REPO) == schema.head_revision()
    with postgres_database(admin_url, "taken_back") as url:
        book = Ledger.open(url)
        book.init()
        book.close()
        schema_taken_back(url, "0020")
        engine = open_engine(url)
        try:
            with engine.connect() as conn:
                assert schema.current_revision(conn) == "0020"
        finally:
            engine.dispose()
    with pytest.raises(ValueError, match="not among this checkout's migrations"):
        require_reachable("no-such-revision")
