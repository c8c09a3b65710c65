"""Invoice operations behind the API: look-ups, update (payment status, metadata), refresh and
finalization of drafts (Lago's ``InvoicesController``)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, select

from billow.billing.events import InvoiceEvent
from billow.billing.fees.engine import FeeEngine
from billow.billing.finalization import finalize_draft, lock_draft, refresh_invoice
from billow.billing.models import Fee, Invoice, InvoiceMetadata
from billow.billing.payment_hooks import payment_status_changed
from billow.billing.queries import VISIBLE_STATUSES
from billow.core.errors import Forbidden, MethodNotAllowed, NotFound, ValidationFailed
from billow.core.ids import new_id, parse_uuid
from billow.db.context import Ctx
from billow.webhooks.emitter import emit

METADATA_PER_INVOICE = 5
METADATA_KEY_MAX = 20
METADATA_VALUE_MAX = 140
PAYMENT_STATUSES = ("pending", "succeeded", "failed")


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class InvoiceMetadataInput(_Input):
    id: str | None = None
    key: str | None = None
    value: str | None = None


class InvoiceUpdateInput(_Input):
    payment_status: str | None = None
    metadata: list[InvoiceMetadataInput] | None = None


def find_invoice(ctx: Ctx, lago_id: str, *, statuses: tuple[str, ...] = VISIBLE_STATUSES) -> Invoice:
    parsed = parse_uuid(lago_id)
    invoice = (
        ctx.session.scalar(
            select(Invoice).where(
                Invoice.id == parsed, Invoice.organization_id == ctx.org_id, Invoice.status.in_(statuses)
            )
        )
        if parsed is not None
        else None
    )
    if invoice is None:
        raise NotFound("invoice")
    return invoice


def find_fee(ctx: Ctx, lago_id: str) -> Fee:
    parsed = parse_uuid(lago_id)
    fee = (
        ctx.session.scalar(
            select(Fee).where(Fee.id == parsed, Fee.organization_id == ctx.org_id, Fee.deleted_at.is_(None))
        )
        if parsed is not None
        else None
    )
    if fee is None:
        raise NotFound("fee")
    return fee


def _upsert_metadata(ctx: Ctx, invoice: Invoice, items: list[InvoiceMetadataInput]) -> None:
    """Lago: items with a known ``id`` update it, others create a row; the rest are removed."""
    existing = {
        m.id: m
        for m in ctx.session.scalars(select(InvoiceMetadata).where(InvoiceMetadata.invoice_id == invoice.id))
    }
    now = ctx.now()
    keep: set[uuid.UUID] = set()
    errors: dict[str, list[str]] = {}
    for item in items:
        if not item.key:
            errors.setdefault("metadata:key", []).append("value_is_mandatory")
        elif len(item.key) > METADATA_KEY_MAX:
            errors.setdefault("metadata:key", []).append("value_is_too_long")
        if not item.value:
            errors.setdefault("metadata:value", []).append("value_is_mandatory")
        elif len(item.value) > METADATA_VALUE_MAX:
            errors.setdefault("metadata:value", []).append("value_is_too_long")
    keys = [item.key for item in items]
    if len(keys) != len(set(keys)):
        errors.setdefault("metadata:key", []).append("value_already_exist")
    if errors:
        raise ValidationFailed({k: sorted(set(v)) for k, v in errors.items()})
    for item in items:
        parsed = parse_uuid(item.id) if item.id else None
        row = existing.get(parsed) if parsed is not None else None
        if row is not None:
            row.key, row.value, row.updated_at = str(item.key), str(item.value), now
            keep.add(row.id)
            continue
        created = InvoiceMetadata(
            id=new_id(),
            invoice_id=invoice.id,
            key=str(item.key),
            value=str(item.value),
            created_at=now,
            updated_at=now,
        )
        ctx.session.add(created)
        keep.add(created.id)
    stale = [i for i in existing if i not in keep]
    if stale:
        ctx.session.execute(delete(InvoiceMetadata).where(InvoiceMetadata.id.in_(stale)))


def update_invoice(ctx: Ctx, invoice: Invoice, data: InvoiceUpdateInput, fields: set[str]) -> Invoice:
    if invoice.status == "voided":
        raise MethodNotAllowed("update_on_voided_invoice")
    if invoice.status == "draft" and "metadata" in fields and data.metadata is not None:
        raise MethodNotAllowed("metadata_on_draft_invoice")
    if "payment_status" in fields and data.payment_status not in PAYMENT_STATUSES:
        raise ValidationFailed({"payment_status": ["value_is_invalid"]})
    if data.metadata is not None and len(data.metadata) > METADATA_PER_INVOICE:
        raise ValidationFailed({"metadata": ["invalid_count"]})
    old_status = invoice.payment_status
    if "payment_status" in fields and data.payment_status is not None:
        if invoice.status == "draft" and data.payment_status != old_status:
            raise MethodNotAllowed("payment_status_update_on_draft_invoice")
        invoice.payment_status = data.payment_status
        if invoice.payment_status == "succeeded":
            invoice.payment_overdue = False
    if data.metadata is not None:
        _upsert_metadata(ctx, invoice, data.metadata)
    invoice.updated_at = ctx.now()
    ctx.session.flush()
    if invoice.payment_status != old_status:
        emit(ctx, "invoice.payment_status_updated", InvoiceEvent(invoice, ctx.now()))
        payment_status_changed(ctx, invoice, old_status)
    return invoice


def refresh(ctx: Ctx, engine: FeeEngine, invoice: Invoice) -> Invoice:
    """``PUT /invoices/{id}/refresh``: subscription invoices only; anything but a draft is
    returned unchanged (Lago)."""
    if invoice.invoice_type != "subscription":
        raise Forbidden("forbidden")
    if invoice.status == "draft" and lock_draft(ctx, invoice):
        refresh_invoice(ctx, engine, invoice)
    return invoice


def finalize(ctx: Ctx, engine: FeeEngine, invoice: Invoice) -> Invoice:
    """``PUT /invoices/{id}/finalize`` (drafts only: others are not found, as in Lago)."""
    if invoice.invoice_type != "subscription":
        raise Forbidden("forbidden")
    return finalize_draft(ctx, engine, invoice)
