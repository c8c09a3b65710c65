"""Reusable field checks returning Lago's error codes (pure; no pydantic, no database)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from billow.core.currencies import COUNTRY_CODES, CURRENCY_CODES

_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_timezone(value: str) -> bool:
    if value == "UTC":
        return True
    if value not in _zones():
        return False
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def is_currency(value: str) -> bool:
    return value in CURRENCY_CODES


def is_country(value: str) -> bool:
    return value.upper() in COUNTRY_CODES


def is_email_list(value: str) -> bool:
    """Lago accepts a comma-separated list of addresses in ``email``."""
    parts = [p.strip() for p in value.split(",")]
    return all(_EMAIL.match(p) for p in parts if p) and any(parts)


def is_http_url(value: str) -> bool:
    try:
        parsed = urlparse(value)
    except ValueError:
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.netloc) and " " not in value


# ------------------------------------------------------------------- query-string parameters


def query_date(value: str) -> date | None:
    """An ISO ``YYYY-MM-DD`` query parameter; ``None`` when it is not one (Lago ignores the filter)."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def query_int(value: str) -> int | None:
    """An integer query parameter; ``None`` when it is not one (Lago ignores the filter)."""
    try:
        return int(value)
    except ValueError:
        return None


def one_of_message(values: Iterable[str]) -> str:
    """Lago's (dry-validation) message for a value outside ``values``."""
    return "must be one of: " + ", ".join(values)


def escape_like(term: str) -> str:
    """``term`` with SQL ``LIKE`` wildcards escaped (use with ``escape="\\"``)."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
