"""Writing a run's results: `latest.json` (everything) and `latest.md` (the tables)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.runner import Run


def write(run: Run, context: dict, folder: Path) -> tuple[Path, Path]:
    """Write the JSON and Markdown reports into `folder`; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    document = document_of(run, context)
    json_path = folder / "latest.json"
    json_path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    markdown_path = folder / "latest.md"
    markdown_path.write_text(markdown(document), encoding="utf-8")
    return json_path, markdown_path


def document_of(run: Run, context: dict) -> dict:
    """Everything a run measured, with its context, as the JSON report holds it."""
    return {
        **context,
        "targets_apply": run.scale.targets_apply,
        "results": [result.as_dict() for result in run.results],
        "growth": run.growth,
        "details": run.details,
        "errors": run.errors,
        "postgresql_restarts": run.restarts,
    }


def markdown(document: dict) -> str:
    """The report as Markdown: machine, targets table, growth table, errors."""
    machine = document["machine"]
    community = document.get("community", {})
    lines = [
        f"# scoreledger benchmark: `{document['scale']}` scale",
        "",
        f"Run {document['started_at']} .. {document.get('finished_at', '?')} "
        f"({document.get('duration_minutes', '?')} min), seed {document['seed']}, "
        f"{community.get('actions', 0):,} actions by {community.get('users', 0):,} users over "
        f"{document['history']}, {document['schedule_versions']} schedule versions.",
        "",
        "| machine | |",
        "| --- | --- |",
        *(f"| {key.replace('_', ' ')} | {value} |" for key, value in machine.items()),
        "",
    ]
    if document.get("postgresql_skipped"):
        lines += [f"**PostgreSQL not measured:** {document['postgresql_skipped']}", ""]
    if not document["targets_apply"]:
        lines += ["Targets are set for the `large` scale; at this scale they are shown for orientation only.", ""]
    lines += [
        "Ratio = how many times the target the measurement reaches (>= 1 means met; for times "
        "it is target / measured, for rates measured / target).",
        "",
        "| measurement | backend | actions | measured | target | ratio | met | note |",
        "| --- | --- | ---: | ---: | ---: | ---: | :---: | --- |",
    ]
    for result in document["results"]:
        lines.append(
            f"| {result['name']} | {result['backend']} | {result['actions']:,} | {_figure(result['value'], result['unit'])} "
            f"| {_target(result)} | {_ratio(result['ratio_to_target'])} | {_met(result, document['targets_apply'])} "
            f"| {result['note']} |"
        )
    lines += ["", "## Growth", "", "Seconds for one-batch ingest and a full recalc; per-million-action cost in brackets."]
    if any(entry.get("sqlite_ingest_s") is None for entry in document["growth"]):
        lines += ["At this scale SQLite is measured at the full size only (see `sqlite_everything` in bench/scales.py)."]
    lines += [""]
    lines += [
        "| actions | PostgreSQL ingest | PostgreSQL full recalc | SQLite ingest | SQLite full recalc |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for entry in document["growth"]:
        millions = entry["actions"] / 1_000_000
        cells = [
            _growth_cell(entry.get(key), millions)
            for key in ("postgresql_ingest_s", "postgresql_recalc_s", "sqlite_ingest_s", "sqlite_recalc_s")
        ]
        lines.append(f"| {entry['actions']:,} | " + " | ".join(cells) + " |")
    if document.get("forum_rows"):
        lines += [
            "",
            "## The plugin-style side",
            "",
            "Forum rows loaded for the comparison: "
            + ", ".join(f"{table} {count:,}" for table, count in document["forum_rows"].items())
            + ".",
        ]
    lines += ["", "## Method", "", *METHOD]
    if document.get("postgresql_restarts"):
        lines += [
            "",
            "## PostgreSQL restarted during the run",
            "",
            "Another user of this machine restarted the server; these parts were run again from their start:",
            "",
            *(f"- {note}" for note in document["postgresql_restarts"]),
        ]
    if document["errors"]:
        lines += ["", "## Errors", "", *(f"- {error}" for error in document["errors"])]
    return "\n".join(lines) + "\n"


METHOD = [
    "- One synthetic community per run (seeded), loaded twice: as scoreledger actions and as "
    "Discourse-shaped forum rows (bench/generator.py, bench/discourse_baseline.py).",
    "- Corrections (bench/corrections.py, seeded too): about 4% of replies are deleted a few days "
    "after they were written, which retracts their post_created, the likes on them and a solution "
    "accepted on them (about 2% of all actions); 3% of visits have their posts read and reading "
    "time amended upwards later that day; imported and manual adjustments (0.1% and 0.02% of the "
    "action count); one user in 2,000 merged into another. They are recorded after the bulk ingest, "
    "in batches of 20,000 in booking order (each merge alone), so every full recalc, audit and "
    "leaderboard includes them. The forum side holds the same state: the posts marked deleted, "
    "the grown visits, the adjustments as score events, the merged users' rows under their "
    "targets (a visit on a day the target also visited is added into the target's).",
    "- Retract and merge: keys drawn uniformly from the whole history (none already corrected) "
    "retracted in one batch, then a user with about as many actions merged into the next nearest "
    "one, both booked on the last day of the history; each write and the incremental recalc "
    "after it in one fresh child process (bench/probe.py), after the other incremental measurements.",
    "- Ingest: `Ledger.ingest_rows` of every action as one all-or-nothing batch into an empty "
    "ledger (the unique key and the hash chain are in force), rows already parsed in memory; on "
    "PostgreSQL it includes the VACUUM (ANALYZE) that ends a bulk load.",
    "- Recalc figures come from a fresh child process (bench/probe.py) that only opens the "
    "ledger and recalculates; its peak RSS is the process's VmHWM.",
    "- Ingest peak memory: `scoreledger ingest` of a seeded CSV file of the scale's size into a "
    "fresh ledger, under `/usr/bin/time -v` (bench/ingest_memory.py); the PostgreSQL and SQLite "
    "ingests run at the same time, each in its own process, so their seconds are not ingest rates.",
    "- Plugin-style: delete the daily scores, then one INSERT ... SELECT over the forum tables "
    "(one query per scorable, UNION ALL, summed per user and day, ON CONFLICT upsert) at today's "
    "values, as the plugin's recalculation does (bench/sql/). posts and post_actions have all of "
    "Discourse's columns, but a post's raw and cooked text is one short sentence where a real "
    "post's is usually a paragraph or more, so its time is a lower bound; scoreledger prices every "
    "action at the values of its own day, the plugin at one set of values. The side by side "
    "takes three rounds, each the plugin-style recalculation (its scores table vacuumed, untimed, "
    "between rounds, as autovacuum would between daily runs) then scoreledger's full recalc "
    "(by then the ledger also holds the actions, schedule version, retractions and merge of the "
    "incremental measurements), and compares the medians.",
    "- Audit: uniformly drawn users, in a fresh child process (bench/probe.py) like the recalcs, "
    "not the benchmark's own, which holds the generated community; leaderboards: "
    "`Ledger.leaderboard(period=..., limit=100)` "
    "for each period ending on the last day of the history; both through the public API, "
    "each call including its schema check.",
    "- Discourse plan: on the ledger the import measurement filled, once it also holds the forum's "
    "score events and the SailPoint change (likes 3 to 6 and posts 6 to 3, half way through the "
    "history; untimed, with its recalc), what `discourse plan` does for an all-time recalculation: "
    "connect to the forum's database, detect its shape, price every action at today's values, "
    "read the stored scores and score events, and compare every user with the ledger "
    "(bench/discourse_compensation.py).",
    "- Discourse push: the plan's first events posted to the tests' stand-in forum "
    "(tests/discourse_standin.py, in this process, over a PostgreSQL database of its own, no rate "
    "limit), each POST's round trip timed at the client; the push's own time per event is the "
    "push's wall time minus those round trips, divided by the events: the journal's writes "
    "(intents and compensations a batch at a time), the plan's bookkeeping, the progress "
    "accounting. Once with the journal in the PostgreSQL ledger (the imported one), once in a "
    "fresh SQLite ledger; the note gives the forum's answer per event and the same push with an "
    "in-memory journal.",
    "- The machine is shared: figures measured in one run, side by side, are the ones to compare. Across runs, compare the host's speed first: the python and postgresql workload rows of the machine table time a fixed workload at the start and the end of the run (bench/machine.py).",
]


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "not measured"
    if unit == "actions/s":
        return f"{value:,.0f} /s"
    if unit == "x":
        return f"{value:.1f}x"
    return f"{value:,.2f} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def _target(result: dict) -> str:
    if result["target"] is None:
        return ""
    sign = ">=" if result["higher_is_better"] else "<="
    return f"{sign} {_figure(result['target'], result['unit'])}"


def _ratio(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio:.2f}"


def _met(result: dict, targets_apply: bool) -> str:
    if result["met"] is None:
        return ""
    if not targets_apply:
        return "(n/a)"
    return "yes" if result["met"] else "**MISSED**"


def _growth_cell(seconds: float | None, millions: float) -> str:
    if seconds is None:
        return "not measured"
    return f"{seconds:.1f} s ({seconds / millions:.1f} s/M)"
