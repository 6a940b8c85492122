"""The compensation plan as one self-contained HTML page, for an admin to attach to the
announcement of a point-value change: a summary, a chart of how the differences are spread,
and the table. No scripts, no outside resources: it opens anywhere, as it is."""

from __future__ import annotations

from html import escape

from ledger.discourse.plan import Plan

BUCKETS = 12
WIDTH, HEIGHT = 640, 220


def plan_page(plan: Plan, title: str = "Point-value change: compensations") -> str:
    """The page for `plan`."""
    rows = "\n".join(
        f"<tr><td>{row.user_id}</td><td>{escape(row.username or '')}</td><td>{escape(row.name or '')}</td>"
        f"<td class=n>{row.discourse_points}</td><td class=n>{row.ledger_points}</td><td class=n>{row.difference:+d}</td></tr>"
        for row in sorted(plan.rows, key=lambda row: row.difference)
    )
    gains = sum(1 for row in plan.rows if row.difference > 0)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ padding: 2px 10px; border-bottom: 1px solid #ddd; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
</style></head><body>
<h1>{escape(title)}</h1>
<p>Recalculation from {plan.recalculate_from} at the values in force on {plan.as_of}:
{len(plan.rows)} users move ({gains} up, {len(plan.rows) - gains} down), {plan.total:+d} points in all.
Each receives one score event so that the forum shows the total the ledger computes, every action
counted at the values in force on the day it happened.</p>
{_histogram(plan)}
<table><thead><tr><th>user_id</th><th>username</th><th>name</th><th>forum points</th><th>ledger points</th><th>difference</th></tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""


def _histogram(plan: Plan) -> str:
    """An inline SVG bar chart: how many users per range of differences."""
    if not plan.rows:
        return "<p>Nobody moves.</p>"
    differences = [row.difference for row in plan.rows]
    low, high = min(differences), max(differences)
    step = max(1, -(-(high - low + 1) // BUCKETS))
    counts = [0] * BUCKETS
    for value in differences:
        counts[min(BUCKETS - 1, (value - low) // step)] += 1
    tallest = max(counts)
    bar = WIDTH // BUCKETS
    bars = []
    for index, count in enumerate(counts):
        height = int((HEIGHT - 40) * count / tallest)
        start = low + index * step
        bars.append(
            f'<rect x="{index * bar + 2}" y="{HEIGHT - 20 - height}" width="{bar - 4}" height="{height}" fill="#4a7fb5">'
            f"<title>{start} to {start + step - 1}: {count} users</title></rect>"
            f'<text x="{index * bar + bar // 2}" y="{HEIGHT - 5}" font-size="10" text-anchor="middle">{start}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="users per range of point differences">{"".join(bars)}</svg>'
    )
