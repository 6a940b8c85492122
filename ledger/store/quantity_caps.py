"""The bound on a user's total quantity, checked as a batch of actions is written.

Points are summed per user and day, per period and over all of history in 64-bit integers.
A single action is bounded (ledger/domain.py MAX_QUANTITY, MAX_POINT_VALUE), but sums are
not unless the quantities summed are: so a batch is refused if it would take any user's
total quantity in a ledger past MAX_USER_QUANTITY, which keeps every sum of points inside
64 bits (SQLite would otherwise clamp it silently, PostgreSQL fail every read of the ledger).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from ledger.domain import MAX_QUANTITY, MAX_USER_QUANTITY
from ledger.errors import InputProblem


def quantity_problems(conn: Connection, number: int, rows: Sequence, recorded_before: bool) -> list[InputProblem]:
    """A problem for each user whose total quantity in ledger number `number` would pass
    MAX_USER_QUANTITY with `rows` (LocatedRow) added, naming the row that passes it.
    `recorded_before`: whether the ledger already holds actions whose quantities count."""
    if not recorded_before and len(rows) * MAX_QUANTITY <= MAX_USER_QUANTITY:
        return []  # too few rows to reach the bound, whatever their quantities
    batch: dict[int, int] = {}
    for located in rows:
        row = located.row
        batch[row.user_id] = batch.get(row.user_id, 0) + row.quantity
    recorded = _recorded_totals(conn, number, batch) if recorded_before else {}
    over = {user for user, total in batch.items() if total + recorded.get(user, 0) > MAX_USER_QUANTITY}
    problems: list[InputProblem] = []
    running = dict.fromkeys(over, 0)
    for located in rows:
        user = located.row.user_id
        if user not in running:
            continue
        running[user] += located.row.quantity
        if running[user] + recorded.get(user, 0) > MAX_USER_QUANTITY:
            problems.append(
                InputProblem(
                    located.source,
                    located.line,
                    "quantity",
                    f"takes user {user}'s total quantity past {MAX_USER_QUANTITY} (recorded "
                    f"{recorded.get(user, 0)}), beyond which points could overflow 64 bits",
                )
            )
            del running[user]
    return problems


def _recorded_totals(conn: Connection, number: int, batch: dict[int, int]) -> dict[int, int]:
    """The recorded total quantity of each user of `batch` who has actions in the ledger,
    read from the user-history index (it carries the quantity), one user's range at a time."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("CREATE TEMP TABLE staged_users (user_id bigint PRIMARY KEY) ON COMMIT DROP")
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy("COPY staged_users (user_id) FROM STDIN") as copy:
            for user in batch:
                copy.write_row((user,))
        conn.exec_driver_sql("ANALYZE staged_users")
    else:
        conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS staged_users (user_id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql("DELETE FROM staged_users")
        conn.exec_driver_sql("INSERT INTO staged_users (user_id) VALUES (?)", [(user,) for user in batch])
    totals = conn.exec_driver_sql(
        "SELECT s.user_id, t.total FROM staged_users s CROSS JOIN LATERAL ("
        "SELECT SUM(a.quantity) AS total FROM actions a WHERE a.user_id = s.user_id AND a.ledger_id = %(number)s"
        ") t WHERE t.total IS NOT NULL"
        if conn.dialect.name == "postgresql"
        else "SELECT s.user_id, (SELECT SUM(a.quantity) FROM actions a WHERE a.user_id = s.user_id "
        "AND a.ledger_id = ?) AS total FROM staged_users s",
        {"number": number} if conn.dialect.name == "postgresql" else (number,),
    ).all()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DELETE FROM staged_users")
    return {user: int(total) for user, total in totals if total is not None}
