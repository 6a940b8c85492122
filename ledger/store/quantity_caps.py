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

from typing import Any

from sqlalchemy import Connection

from ledger.domain import MAX_USER_QUANTITY
from ledger.errors import InputProblem

LIGHT_QUANTITY = 1_000
LIGHT_HEADROOM = 10**12
HEAVY_BOUND = MAX_USER_QUANTITY - LIGHT_HEADROOM


def heavy_user_problems(
    conn: Connection, number: int, heavy: dict[int, int], first_seq: int, recorded_before: bool, rows_offered: int, source: Any
) -> list[InputProblem]:
    """A problem for each user with a heavy row in the batch just written (from `first_seq`
    on, not yet committed) whose total quantity in ledger number `number` passes HEAVY_BOUND,
    naming the row that passes it.

    `heavy` holds each such user's batch total from its first heavy row on; the rows before
    it are light, at most LIGHT_QUANTITY each among `rows_offered`. So when the ledger held
    no actions before (`recorded_before` false) only users within reach of the bound need
    their total read; otherwise every one does, as its recorded total counts too. `source`
    (ledger/store/actions.py RowSource) is read again to find the line of a row refused."""
    if recorded_before:
        suspects = list(heavy)
    else:
        slack = LIGHT_QUANTITY * rows_offered
        suspects = [user for user, total in heavy.items() if total + slack > HEAVY_BOUND]
    if not suspects:
        return []
    totals = _recorded_totals(conn, number, dict.fromkeys(suspects, 0))
    over = [user for user in suspects if totals.get(user, 0) > HEAVY_BOUND]
    passing: dict[str, tuple[int, int]] = {}
    for user in over:
        running = 0
        for seq, key, quantity in conn.exec_driver_sql(
            "SELECT seq, source_key, quantity FROM actions WHERE ledger_id = %(number)s AND user_id = %(user)s ORDER BY seq"
            if conn.dialect.name == "postgresql"
            else "SELECT seq, source_key, quantity FROM actions WHERE ledger_id = ? AND user_id = ? ORDER BY seq",
            {"number": number, "user": user} if conn.dialect.name == "postgresql" else (number, user),
        ):
            running += quantity
            if running > HEAVY_BOUND and seq >= first_seq:
                passing[key] = (user, running - quantity)
                break
    problems: list[InputProblem] = []
    for chunk in source.chunks() if passing else ():
        for located in chunk:
            if located.row.source_key in passing:
                user, _ = passing.pop(located.row.source_key)
                problems.append(
                    InputProblem(
                        located.source,
                        located.line,
                        "quantity",
                        f"takes user {user}'s total quantity past {HEAVY_BOUND}, beyond which points "
                        "could overflow 64 bits",
                    )
                )
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
