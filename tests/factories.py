"""Small builders for test input, so tests read as the scenario they check."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import datetime, timedelta

HEADER = ["source_key", "user_id", "action", "occurred_at", "quantity", "attributes"]


def action_row(
    key: str,
    user: int = 1,
    action: str = "likes_received",
    when: str = "2024-05-01T12:00:00",
    quantity: int = 1,
    attributes: dict | None = None,
) -> list[str]:
    return [key, str(user), action, when, str(quantity), json.dumps(attributes) if attributes else ""]


def csv_text(rows: Iterable[list[str]], header: list[str] = HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def many_rows(count: int, *, start: datetime = datetime(2023, 1, 1), users: int = 500, prefix: str = "k") -> list[list[str]]:
    actions = ["likes_received", "posts_created", "solutions", "days_visited"]
    return [
        action_row(
            f"{prefix}{i}",
            user=i % users + 1,
            action=actions[i % len(actions)],
            when=(start + timedelta(minutes=17 * i)).isoformat(),
        )
        for i in range(count)
    ]
