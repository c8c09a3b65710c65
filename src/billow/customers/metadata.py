"""Customer metadata upsert, as Lago does it: items with a known ``id`` update that pair, items
without one create a pair, and pairs left out of the list are removed.

``plan_metadata`` checks everything before anything is written; ``apply_metadata`` writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from billow.customers.models import Customer, CustomerMetadata
from billow.customers.schemas import MetadataInput
from billow.customers.validation import check_metadata_item
from billow.db.context import Ctx


@dataclass(frozen=True)
class PlannedItem:
    current: CustomerMetadata | None
    key: str
    value: str
    display_in_invoice: bool


@dataclass(frozen=True)
class MetadataPlan:
    items: list[PlannedItem]
    removed: list[CustomerMetadata]


def _clean(value: str | None) -> str | None:
    return value.replace("\x00", "") if value is not None else None


def load_metadata(ctx: Ctx, customer_id: uuid.UUID) -> list[CustomerMetadata]:
    return list(
        ctx.session.scalars(
            select(CustomerMetadata)
            .where(
                CustomerMetadata.customer_id == customer_id, CustomerMetadata.organization_id == ctx.org_id
            )
            .order_by(CustomerMetadata.created_at, CustomerMetadata.key)
        )
    )


def plan_metadata(items: Sequence[MetadataInput], existing: Sequence[CustomerMetadata]) -> MetadataPlan:
    """Raise ValidationFailed for the first invalid item (Lago reports that record alone)."""
    by_id = {str(m.id): m for m in existing}
    planned: list[PlannedItem] = []
    keys: set[str] = set()
    for item in items:
        current = by_id.pop(item.id.strip().lower(), None) if item.id else None
        sent = item.model_fields_set
        key = _clean(item.key) if current is None or "key" in sent else current.key
        value = _clean(item.value) if current is None or "value" in sent else current.value
        errors = check_metadata_item(key, value)
        if not errors and key in keys:
            errors.add("key", "value_already_exist")
        errors.raise_if_any()
        assert key is not None and value is not None
        keys.add(key)
        planned.append(PlannedItem(current, key, value, bool(item.display_in_invoice)))
    return MetadataPlan(planned, list(by_id.values()))


def apply_metadata(ctx: Ctx, customer: Customer, plan: MetadataPlan) -> None:
    """Write a checked plan. Renamed keys go through a placeholder so that swapping two keys
    never trips the (customer_id, key) unique index mid-flush."""
    now = ctx.now()
    session = ctx.session
    for gone in plan.removed:
        session.delete(gone)
    renamed = [p for p in plan.items if p.current is not None and p.current.key != p.key]
    if plan.removed or renamed:
        session.flush()
    for item in renamed:
        assert item.current is not None
        item.current.key = f"__billow_renaming__{item.current.id}"
    if renamed:
        session.flush()
    for item in plan.items:
        row = item.current
        if row is None:
            session.add(
                CustomerMetadata(
                    organization_id=customer.organization_id,
                    customer_id=customer.id,
                    key=item.key,
                    value=item.value,
                    display_in_invoice=item.display_in_invoice,
                    created_at=now,
                    updated_at=now,
                )
            )
            continue
        if (row.key, row.value, row.display_in_invoice) != (item.key, item.value, item.display_in_invoice):
            row.key, row.value, row.display_in_invoice = item.key, item.value, item.display_in_invoice
            row.updated_at = now
    session.flush()
