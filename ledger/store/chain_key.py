"""The keyed chain: an HMAC of each batch's hash, under a key that only the environment holds.

The hash chain is unkeyed, so anyone who can write the database can rewrite history and
recompute every hash. With SCORELEDGER_CHAIN_KEY set, each batch written also stores
HMAC-SHA256(key, batch hash) in `batches.mac`; since a batch's hash covers every batch before
it, a valid MAC on a batch vouches for the whole journal up to it. Without the key nobody can
make a valid MAC, so a rewritten history fails `verify` run with the key. The key is read
from the environment each time and never stored, logged or printed.
"""

from __future__ import annotations

import hashlib
import hmac
import os

KEY_VARIABLE = "SCORELEDGER_CHAIN_KEY"


def chain_key() -> bytes | None:
    """The key from the environment, or None when keyed chaining is off."""
    value = os.environ.get(KEY_VARIABLE)
    return value.encode("utf-8") if value else None


def batch_mac(key: bytes, batch_hash: str) -> str:
    """The MAC stored with a batch: HMAC-SHA256 of its hash under `key`, in hex."""
    return hmac.new(key, batch_hash.encode("ascii"), hashlib.sha256).hexdigest()


def mac_matches(key: bytes, batch_hash: str, stored: str) -> bool:
    return hmac.compare_digest(batch_mac(key, batch_hash), stored)
