"""Stored events read back by their dedupe key, for the work that follows ingestion.

The events table indexes ``(organization_id, transaction_id, external_subscription_id)`` and not
``id`` (ADR 0002), so jobs name events by that key and find them here with the index.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from billow.db.context import Ctx
from billow.metering.models import Event
from billow.metering.store import EventRecord

_COLUMNS = (
    Event.id,
    Event.organization_id,
    Event.transaction_id,
    Event.external_subscription_id,
    Event.code,
    Event.timestamp,
    Event.properties,
    Event.precise_total_amount_cents,
    Event.value,
    Event.value_text,
    Event.value_field,
    Event.created_at,
)


def events_by_keys(ctx: Ctx, keys: Iterable[tuple[str, str]]) -> list[EventRecord]:
    """The organization's live events with these ``(external_subscription_id, transaction_id)``
    keys, oldest ingestion first (``created_at``, ``timestamp``). Unknown keys are absent."""
    by_subscription: dict[str, set[str]] = {}
    for subscription_id, transaction_id in keys:
        by_subscription.setdefault(subscription_id, set()).add(transaction_id)
    found: list[EventRecord] = []
    for subscription_id, transaction_ids in by_subscription.items():
        rows = ctx.session.execute(
            select(*_COLUMNS).where(
                Event.organization_id == ctx.org_id,
                Event.transaction_id.in_(sorted(transaction_ids)),
                Event.external_subscription_id == subscription_id,
                Event.deleted_at.is_(None),
            )
        )
        found.extend(EventRecord(*row) for row in rows)
    found.sort(key=lambda r: (r.created_at, r.timestamp, str(r.id)))
    return found
