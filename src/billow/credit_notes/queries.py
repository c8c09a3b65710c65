"""``GET /credit_notes`` and ``GET /customers/{id}/credit_notes``: Lago's ``CreditNotesQuery``.

Finalized notes only, newest first. Filters: ``external_customer_id``, ``issuing_date_from/to``
(ignored when not a date), ``amount_from/to`` (total), ``credit_status``, ``refund_status``,
``reason`` and ``types[]`` (``credit``/``refund``/``offset``; unknown values are ignored, as
Lago does), ``currency``, ``invoice_number``, ``self_billed``, ``billing_entity_codes[]`` (404
when one is unknown) and ``search_term`` (the note's number, or its id exactly, and — unless the list is one
customer's — the customer's name, first and last names, external id and email).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select

from billow.billing.models import Invoice
from billow.core.ids import parse_uuid
from billow.core.pagination import PageParams
from billow.core.validators import escape_like, query_date, query_int
from billow.credit_notes.models import CREDIT_STATUSES, REASONS, REFUND_STATUSES, CreditNote
from billow.customers.billing_entities import billing_entity_ids_for_codes
from billow.customers.models import Customer
from billow.customers.queries import customer_ids_like
from billow.db.context import Ctx
from billow.db.pages import page_of

TYPES = ("credit", "refund", "offset")


@dataclass
class CreditNoteFilters:
    external_customer_id: str | None = None
    customer_scoped: bool = False
    issuing_date_from: date | None = None
    issuing_date_to: date | None = None
    amount_from: int | None = None
    amount_to: int | None = None
    credit_statuses: list[str] = field(default_factory=list)
    refund_statuses: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    currency: str | None = None
    invoice_number: str | None = None
    self_billed: bool | None = None
    search_term: str | None = None
    billing_entity_codes: list[str] = field(default_factory=list)


def parse_filters(items: Iterable[tuple[str, str]]) -> CreditNoteFilters:
    f = CreditNoteFilters()
    for key, value in items:
        if key == "external_customer_id":
            f.external_customer_id = f.external_customer_id or value or None
        elif key in ("issuing_date_from", "issuing_date_to"):
            setattr(f, key, query_date(value))
        elif key in ("amount_from", "amount_to"):
            setattr(f, key, query_int(value))
        elif key in ("credit_status", "credit_status[]") and value in CREDIT_STATUSES:
            f.credit_statuses.append(value)
        elif key in ("refund_status", "refund_status[]") and value in REFUND_STATUSES:
            f.refund_statuses.append(value)
        elif key in ("reason", "reason[]") and value in REASONS:
            f.reasons.append(value)
        elif key in ("types", "types[]") and value in TYPES:
            f.types.append(value)
        elif key == "currency":
            f.currency = value or None
        elif key == "invoice_number":
            f.invoice_number = value or None
        elif key == "self_billed" and value in ("true", "false"):
            f.self_billed = value == "true"
        elif key == "search_term":
            f.search_term = value or None
        elif key == "billing_entity_codes[]":
            f.billing_entity_codes.append(value)
    return f


def _search(ctx: Ctx, stmt: Select[Any], f: CreditNoteFilters) -> Select[Any]:
    assert f.search_term is not None
    like = f"%{escape_like(f.search_term.lower())}%"
    conditions: list[ColumnElement[bool]] = [func.lower(CreditNote.number).like(like, escape="\\")]
    parsed = parse_uuid(f.search_term)
    if parsed is not None:
        conditions.append(CreditNote.id == parsed)
    if not f.customer_scoped:
        conditions.append(CreditNote.customer_id.in_(customer_ids_like(ctx, like)))
    return stmt.where(or_(*conditions))


def _types(f: CreditNoteFilters) -> ColumnElement[bool]:
    columns = {
        "credit": CreditNote.credit_amount_cents,
        "refund": CreditNote.refund_amount_cents,
        "offset": CreditNote.offset_amount_cents,
    }
    return or_(*(columns[t] > 0 for t in dict.fromkeys(f.types)))


def _invoices(ctx: Ctx) -> Select[Any]:
    return select(Invoice.id).where(Invoice.organization_id == ctx.org_id)


def list_credit_notes(ctx: Ctx, f: CreditNoteFilters, page: PageParams) -> tuple[list[CreditNote], int]:
    stmt = select(CreditNote).where(
        CreditNote.organization_id == ctx.org_id, CreditNote.status == "finalized"
    )
    if f.billing_entity_codes:
        ids = billing_entity_ids_for_codes(ctx, f.billing_entity_codes)
        stmt = stmt.where(CreditNote.invoice_id.in_(_invoices(ctx).where(Invoice.billing_entity_id.in_(ids))))
    if f.external_customer_id is not None:
        customers = select(Customer.id).where(
            Customer.organization_id == ctx.org_id, Customer.external_id == f.external_customer_id
        )
        stmt = stmt.where(CreditNote.customer_id.in_(customers))
    if f.currency:
        stmt = stmt.where(CreditNote.currency == f.currency)
    if f.reasons:
        stmt = stmt.where(CreditNote.reason.in_(f.reasons))
    if f.credit_statuses:
        stmt = stmt.where(CreditNote.credit_status.in_(f.credit_statuses))
    if f.refund_statuses:
        stmt = stmt.where(CreditNote.refund_status.in_(f.refund_statuses))
    if f.types:
        stmt = stmt.where(_types(f))
    if f.invoice_number:
        stmt = stmt.where(CreditNote.invoice_id.in_(_invoices(ctx).where(Invoice.number == f.invoice_number)))
    if f.issuing_date_from is not None:
        stmt = stmt.where(CreditNote.issuing_date >= f.issuing_date_from)
    if f.issuing_date_to is not None:
        stmt = stmt.where(CreditNote.issuing_date <= f.issuing_date_to)
    if f.amount_from is not None:
        stmt = stmt.where(CreditNote.total_amount_cents >= f.amount_from)
    if f.amount_to is not None:
        stmt = stmt.where(CreditNote.total_amount_cents <= f.amount_to)
    if f.self_billed is not None:
        stmt = stmt.where(
            CreditNote.invoice_id.in_(_invoices(ctx).where(Invoice.self_billed == f.self_billed))
        )
    if f.search_term:
        stmt = _search(ctx, stmt, f)
    return page_of(ctx.session, stmt, page, CreditNote.created_at.desc(), CreditNote.id)
