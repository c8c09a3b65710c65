"""``EventStore``: the one door to usage events (write, read back, and later aggregate)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from billow.core.pagination import PageParams
from billow.db.context import Ctx
from billow.metering.aggregation.types import AggregationRequest, AggregationResult, EventUnits


@dataclass(slots=True)
class EventRecord:
    """An event as stored: what ingestion writes and what reads give back."""

    id: uuid.UUID
    organization_id: uuid.UUID
    transaction_id: str
    external_subscription_id: str | None
    code: str
    timestamp: datetime
    properties: dict[str, Any]
    precise_total_amount_cents: Decimal | None
    value: Decimal | None
    value_text: str | None
    value_field: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EventFilters:
    """``GET /events`` filters (bounds inclusive; ``None`` means unbounded)."""

    code: str | None = None
    external_subscription_id: str | None = None
    timestamp_from: datetime | None = None
    timestamp_to: datetime | None = None


class EventStore(Protocol):
    """Deduplicating event storage, scoped by ``ctx.org_id``.

    Dedupe key: ``(organization_id, external_subscription_id, transaction_id)``, enforced by a
    unique index with insert-or-ignore (a NULL subscription id never conflicts, as in SQL).

    Aggregation (``aggregate``, ``event_units``; ``billow.metering.aggregation``) is set-based
    SQL over the typed ``value`` column, with a JSON fallback for rows whose ``value_field`` is
    not the metric's current ``field_name``.
    """

    def insert_many(self, ctx: Ctx, rows: Sequence[EventRecord]) -> list[int]:
        """Insert in the caller's transaction; return the indexes of rows NOT inserted.

        A row is a duplicate when the key exists already or appears earlier in ``rows``. The
        caller decides what to do (the API rolls the whole transaction back).
        """
        ...

    def get(self, ctx: Ctx, transaction_id: str) -> EventRecord | None:
        """The organization's first (oldest ``created_at``) event with this transaction id."""
        ...

    def list(self, ctx: Ctx, filters: EventFilters, page: PageParams) -> tuple[list[EventRecord], int]:
        """One page ordered by ``timestamp DESC, transaction_id ASC``, and the total count."""
        ...

    def aggregate(self, ctx: Ctx, request: AggregationRequest) -> AggregationResult:
        """Aggregate one charge of one subscription over a window: every bucket (each charge
        filter, then the default bucket) × group (``billow.metering.aggregation``)."""
        ...

    def event_units(self, ctx: Ctx, request: AggregationRequest, event: EventRecord) -> EventUnits:
        """Pay-in-advance: the bucket/group of a stored event, its aggregation up to and
        including the event, and the units the event adds (metering.md §3.8)."""
        ...
