"""
The one definition of what an access-log entry's bytes are and how the entries are chained.

An entry's `body` is canonical JSON (sorted keys, no spaces, ASCII only), so the same entry is
the same bytes on PostgreSQL, on SQLite and in any encoding; it is kept as text, never as
jsonb, which would reorder it. `mac` is an HMAC of the body under a signing key, so nobody
without the key can write a believable entry. `hash` links the entry to the one before:

    hash_n = SHA-256(hash_{n-1} || seq_n as 8 bytes big-endian || body (UTF-8) || mac)

The database computes `hash` inside the INSERT (a PL/pgSQL trigger on PostgreSQL, which
repeats this formula in SQL; `link` below, registered as a SQLite function, on SQLite), and
the verifier recomputes it here. A golden vector in the tests holds all three to one answer.
"""

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

GENESIS = bytes(32)  # the hash "before" the first entry
BODY_VERSION = 1


def canonical(data: Mapping[str, object]) -> str:
    """The body's text: the same mapping always gives the same characters."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def instant(moment: datetime) -> str:
    """An aware datetime as the log writes it: UTC, microseconds, `Z`."""
    if moment.tzinfo is None:
        raise ValueError("The access log takes aware datetimes only.")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def link(prev_hash: bytes, seq: int, body: str, mac: bytes) -> bytes:
    """The entry's hash, chaining it to `prev_hash`."""
    return hashlib.sha256(
        bytes(prev_hash) + seq.to_bytes(8, "big", signed=True) + body.encode() + bytes(mac)
    ).digest()


# --- Keys -----------------------------------------------------------------------------------


def key_id(key: str) -> str:
    """A short public name for a key, written into each body, so the verifier knows which to use."""
    return hashlib.sha256(f"portal.audit.key-id|{key}".encode()).hexdigest()[:12]


def signing_keys() -> dict[str, str]:
    """Every key the log may have been written with, by id; the first is the one to write with."""
    return {key_id(key): key for key in settings.AUDIT_SIGNING_KEYS}


def current_key() -> tuple[str, str]:
    key = settings.AUDIT_SIGNING_KEYS[0]
    return key_id(key), key


def entry_mac(key: str, body: str) -> bytes:
    return salted_hmac("portal.audit.entry", body, secret=key, algorithm="sha256").digest()


def mac_matches(key: str | None, body: str, mac: bytes) -> bool:
    return key is not None and constant_time_compare(entry_mac(key, body), bytes(mac))


def checkpoint_message(seq: int, hash_: bytes, made_at: datetime, kind: str) -> str:
    return f"v1|{seq}|{bytes(hash_).hex()}|{instant(made_at)}|{kind}"


def checkpoint_signature(key: str, seq: int, hash_: bytes, made_at: datetime, kind: str) -> str:
    message = checkpoint_message(seq, hash_, made_at, kind)
    return salted_hmac(
        "portal.audit.checkpoint", message, secret=key, algorithm="sha256"
    ).hexdigest()
