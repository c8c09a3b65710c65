"""Credit notes in Lago's shape (``CreditNoteObject`` / ``CreditNoteExtendedObject``).

The API answers with the customer (and its ``integration_customers``), items (each with its fee,
without the fee's taxes), applied taxes and error details; ``credit_note.created`` carries the
customer, items and applied taxes. ``metadata`` appears once the note has some.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billow.billing.fee_serializers import fee_payloads
from billow.billing.math import CreditNoteEstimate
from billow.billing.models import Fee, Invoice
from billow.core.money import decimal_str
from billow.core.timefmt import iso_date, iso_z
from billow.credit_notes.models import CreditNote, CreditNoteAppliedTax, CreditNoteItem
from billow.customers.billing_entities import billing_entities_by_id
from billow.customers.models import Customer
from billow.customers.serializers import customer_payloads
from billow.pricing.taxes.serializers import rate_number

API: frozenset[str] = frozenset(
    {"customer", "integration_customers", "items", "applied_taxes", "error_details"}
)
WEBHOOK: frozenset[str] = frozenset({"customer", "items", "applied_taxes"})


def _base(note: CreditNote, invoice: Invoice, entity_code: str, items_precise: Decimal) -> dict[str, Any]:
    precise_total = (
        items_precise - note.precise_coupons_adjustment_amount_cents + note.precise_taxes_amount_cents
    )
    return {
        "lago_id": str(note.id),
        "billing_entity_code": entity_code,
        "sequential_id": note.sequential_id,
        "number": note.number,
        "lago_invoice_id": str(note.invoice_id),
        "invoice_number": invoice.number,
        "issuing_date": iso_date(note.issuing_date),
        "credit_status": note.credit_status,
        "refund_status": note.refund_status,
        "reason": note.reason,
        "description": note.description,
        "currency": note.currency,
        "total_amount_cents": note.total_amount_cents,
        "precise_total_amount_cents": decimal_str(precise_total),
        "taxes_amount_cents": note.taxes_amount_cents,
        "precise_taxes_amount_cents": decimal_str(note.precise_taxes_amount_cents),
        "sub_total_excluding_taxes_amount_cents": note.sub_total_excluding_taxes_amount_cents,
        "balance_amount_cents": note.balance_amount_cents,
        "credit_amount_cents": note.credit_amount_cents,
        "refund_amount_cents": note.refund_amount_cents,
        "offset_amount_cents": note.offset_amount_cents,
        "coupons_adjustment_amount_cents": note.coupons_adjustment_amount_cents,
        "taxes_rate": rate_number(note.taxes_rate),
        "created_at": iso_z(note.created_at),
        "updated_at": iso_z(note.updated_at),
        "file_url": None,
        "xml_url": None,
        "self_billed": invoice.self_billed,
    }


def applied_tax_payload(row: CreditNoteAppliedTax) -> dict[str, Any]:
    return {
        "lago_id": str(row.id),
        "lago_credit_note_id": str(row.credit_note_id),
        "lago_tax_id": str(row.tax_id) if row.tax_id else None,
        "tax_name": row.tax_name,
        "tax_code": row.tax_code,
        "tax_rate": rate_number(row.tax_rate),
        "tax_description": row.tax_description,
        "base_amount_cents": row.base_amount_cents,
        "amount_cents": row.amount_cents,
        "amount_currency": row.amount_currency,
        "created_at": iso_z(row.created_at),
    }


def _items(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[CreditNoteItem]]:
    grouped: dict[uuid.UUID, list[CreditNoteItem]] = {i: [] for i in ids}
    rows = session.scalars(
        select(CreditNoteItem)
        .where(CreditNoteItem.credit_note_id.in_(ids))
        .order_by(CreditNoteItem.created_at, CreditNoteItem.id)
    )
    for row in rows:
        grouped[row.credit_note_id].append(row)
    return grouped


def _item_payloads(session: Session, items: Sequence[CreditNoteItem]) -> dict[uuid.UUID, dict[str, Any]]:
    fee_ids = {i.fee_id for i in items if i.fee_id is not None}
    fees = list(session.scalars(select(Fee).where(Fee.id.in_(fee_ids)).order_by(Fee.created_at, Fee.id)))
    fee_json = dict(zip([f.id for f in fees], fee_payloads(session, fees, with_taxes=False), strict=True))
    return {
        item.id: {
            "lago_id": str(item.id),
            "amount_cents": item.amount_cents,
            "precise_amount_cents": decimal_str(item.precise_amount_cents),
            "amount_currency": item.amount_currency,
            "fee": fee_json.get(item.fee_id) if item.fee_id is not None else None,
        }
        for item in items
    }


def credit_note_payloads(
    session: Session, notes: Sequence[CreditNote], *, includes: Collection[str] = API
) -> list[dict[str, Any]]:
    """Many notes of one organization, their related rows loaded together."""
    if not notes:
        return []
    ids = [n.id for n in notes]
    invoices = {
        i.id: i for i in session.scalars(select(Invoice).where(Invoice.id.in_({n.invoice_id for n in notes})))
    }
    org_id = notes[0].organization_id
    entities = billing_entities_by_id(session, org_id, {i.billing_entity_id for i in invoices.values()})
    items = _items(session, ids)
    payloads = []
    for note in notes:
        invoice = invoices[note.invoice_id]
        precise = sum((i.precise_amount_cents for i in items[note.id]), Decimal(0))
        payloads.append(_base(note, invoice, entities[invoice.billing_entity_id].code, precise))
    if "customer" in includes:
        customers = list(
            session.scalars(select(Customer).where(Customer.id.in_({n.customer_id for n in notes})))
        )
        nested = frozenset({"integration_customers"} & set(includes))
        by_id = dict(
            zip(
                [c.id for c in customers], customer_payloads(session, customers, includes=nested), strict=True
            )
        )
        for payload, note in zip(payloads, notes, strict=True):
            payload["customer"] = by_id.get(note.customer_id)
    if "items" in includes:
        item_json = _item_payloads(session, [i for group in items.values() for i in group])
        for payload, note in zip(payloads, notes, strict=True):
            payload["items"] = [item_json[i.id] for i in items[note.id]]
    if "applied_taxes" in includes:
        taxes: dict[uuid.UUID, list[dict[str, Any]]] = {i: [] for i in ids}
        for row in session.scalars(
            select(CreditNoteAppliedTax)
            .where(CreditNoteAppliedTax.credit_note_id.in_(ids))
            .order_by(CreditNoteAppliedTax.created_at, CreditNoteAppliedTax.id)
        ):
            taxes[row.credit_note_id].append(applied_tax_payload(row))
        for payload, note in zip(payloads, notes, strict=True):
            payload["applied_taxes"] = taxes[note.id]
    if "error_details" in includes:
        for payload in payloads:
            payload["error_details"] = []
    for payload, note in zip(payloads, notes, strict=True):
        if note.metadata_value is not None:
            payload["metadata"] = dict(note.metadata_value)
    return payloads


def credit_note_payload(
    session: Session, note: CreditNote, *, includes: Collection[str] = API
) -> dict[str, Any]:
    return credit_note_payloads(session, [note], includes=includes)[0]


def credit_note_created_webhook_payload(session: Session, note: CreditNote) -> dict[str, Any]:
    return credit_note_payload(session, note, includes=WEBHOOK)


def estimate_payload(
    invoice: Invoice,
    estimate: CreditNoteEstimate,
    items: Sequence[tuple[uuid.UUID, int]],
    max_offsettable_amount_cents: int,
    descriptions: Mapping[str, str | None],
) -> dict[str, Any]:
    """``estimated_credit_note`` (applied taxes without ids, as Lago's estimate serializer)."""
    return {
        "lago_invoice_id": str(invoice.id),
        "invoice_number": invoice.number,
        "currency": invoice.currency,
        "taxes_amount_cents": estimate.taxes_amount_cents,
        "precise_taxes_amount_cents": decimal_str(estimate.precise_taxes_amount_cents),
        "sub_total_excluding_taxes_amount_cents": estimate.sub_total_excluding_taxes_amount_cents,
        "max_creditable_amount_cents": estimate.max_creditable_amount_cents,
        "max_refundable_amount_cents": estimate.max_refundable_amount_cents,
        "max_offsettable_amount_cents": max_offsettable_amount_cents,
        "coupons_adjustment_amount_cents": estimate.coupons_adjustment_amount_cents,
        "precise_coupons_adjustment_amount_cents": decimal_str(
            estimate.precise_coupons_adjustment_amount_cents
        ),
        "taxes_rate": rate_number(estimate.taxes_rate),
        "items": [{"lago_fee_id": str(fee_id), "amount_cents": amount} for fee_id, amount in items],
        "applied_taxes": [
            {
                "lago_tax_id": tax.tax.tax_id,
                "tax_name": tax.tax.name,
                "tax_code": tax.tax.code,
                "tax_rate": rate_number(tax.tax.rate),
                "tax_description": descriptions.get(tax.tax.code),
                "base_amount_cents": tax.base_amount_cents,
                "amount_cents": tax.amount_cents,
                "amount_currency": invoice.currency,
            }
            for tax in estimate.applied_taxes
        ],
    }
