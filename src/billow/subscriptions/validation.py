"""Lago's subscription value rules (``Subscriptions::ValidateService``) with its error codes.

Pure: values in, codes into an :class:`ErrorCollector`. Dates of ``ending_at`` compare as UTC
dates, as Lago does: it must fall strictly after today and after ``subscription_at``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from billow.core.errors import ErrorCollector
from billow.core.timefmt import parse_iso_datetime
from billow.subscriptions.models import BILLING_TIMES, TERMINATION_CREDIT_NOTE, TERMINATION_INVOICE

INVALID_DATE = "invalid_date"
INVALID_VALUE = "invalid_value"

_FALSE = frozenset({"0", "f", "false", "off"})


class Invalid:
    """A value that could not be read (the error is already collected)."""


INVALID = Invalid()


def instant(raw: Any) -> datetime | Invalid | None:
    """An ISO-8601 instant (naive = UTC), ``None`` when absent or blank, else :data:`INVALID`."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if not isinstance(raw, str):
        return INVALID
    try:
        return parse_iso_datetime(raw)
    except ValueError:
        return INVALID


def subscription_at(raw: Any, errors: ErrorCollector) -> datetime | None:
    value = instant(raw)
    if isinstance(value, Invalid):
        errors.add("subscription_at", INVALID_DATE)
        return None
    return value


def ending_at(raw: Any, starts_at: datetime | None, now: datetime, errors: ErrorCollector) -> datetime | None:
    """``None`` when absent or blank (no end); an end not after today / ``subscription_at`` (UTC
    dates) is ``invalid_date``."""
    value = instant(raw)
    if value is None:
        return None
    if (
        isinstance(value, Invalid)
        or starts_at is None
        or value.astimezone(UTC).date() <= now.astimezone(UTC).date()
        or value.astimezone(UTC).date() <= starts_at.astimezone(UTC).date()
    ):
        errors.add("ending_at", INVALID_DATE)
        return None
    return value


def billing_time(raw: str | None, errors: ErrorCollector) -> str:
    if raw is None or raw == "":
        return "calendar"
    if raw not in BILLING_TIMES:
        errors.add("billing_time", "value_is_invalid")
    return raw


def credit_note_option(raw: str | None, errors: ErrorCollector) -> str | None:
    """``credit`` | ``refund`` | ``offset`` | ``skip``; blank means unset."""
    if raw is None or not raw.strip():
        return None
    if raw not in TERMINATION_CREDIT_NOTE:
        errors.add("on_termination_credit_note", INVALID_VALUE)
        return None
    return raw


def invoice_option(raw: str | None, errors: ErrorCollector) -> str | None:
    """``generate`` | ``skip``; blank means unset."""
    if raw is None or not raw.strip():
        return None
    if raw not in TERMINATION_INVOICE:
        errors.add("on_termination_invoice", INVALID_VALUE)
        return None
    return raw


def boolean(raw: Any, default: bool) -> bool:
    """Rails' boolean cast: ``false``, ``0``, ``"false"``, ``"off"``… are false, other values true."""
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    return str(raw).strip().lower() not in _FALSE


def text(raw: str | None) -> str:
    """Lago strips names and external ids (``to_s.strip``)."""
    return (raw or "").replace("\x00", "").strip()
