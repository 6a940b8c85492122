"""`python -m bench --only compensation`: the compensation rows alone, at any scale, without
the rest of the suite. The community is generated, loaded into a Discourse-shaped forum and
imported into a ledger (untimed), then bench/discourse_compensation.py measures the plan and
the push as the whole run does; beside the plan, its platform points priced from every
action again (`points_in`, what the plan did before ledger/platform.py), in the same run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import date

from bench import scales
from bench.corrections import corrections_of
from bench.databases import postgres_database
from bench.discourse_baseline import load_forum
from bench.discourse_compensation import measure_plan, measure_push, prepare_ledger, standin_forum
from bench.discourse_import import LEDGER
from bench.generator import generate
from bench.measurements import Result, timed
from bench.scales import Scale
from ledger import Ledger
from ledger.discourse.forum import PostgresForum
from ledger.discourse.importer import import_forum
from ledger.discourse.plan import ALL_TIME, planned_events
from ledger.replay import points_in, pricing_transaction


def run(scale: Scale, admin_url: str, seed: int, history_end: date, say: Callable[[str], None]) -> list[Result]:
    """The compensation measurements for `scale`'s community in databases of their own."""
    started = time.perf_counter()
    community = generate(scale.actions, scale.users, seed)
    corrections = corrections_of(community)
    say(f"generated {scale.actions:,} actions for {scale.users:,} users in {time.perf_counter() - started:.1f}s")
    results: list[Result] = []
    with (
        postgres_database(admin_url, f"{scale.name}_cforum") as forum_url,
        postgres_database(admin_url, f"{scale.name}_cledger") as ledger_url,
    ):
        counts = load_forum(forum_url, community, corrections)
        del community, corrections
        forum_rows = sum(counts.values())
        say(f"forum loaded: {forum_rows:,} rows")
        book = Ledger.open(ledger_url, LEDGER)
        try:
            book.init()
            with PostgresForum(forum_url) as forum:
                seconds, _ = timed(lambda: import_forum(book, forum))
        finally:
            book.close()
        say(f"imported in {seconds:.1f}s")
        prepare_ledger(forum_url, ledger_url)
        say("score events and the SailPoint change recorded and recalculated")
        results.append(_every_action_priced(ledger_url, history_end, forum_rows))
        say(results[-1].note)
        plan_result, plan = measure_plan(forum_url, ledger_url, history_end, forum_rows)
        results.append(plan_result)
        say(f"plan: {plan_result.value:.2f} s ({plan_result.note})")
        events = planned_events(plan)[: scale.push_events]
        with postgres_database(admin_url, f"{scale.name}_cstandin") as standin_url, standin_forum(standin_url) as site:
            results.append(measure_push(site, standin_url, ledger_url, LEDGER, "postgresql", events))
    return results


def _every_action_priced(ledger_url: str, values_of: date, forum_rows: int) -> Result:
    """The platform points as the plan took them before ledger/platform.py: every action priced again."""
    book = Ledger.open(ledger_url, LEDGER)
    try:

        def priced() -> list:
            with pricing_transaction(book.engine) as conn:
                return points_in(conn, LEDGER, values_of=values_of, from_day=ALL_TIME, current_state=True)

        seconds, rows = timed(priced)
        fast_seconds, fast = timed(lambda: book.platform_points(values_of, from_day=ALL_TIME))
    finally:
        book.close()
    same = {row.user_id: row.points for row in rows if row.points} == {row.user_id: row.points for row in fast}  # type: ignore[attr-defined]
    if not same:
        raise RuntimeError("the platform points from the projections differ from every action priced")
    return Result(
        "platform points, every action priced again (before)",
        "postgresql",
        forum_rows,
        seconds,
        "s",
        scales.DISCOURSE_PLAN_S,
        note=f"every action priced: {seconds:.2f} s; from the projections: {fast_seconds:.2f} s; same points for all users; "
        f"load average {os.getloadavg()[0]:.1f}",
    )
