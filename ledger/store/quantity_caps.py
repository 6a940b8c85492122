"""The bound on a user's total quantity, checked as a batch of actions is written.

Points are summed per user and day, per period and over all of history in 64-bit integers.
A single action is bounded (ledger/domain.py MAX_QUANTITY, MAX_POINT_VALUE), but sums are
not unless the quantities summed are: so a batch is refused if it would take a user's total
quantity in a ledger past MAX_USER_QUANTITY, which keeps every sum of points inside 64 bits
(SQLite would otherwise clamp it silently, PostgreSQL fail every read of the ledger).

Reading a user's recorded total costs a range of the user-history index, so it is read only
for users with a heavy row (quantity above LIGHT_QUANTITY) in the batch, and those must stay
LIGHT_HEADROOM below the bound: light rows, which nearly every batch holds only, are then
never checked, and a user's total can pass the bound by light rows alone only after more
than a billion of them (LIGHT_HEADROOM / LIGHT_QUANTITY), which 2^63 still has room for
(MAX_USER_QUANTITY * MAX_POINT_VALUE = 9.0e18; 2^63 = 9.22e18 allows 2.2e11 more units).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from ledger.domain import MAX_USER_QUANTITY
from ledger.errors import InputProblem

LIGHT_QUANTITY = 1_000
LIGHT_HEADROOM = 10**12
HEAVY_BOUND = MAX_USER_QUANTITY - LIGHT_HEADROOM


def quantity_problems(conn: Connection, number: int, rows: Sequence, recorded_before: bool) -> list[InputProblem]:
    """A problem for each user with a heavy row in `rows` (LocatedRow) whose total quantity in
    ledger number `number` would pass HEAVY_BOUND with `rows` added, naming the row that
    passes it. `recorded_before`: whether the ledger already holds actions."""
    heavy = {located.row.user_id for located in rows if located.row.quantity > LIGHT_QUANTITY}
    if not heavy:
        return []
    batch = dict.fromkeys(heavy, 0)
    for located in rows:
        if located.row.user_id in batch:
            batch[located.row.user_id] += located.row.quantity
    recorded = _recorded_totals(conn, number, batch) if recorded_before else {}
    over = {user for user, total in batch.items() if total + recorded.get(user, 0) > HEAVY_BOUND}
    problems: list[InputProblem] = []
    running = dict.fromkeys(over, 0)
    for located in rows:
        user = located.row.user_id
        if user not in running:
            continue
        running[user] += located.row.quantity
        if running[user] + recorded.get(user, 0) > HEAVY_BOUND:
            problems.append(
                InputProblem(
                    located.source,
                    located.line,
                    "quantity",
                    f"takes user {user}'s total quantity past {HEAVY_BOUND} (recorded "
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
        driver = conn.connection.driver_connection
        assert driver is not None  # an open connection's
        cursor = driver.cursor()
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
