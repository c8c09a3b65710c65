"""The seam between billing and the aggregation engine: usage per charge bucket.

Billing asks, for one charge of one subscription over a usage window, the aggregated usage of
every bucket (each charge filter plus the default bucket) and every pricing group. The metering
aggregation engine implements :class:`UsageSource`; until it is wired, :class:`NoUsage` answers
"no event" (each bucket then prices zero units, which still bills first-tier flat fees).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from billow.core.money import ZERO
from billow.db.context import Ctx
from billow.pricing.charge_models import ProratedEventValue
from billow.pricing.plans.views import ChargeView
from billow.subscriptions.models import Subscription


@dataclass(frozen=True)
class UsageWindow:
    """``charges_from`` … ``charges_to`` (inclusive instants), the whole period's length in days."""

    from_datetime: datetime
    to_datetime: datetime
    duration_days: int
    timezone: str
    current_usage: bool = False
    upgraded_away: bool = False
    """The subscription was terminated by an upgrade (prorations count one day less)."""


@dataclass(frozen=True)
class BucketUsage:
    """Aggregated usage of one bucket (``charge_filter_id`` ``None`` = default) and one group."""

    charge_filter_id: uuid.UUID | None
    units: Decimal = ZERO
    events_count: int = 0
    grouped_by: dict[str, Any] = field(default_factory=dict)
    total_aggregated_units: Decimal | None = None
    event_values: tuple[Decimal, ...] = ()
    precise_total_amount_cents: Decimal = ZERO
    full_units_number: Decimal | None = None
    prorated_events: tuple[ProratedEventValue, ...] = ()
    custom_amount: Decimal | None = None
    current_usage_units: Decimal | None = None
    """Current usage of a pay-in-advance charge: the units shown (the period's actual total)
    while ``units`` prices its high-water mark (metering.md §3.8)."""


class UsageSource(Protocol):
    def charge_usage(
        self, ctx: Ctx, charge: ChargeView, subscription: Subscription, window: UsageWindow
    ) -> Sequence[BucketUsage]:
        """Usage of every bucket × group with events in the window (buckets without any may be
        omitted: billing prices them at zero units)."""
        ...


class NoUsage:
    """No events anywhere (the stand-in until the aggregation engine is wired)."""

    def charge_usage(
        self, ctx: Ctx, charge: ChargeView, subscription: Subscription, window: UsageWindow
    ) -> Sequence[BucketUsage]:
        return ()
