"""User keys: how a platform names a user, as text, and the compact number kept inside.

Platforms name users by integers (Discourse), UUIDs, or numeric strings longer than 64 bits.
A user is named by such a key, as text, in every file, command and output. Event tables and
projections hold a compact BIGINT instead (`user_id`), so that pricing, indexes and
benchmarks stay integer-keyed:

- a key that is a canonical decimal integer within ±MAX_INTEGER (no sign but `-`, no leading
  zero, not `-0`) *is* its number: nothing needs recording, and every ledger written before
  keys existed already names its users this way;
- any other key (`alice`, a UUID, a 40-digit id, `007`) gets the next free number above
  MAX_INTEGER in its ledger, recorded once as a hash-chained event (table `user_keys`).

In Python a user is given and returned as a *user reference*: the int itself for a key of
the first kind, the key's text otherwise (so `"42"` and `42` name the same user, and
`"007"` another one). `key_text` spells either as the key.
"""

from __future__ import annotations

from typing import Any

from ledger.domain import MAX_INTEGER
from ledger.safe_values import text_problem

# Keys are at most this many characters: a UUID is 36, Starmind's ids about 40.
MAX_USER_KEY_LENGTH = 200
# Numbers of keys that are not direct integers start here (one past every direct number).
FIRST_ALLOCATED = MAX_INTEGER + 1
# The largest number a user can be stored as (BIGINT).
MAX_STORED_USER = 2**63 - 1

UserRef = int | str


def direct_number(key: str) -> int | None:
    """The number a key names by itself (a canonical decimal integer within ±MAX_INTEGER),
    or None for a key that needs a number of its own."""
    try:
        number = int(key)
    except ValueError:
        return None
    # int() also reads " 42", "+42", "042", "4_2" and other scripts' digits: only the
    # integer's own spelling is the integer.
    return number if -MAX_INTEGER <= number <= MAX_INTEGER and str(number) == key else None


def user_ref(value: Any) -> UserRef:
    """`value` (key text or int) as a user reference; ValueError saying why it names no user.
    Surrounding whitespace is not part of a key."""
    if type(value) is str:
        number = direct_number(value)
        if number is not None:
            return number
        return _text_ref(value)
    if isinstance(value, bool):
        raise ValueError(f"must be a user key (text or a whole number), got {value!r}")
    if isinstance(value, int):
        return value if -MAX_INTEGER <= value <= MAX_INTEGER else str(value)
    raise ValueError(f"must be a user key (text or a whole number), got {type(value).__name__}")


def _text_ref(value: str) -> UserRef:
    key = value.strip()
    if not key:
        raise ValueError(f"is empty: a user key is 1 to {MAX_USER_KEY_LENGTH} characters")
    problem = text_problem(key)
    if problem:
        raise ValueError(problem)
    if len(key) > MAX_USER_KEY_LENGTH:
        raise ValueError(f"is longer than {MAX_USER_KEY_LENGTH} characters")
    number = direct_number(key)
    return key if number is None else number


def key_text(ref: UserRef) -> str:
    """A user reference as its key."""
    return str(ref)


def is_direct(number: int) -> bool:
    """Whether a stored user number is a key's own integer (not one allocated to a key)."""
    return -MAX_INTEGER <= number <= MAX_INTEGER
