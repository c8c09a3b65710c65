"""Invoice-subscription boundaries: the periods package's dates, as stored and as fees keep them.

:class:`Boundaries` is the plain form of one subscription's period on one invoice (what Lago
calls ``BillingPeriodBoundaries``). The fee ``properties`` keep it as ISO strings; the
``period_key`` identifies the period a *recurring* invoice-subscription bills (unique per
subscription in the database).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from billow.core.timefmt import parse_iso_datetime
from billow.subscriptions.periods import BillingDates, Schedule, invoice_billing_dates


@dataclass(frozen=True)
class Boundaries:
    timestamp: datetime
    from_datetime: datetime
    to_datetime: datetime
    charges_from_datetime: datetime | None
    charges_to_datetime: datetime | None
    charges_duration: int
    fixed_charges_from_datetime: datetime | None
    fixed_charges_to_datetime: datetime | None
    fixed_charges_duration: int

    @classmethod
    def from_dates(cls, dates: BillingDates) -> Boundaries:
        return cls(
            timestamp=dates.timestamp,
            from_datetime=dates.from_datetime,
            to_datetime=dates.to_datetime,
            charges_from_datetime=dates.charges_from_datetime,
            charges_to_datetime=dates.charges_to_datetime,
            charges_duration=dates.charges_duration,
            fixed_charges_from_datetime=dates.fixed_charges_from_datetime,
            fixed_charges_to_datetime=dates.fixed_charges_to_datetime,
            fixed_charges_duration=dates.fixed_charges_duration,
        )

    @property
    def has_charges(self) -> bool:
        """Lago bills usage only on a non-empty usage window (``from < to``)."""
        start, end = self.charges_from_datetime, self.charges_to_datetime
        return start is not None and end is not None and start < end

    @property
    def has_fixed_charges(self) -> bool:
        start, end = self.fixed_charges_from_datetime, self.fixed_charges_to_datetime
        return start is not None and end is not None and start <= end

    def properties(self) -> dict[str, Any]:
        """Lago's ``fee.properties`` (datetimes as ISO-8601 UTC with microseconds)."""
        return {
            "timestamp": _iso(self.timestamp),
            "from_datetime": _iso(self.from_datetime),
            "to_datetime": _iso(self.to_datetime),
            "charges_from_datetime": _iso(self.charges_from_datetime),
            "charges_to_datetime": _iso(self.charges_to_datetime),
            "charges_duration": self.charges_duration,
            "fixed_charges_from_datetime": _iso(self.fixed_charges_from_datetime),
            "fixed_charges_to_datetime": _iso(self.fixed_charges_to_datetime),
            "fixed_charges_duration": self.fixed_charges_duration,
        }

    def for_charges(self) -> dict[str, Any]:
        """Charge fees keep no fixed-charge bounds."""
        props = self.properties()
        props.update(fixed_charges_from_datetime=None, fixed_charges_to_datetime=None)
        return props

    def with_fixed_charges(self, start: datetime, end: datetime, duration: int) -> Boundaries:
        return replace(
            self,
            fixed_charges_from_datetime=start,
            fixed_charges_to_datetime=end,
            fixed_charges_duration=duration,
        )


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is UTC:  # equal instants in other zones would share a cache entry
        return _iso_utc(value)
    return value.isoformat().replace("+00:00", "Z")


@lru_cache(maxsize=4096)  # a billing run formats the same few period bounds for every fee
def _iso_utc(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def property_datetime(properties: Mapping[str, Any], key: str) -> datetime | None:
    raw = properties.get(key)
    if not isinstance(raw, str) or not raw:
        return None
    return parse_iso_datetime(raw)


def period_key(schedule: Schedule, bounds: Boundaries) -> str:
    """The period a recurring invoice-subscription bills (Lago's ``InvoiceSubscription.matching?``).

    Fee boundaries identify the period; monthly-split plans (charges or fixed charges billed
    monthly) bill the same fee period every month, so their usage bounds are part of the key.
    """
    parts = [_iso(bounds.from_datetime), _iso(bounds.to_datetime)]
    if schedule.bill_charges_monthly and schedule.interval in ("yearly", "semiannual"):
        parts += [_iso(bounds.charges_from_datetime), _iso(bounds.charges_to_datetime)]
    if schedule.bill_fixed_charges_monthly and schedule.interval in ("yearly", "semiannual"):
        parts += [_iso(bounds.fixed_charges_from_datetime), _iso(bounds.fixed_charges_to_datetime)]
    return "|".join(p or "-" for p in parts)


def compute_boundaries(
    schedule: Schedule, timestamp: datetime, *, already_billed: Callable[[str], bool]
) -> Boundaries:
    """Boundaries of ``schedule`` on an invoice billed at ``timestamp``.

    ``already_billed(period_key)`` says whether a recurring invoice-subscription billed that
    period (a termination on a period boundary then bills the partial period instead).
    """
    dates = invoice_billing_dates(
        schedule,
        timestamp,
        already_billed=lambda candidate: already_billed(
            period_key(schedule, Boundaries.from_dates(candidate))
        ),
    )
    return Boundaries.from_dates(dates)
