"""Invoices in Lago's shape (``InvoiceObject`` / ``InvoiceObjectExtended``).

Includes, as Lago's controllers and webhooks pass them: the API's single invoice carries the
customer (with ``integration_customers``), billing periods, subscriptions, fees, credits,
metadata, applied taxes, error details and applied invoice custom sections; lists carry the
customer, metadata and applied taxes; ``invoice.created`` / ``invoice.drafted`` carry the
customer, subscriptions, billing periods, fees, credits and applied taxes (plus custom sections,
resp. error details). Fees nested in an invoice have no ``applied_taxes``.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billow.billing.credits import credit_payloads, invoice_credits
from billow.billing.events import InvoiceEvent
from billow.billing.fee_serializers import fee_payloads
from billow.billing.models import Fee, Invoice, InvoiceAppliedTax, InvoiceMetadata, InvoiceSubscription
from billow.billing.progressive.serializers import applied_usage_threshold_payloads
from billow.core.timefmt import instants_each, iso_date, iso_z
from billow.customers.billing_entities import billing_entities_by_id
from billow.customers.models import Customer
from billow.customers.serializers import customer_payloads
from billow.pricing.taxes.serializers import rate_number
from billow.subscriptions.models import Subscription
from billow.subscriptions.serializers import subscription_payloads

DETAIL: frozenset[str] = frozenset(
    {
        "customer",
        "integration_customers",
        "billing_periods",
        "subscriptions",
        "fees",
        "credits",
        "metadata",
        "applied_taxes",
        "error_details",
        "applied_invoice_custom_sections",
    }
)
LIST: frozenset[str] = frozenset({"customer", "integration_customers", "metadata", "applied_taxes"})
CREATED_WEBHOOK: frozenset[str] = frozenset(
    {
        "customer",
        "subscriptions",
        "billing_periods",
        "fees",
        "credits",
        "applied_taxes",
        "applied_invoice_custom_sections",
    }
)
DRAFTED_WEBHOOK: frozenset[str] = frozenset(
    {"customer", "subscriptions", "billing_periods", "fees", "credits", "applied_taxes", "error_details"}
)
PAYMENT_STATUS_WEBHOOK: frozenset[str] = frozenset({"customer", "fees"})


def _base(invoice: Invoice, entity_code: str) -> dict[str, Any]:
    offsets = invoice.total_offsetted_credit_note_amount_cents
    total_due = (
        0
        if invoice.status == "voided"
        else invoice.total_amount_cents - invoice.total_paid_amount_cents - offsets
    )
    return {
        "lago_id": str(invoice.id),
        "billing_entity_code": entity_code,
        "sequential_id": invoice.sequential_id,
        "number": invoice.number,
        "issuing_date": iso_date(invoice.issuing_date),
        "payment_due_date": iso_date(invoice.payment_due_date),
        "net_payment_term": invoice.net_payment_term,
        "invoice_type": invoice.invoice_type,
        "status": invoice.status,
        "payment_status": invoice.payment_status,
        "payment_dispute_lost_at": iso_z(invoice.payment_dispute_lost_at),
        "payment_overdue": invoice.payment_overdue,
        "currency": invoice.currency,
        "fees_amount_cents": invoice.fees_amount_cents,
        "taxes_amount_cents": invoice.taxes_amount_cents,
        "progressive_billing_credit_amount_cents": invoice.progressive_billing_credit_amount_cents,
        "coupons_amount_cents": invoice.coupons_amount_cents,
        "credit_notes_amount_cents": invoice.credit_notes_amount_cents,
        "sub_total_excluding_taxes_amount_cents": invoice.sub_total_excluding_taxes_amount_cents,
        "sub_total_including_taxes_amount_cents": invoice.sub_total_including_taxes_amount_cents,
        "total_amount_cents": invoice.total_amount_cents,
        "total_due_amount_cents": max(total_due, 0),
        "total_paid_amount_cents": invoice.total_paid_amount_cents,
        "total_offsetted_credit_note_amount_cents": offsets,
        "prepaid_credit_amount_cents": invoice.prepaid_credit_amount_cents,
        "prepaid_granted_credit_amount_cents": invoice.prepaid_granted_credit_amount_cents,
        "prepaid_purchased_credit_amount_cents": invoice.prepaid_purchased_credit_amount_cents,
        "file_url": None,
        "xml_url": None,
        "version_number": invoice.version_number,
        "self_billed": invoice.self_billed,
        "created_at": iso_z(invoice.created_at),
        "updated_at": iso_z(invoice.updated_at),
        "voided_at": iso_z(invoice.voided_at),
    }


def metadata_payload(row: InvoiceMetadata) -> dict[str, Any]:
    return {"lago_id": str(row.id), "key": row.key, "value": row.value, "created_at": iso_z(row.created_at)}


def applied_tax_payload(row: InvoiceAppliedTax) -> dict[str, Any]:
    return {
        "lago_id": str(row.id),
        "lago_invoice_id": str(row.invoice_id),
        "lago_tax_id": str(row.tax_id) if row.tax_id else None,
        "tax_name": row.tax_name,
        "tax_code": row.tax_code,
        "tax_rate": rate_number(row.tax_rate),
        "tax_description": row.tax_description,
        "amount_cents": row.amount_cents,
        "amount_currency": row.amount_currency,
        "fees_amount_cents": row.fees_amount_cents,
        "created_at": iso_z(row.created_at),
    }


def billing_period_payload(row: InvoiceSubscription, sub: Subscription | None) -> dict[str, Any]:
    return {
        "lago_subscription_id": str(row.subscription_id),
        "external_subscription_id": sub.external_id if sub else None,
        "lago_plan_id": str(sub.plan_id) if sub else None,
        "subscription_from_datetime": iso_z(row.from_datetime),
        "subscription_to_datetime": iso_z(row.to_datetime),
        "charges_from_datetime": iso_z(row.charges_from_datetime),
        "charges_to_datetime": iso_z(row.charges_to_datetime),
        "fixed_charges_from_datetime": iso_z(row.fixed_charges_from_datetime),
        "fixed_charges_to_datetime": iso_z(row.fixed_charges_to_datetime),
        "invoicing_reason": row.invoicing_reason,
    }


def _grouped(rows: Sequence[Any], attr: str, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    grouped: dict[uuid.UUID, list[Any]] = {i: [] for i in ids}
    for row in rows:
        grouped[getattr(row, attr)].append(row)
    return grouped


def invoice_payloads(
    session: Session,
    invoices: Sequence[Invoice],
    *,
    includes: Collection[str],
    now: datetime | Sequence[datetime],
) -> list[dict[str, Any]]:
    """Many invoices of one organization, their related rows loaded together; ``now`` (what the
    nested subscriptions are as of) for all of them, or each one's (in order)."""
    if not invoices:
        return []
    nows = instants_each(now, len(invoices))
    ids = [i.id for i in invoices]
    org_id = invoices[0].organization_id
    entities = billing_entities_by_id(session, org_id, {i.billing_entity_id for i in invoices})
    payloads = [_base(i, entities[i.billing_entity_id].code) for i in invoices]
    if "customer" in includes:
        customer_ids = {i.customer_id for i in invoices}
        customers = list(session.scalars(select(Customer).where(Customer.id.in_(customer_ids))))
        nested = frozenset({"integration_customers"} & set(includes))
        by_id = dict(
            zip(
                [c.id for c in customers], customer_payloads(session, customers, includes=nested), strict=True
            )
        )
        for payload, invoice in zip(payloads, invoices, strict=True):
            payload["customer"] = by_id.get(invoice.customer_id)
    rows: dict[uuid.UUID, list[InvoiceSubscription]] = {}
    subs: dict[uuid.UUID, Subscription] = {}
    if "subscriptions" in includes or "billing_periods" in includes:
        all_rows = session.scalars(
            select(InvoiceSubscription)
            .where(InvoiceSubscription.invoice_id.in_(ids))
            .order_by(InvoiceSubscription.created_at, InvoiceSubscription.id)
        ).all()
        rows = _grouped(all_rows, "invoice_id", ids)
        sub_ids = {r.subscription_id for r in all_rows}
        subs = {s.id: s for s in session.scalars(select(Subscription).where(Subscription.id.in_(sub_ids)))}
    if "subscriptions" in includes:
        # Each subscription as of its invoice's time (one payload per subscription and time).
        wanted = {
            (r.subscription_id, at): subs[r.subscription_id]
            for i, at in zip(ids, nows, strict=True)
            for r in rows[i]
            if r.subscription_id in subs
        }
        keys = list(wanted)
        sub_json = dict(
            zip(
                keys,
                subscription_payloads(session, list(wanted.values()), now=[at for _, at in keys]),
                strict=True,
            )
        )
        for payload, invoice, at in zip(payloads, invoices, nows, strict=True):
            payload["subscriptions"] = [
                sub_json[(r.subscription_id, at)]
                for r in rows[invoice.id]
                if (r.subscription_id, at) in sub_json
            ]
    if "billing_periods" in includes:
        for payload, invoice in zip(payloads, invoices, strict=True):
            payload["billing_periods"] = [
                billing_period_payload(r, subs.get(r.subscription_id)) for r in rows[invoice.id]
            ]
    if "fees" in includes:
        fees = session.scalars(
            select(Fee)
            .where(Fee.invoice_id.in_(ids), Fee.deleted_at.is_(None))
            .order_by(Fee.created_at, Fee.id)
        ).all()
        fee_json = fee_payloads(session, fees, with_taxes=False)
        by_invoice: dict[uuid.UUID, list[dict[str, Any]]] = {i: [] for i in ids}
        for fee, data in zip(fees, fee_json, strict=True):
            assert fee.invoice_id is not None
            by_invoice[fee.invoice_id].append(data)
        for payload, invoice in zip(payloads, invoices, strict=True):
            payload["fees"] = by_invoice[invoice.id]
    if "credits" in includes:
        credits = invoice_credits(session, ids)
        every = [c for i in ids for c in credits[i]]
        credit_json = dict(zip([c.id for c in every], credit_payloads(session, every), strict=True))
        for payload, invoice in zip(payloads, invoices, strict=True):
            payload["credits"] = [credit_json[c.id] for c in credits[invoice.id]]
    if "metadata" in includes:
        meta = session.scalars(
            select(InvoiceMetadata)
            .where(InvoiceMetadata.invoice_id.in_(ids))
            .order_by(InvoiceMetadata.created_at, InvoiceMetadata.id)
        ).all()
        by_meta = _grouped(meta, "invoice_id", ids)
        for payload, invoice in zip(payloads, invoices, strict=True):
            payload["metadata"] = [metadata_payload(m) for m in by_meta[invoice.id]]
    if "applied_taxes" in includes:
        taxes = session.scalars(
            select(InvoiceAppliedTax)
            .where(InvoiceAppliedTax.invoice_id.in_(ids))
            .order_by(InvoiceAppliedTax.created_at, InvoiceAppliedTax.id)
        ).all()
        by_tax = _grouped(taxes, "invoice_id", ids)
        for payload, invoice in zip(payloads, invoices, strict=True):
            payload["applied_taxes"] = [applied_tax_payload(t) for t in by_tax[invoice.id]]
    for name in ("error_details", "applied_invoice_custom_sections"):
        if name in includes:
            for payload in payloads:
                payload[name] = []
    progressive = [i.id for i in invoices if i.invoice_type == "progressive_billing"]
    applied = applied_usage_threshold_payloads(session, progressive)
    for payload, invoice in zip(payloads, invoices, strict=True):
        if invoice.invoice_type == "progressive_billing":
            payload["applied_usage_thresholds"] = applied[invoice.id]
    return payloads


def invoice_payload(
    session: Session, invoice: Invoice, *, includes: Collection[str] = DETAIL, now: datetime
) -> dict[str, Any]:
    return invoice_payloads(session, [invoice], includes=includes, now=now)[0]


def invoice_created_webhook_payload(session: Session, event: InvoiceEvent) -> dict[str, Any]:
    return invoice_payload(session, event.invoice, includes=CREATED_WEBHOOK, now=event.at)


def invoice_created_webhook_payloads(
    session: Session, events: Sequence[InvoiceEvent]
) -> list[dict[str, Any]]:
    """:func:`invoice_created_webhook_payload` of many invoices of one organization at once."""
    return invoice_payloads(
        session, [e.invoice for e in events], includes=CREATED_WEBHOOK, now=[e.at for e in events]
    )


def invoice_drafted_webhook_payload(session: Session, event: InvoiceEvent) -> dict[str, Any]:
    return invoice_payload(session, event.invoice, includes=DRAFTED_WEBHOOK, now=event.at)


def invoice_payment_status_webhook_payload(session: Session, event: InvoiceEvent) -> dict[str, Any]:
    return invoice_payload(session, event.invoice, includes=PAYMENT_STATUS_WEBHOOK, now=event.at)
