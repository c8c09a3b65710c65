"""Identifiers and random secrets."""

from __future__ import annotations

import hashlib
import secrets
import uuid


def new_id() -> uuid.UUID:
    return uuid.uuid4()


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
