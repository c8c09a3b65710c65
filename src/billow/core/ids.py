"""Identifiers and random secrets."""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): time-ordered, with a per-process monotonic counter.

    Ordering by ``(created_at, id)`` is then insertion order even when the (manual) business
    clock gives many rows the same ``created_at``. The embedded time is wall time, used only to
    order identifiers, never as business time.
    """
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:
                ms += 1
                _counter = 0
        else:
            _counter = 0
        _last_ms = ms
        counter = _counter
    rand_b = secrets.randbits(62)
    value = (ms & 0xFFFFFFFFFFFF) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def new_ids(count: int) -> list[uuid.UUID]:
    """``count`` consecutive UUIDv7 (as :func:`new_id`, in order) with the random bits of all of
    them from ONE ``urandom`` call: a syscall per id would cost more than the rest of an event's
    preparation on the ingestion hot path."""
    global _last_ms, _counter
    if count <= 0:
        return []
    raw = os.urandom(8 * count)
    stamps: list[tuple[int, int]] = []
    with _lock:
        ms = max(time.time_ns() // 1_000_000, _last_ms)
        counter = _counter + 1 if ms == _last_ms else 0
        for _ in range(count):
            if counter > 0xFFF:
                ms += 1
                counter = 0
            stamps.append((ms, counter))
            counter += 1
        _last_ms, _counter = ms, counter - 1
    ids: list[uuid.UUID] = []
    for i, (ms, counter) in enumerate(stamps):
        rand_b = int.from_bytes(raw[8 * i : 8 * i + 8], "big") & ((1 << 62) - 1)
        ids.append(
            uuid.UUID(int=(ms & 0xFFFFFFFFFFFF) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b)
        )
    return ids


def new_api_key() -> str:
    """A Lago-style API key (a UUID string) drawn from a CSPRNG."""
    return str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))


def hash_api_key(key: str) -> str:
    """API keys are stored hashed (SHA-256; the keys have 122 random bits, no salt needed)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None
