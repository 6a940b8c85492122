"""Each ledger's time zone: the calendar its days, and so its periods, are counted in.

UTC unless the ledger was given another when it was created (`init --timezone`), stored in
its row of ledger_numbers. An action's `day` is the day of its `occurred_at` in that zone,
a correction is booked on the zone's day of its time, and "today" is the zone's today. The
zone is fixed once the ledger holds events: changing it would move recorded actions to other
days, which `verify` reports (the stored day of each action must be its day in the zone).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Engine, exists, select, update

from ledger.errors import InputProblem, InvalidInput
from ledger.store import ledger_numbers as numbering
from ledger.store.engine import read_transaction, write_transaction
from ledger.store.tables import batches, ledger_numbers

UTC_NAMES = ("UTC", "Etc/UTC", "Z")


def parse_zone(name: str) -> ZoneInfo | None:
    """The zone called `name` (IANA, e.g. Europe/Zurich); None for UTC."""
    if name.strip() in UTC_NAMES:
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            [InputProblem("`timezone`", None, None, f"unknown time zone {name!r}: give an IANA name such as Europe/Zurich, or UTC")],
            what="init",
        ) from None


def zone_of(conn: Connection, ledger: str) -> ZoneInfo | None:
    """`ledger`'s time zone, None for UTC (or a ledger with no row yet)."""
    name = conn.execute(select(ledger_numbers.c.timezone).where(ledger_numbers.c.ledger == ledger)).scalar()
    return None if name is None else ZoneInfo(name)


def zone_name(zone: ZoneInfo | None) -> str:
    return "UTC" if zone is None else zone.key


def set_zone(engine: Engine, ledger: str, name: str) -> ZoneInfo | None:
    """Give `ledger` the time zone `name`. Refused, naming both, if the ledger already holds
    events in another zone; the same zone again changes nothing."""
    zone = parse_zone(name)
    numbering.ensure(engine, ledger)
    with write_transaction(engine) as conn:
        current = zone_of(conn, ledger)
        if zone_name(current) == zone_name(zone):
            return zone
        if _has_events(conn, ledger):
            raise InvalidInput(
                [
                    InputProblem(
                        "`timezone`",
                        None,
                        None,
                        f"ledger {ledger!r} already holds events counted in {zone_name(current)}: "
                        f"its time zone cannot change to {zone_name(zone)}",
                    )
                ],
                what="init",
            )
        conn.execute(update(ledger_numbers).where(ledger_numbers.c.ledger == ledger).values(timezone=None if zone is None else zone.key))
    return zone


def _has_events(conn: Connection, ledger: str) -> bool:
    # Every write of events is a batch naming its ledger (ledger/store/journal.py).
    return bool(conn.execute(select(exists().where(batches.c.ledger == ledger))).scalar())


def local_day(moment: datetime, zone: ZoneInfo | None) -> date:
    """The day of `moment` (naive UTC, as stored) in `zone`."""
    if zone is None:
        return moment.date()
    return moment.replace(tzinfo=UTC).astimezone(zone).date()


def today_in(zone: ZoneInfo | None) -> date:
    return datetime.now(UTC).astimezone(zone or UTC).date()


def read_zone(engine: Engine, ledger: str) -> ZoneInfo | None:
    with read_transaction(engine) as conn:
        return zone_of(conn, ledger)
