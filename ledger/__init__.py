"""scoreledger: an event-sourced scoring ledger.

Every scoring action and every point-value change is an immutable, dated event; scores are
replayed at the point values in force on the day each action happened.
"""

from ledger.api import Ledger
from ledger.domain import Action, LevelCurve, Rule, ScheduleVersion
from ledger.errors import LedgerError

__all__ = ["Action", "LedgerError", "Ledger", "LevelCurve", "Rule", "ScheduleVersion"]
