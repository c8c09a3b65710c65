"""``GET /invoices`` and ``GET /fees``: Lago's filters and the filtered, paginated queries.

Invoices list only visible statuses (draft, finalized, voided, failed, pending), newest issuing
date first; fees list every fee of the organization, oldest first. Invalid enum values are a 422
with Lago's (dry-validation) messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from billow.billing.models import Fee, Invoice, InvoiceMetadata
from billow.core.errors import ValidationFailed
from billow.core.ids import parse_uuid
from billow.core.pagination import PageParams
from billow.core.timefmt import parse_iso_datetime
from billow.core.validators import escape_like, one_of_message, query_date, query_int
from billow.customers.billing_entities import billing_entity_ids_for_codes
from billow.customers.models import Customer
from billow.customers.queries import customer_ids_like
from billow.db.context import Ctx
from billow.db.pages import page_of
from billow.metering.models import BillableMetric
from billow.subscriptions.models import Subscription

VISIBLE_STATUSES = ("draft", "finalized", "voided", "failed", "pending")
PAYMENT_STATUSES = ("pending", "succeeded", "failed")
INVOICE_TYPES = ("subscription", "add_on", "credit", "one_off", "advance_charges", "progressive_billing")
FEE_TYPES = ("charge", "add_on", "subscription", "credit", "commitment", "fixed_charge")
FEE_PAYMENT_STATUSES = ("pending", "succeeded", "failed", "refunded")
_BOOLEANS = ("true", "false")
_METADATA = re.compile(r"^metadata\[([^\]]*)\]$")


@dataclass
class InvoiceFilters:
    external_customer_id: str | None = None
    statuses: list[str] = field(default_factory=list)
    payment_statuses: list[str] = field(default_factory=list)
    invoice_type: str | None = None
    currency: str | None = None
    issuing_date_from: date | None = None
    issuing_date_to: date | None = None
    amount_from: int | None = None
    amount_to: int | None = None
    payment_overdue: bool | None = None
    payment_dispute_lost: bool | None = None
    self_billed: bool | None = None
    search_term: str | None = None
    billing_entity_codes: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)


def _check_enum(details: dict[str, Any], name: str, values: list[str], allowed: tuple[str, ...]) -> None:
    if len(values) == 1 and values[0] not in allowed:
        details[name] = [one_of_message(allowed)]
        return
    bad = {str(i): [one_of_message(allowed)] for i, v in enumerate(values) if v not in allowed}
    if bad and len(values) > 1:
        details[name] = bad


def parse_invoice_filters(items: Iterable[tuple[str, str]]) -> InvoiceFilters:
    f = InvoiceFilters()
    details: dict[str, Any] = {}
    booleans: dict[str, str] = {}
    for key, value in items:
        if key in ("external_customer_id", "customer_external_id"):
            f.external_customer_id = f.external_customer_id or value
        elif key in ("status", "statuses[]"):
            f.statuses.append(value)
        elif key in ("payment_status", "payment_statuses[]"):
            f.payment_statuses.append(value)
        elif key == "invoice_type":
            f.invoice_type = value
        elif key == "currency":
            f.currency = value
        elif key in ("issuing_date_from", "issuing_date_to"):
            setattr(f, key, query_date(value))
        elif key in ("amount_from", "amount_to"):
            setattr(f, key, query_int(value))
        elif key in ("payment_overdue", "payment_dispute_lost", "self_billed"):
            booleans[key] = value
        elif key == "search_term":
            f.search_term = value or None
        elif key == "billing_entity_codes[]":
            f.billing_entity_codes.append(value)
        elif (match := _METADATA.match(key)) is not None:
            f.metadata[match.group(1)] = value
    _check_enum(details, "status", f.statuses, VISIBLE_STATUSES)
    _check_enum(details, "payment_status", f.payment_statuses, PAYMENT_STATUSES)
    for key, value in booleans.items():
        if value not in _BOOLEANS:
            details[key] = ["must be boolean"]
        else:
            setattr(f, key, value == "true")
    if details:
        raise ValidationFailed(details)
    return f


def _search(ctx: Ctx, stmt: Select[Any], term: str, by_customer: bool) -> Select[Any]:
    like = f"%{escape_like(term.lower())}%"
    conditions: list[ColumnElement[bool]] = [func.lower(Invoice.number).like(like, escape="\\")]
    parsed = parse_uuid(term)
    if parsed is not None:
        conditions.append(Invoice.id == parsed)
    if by_customer:
        conditions.append(Invoice.customer_id.in_(customer_ids_like(ctx, like)))
    return stmt.where(or_(*conditions))


def _with_metadata(stmt: Select[Any], metadata: dict[str, str]) -> Select[Any]:
    for key, value in metadata.items():
        exists = select(InvoiceMetadata.id).where(
            InvoiceMetadata.invoice_id == Invoice.id, InvoiceMetadata.key == key
        )
        if value:
            stmt = stmt.where(exists.where(InvoiceMetadata.value == value).exists())
        else:
            stmt = stmt.where(~exists.exists())
    return stmt


def list_invoices(ctx: Ctx, f: InvoiceFilters, page: PageParams) -> tuple[list[Invoice], int]:
    statuses = f.statuses or list(VISIBLE_STATUSES)
    stmt = select(Invoice).where(Invoice.organization_id == ctx.org_id, Invoice.status.in_(statuses))
    if f.external_customer_id is not None:
        stmt = stmt.join(Customer, Customer.id == Invoice.customer_id).where(
            Customer.external_id == f.external_customer_id, Customer.organization_id == ctx.org_id
        )
    if f.billing_entity_codes:
        ids = billing_entity_ids_for_codes(ctx, f.billing_entity_codes)
        stmt = stmt.where(Invoice.billing_entity_id.in_(ids))
    if f.payment_statuses:
        stmt = stmt.where(Invoice.payment_status.in_(f.payment_statuses))
    if f.invoice_type:
        stmt = stmt.where(Invoice.invoice_type == f.invoice_type)
    if f.currency:
        stmt = stmt.where(Invoice.currency == f.currency)
    if f.issuing_date_from is not None:
        stmt = stmt.where(Invoice.issuing_date >= f.issuing_date_from)
    if f.issuing_date_to is not None:
        stmt = stmt.where(Invoice.issuing_date <= f.issuing_date_to)
    if f.amount_from is not None:
        stmt = stmt.where(Invoice.total_amount_cents >= f.amount_from)
    if f.amount_to is not None:
        stmt = stmt.where(Invoice.total_amount_cents <= f.amount_to)
    if f.payment_overdue is not None:
        stmt = stmt.where(Invoice.payment_overdue == f.payment_overdue)
    if f.self_billed is not None:
        stmt = stmt.where(Invoice.self_billed == f.self_billed)
    if f.payment_dispute_lost is not None:
        column = Invoice.payment_dispute_lost_at
        stmt = stmt.where(column.is_not(None) if f.payment_dispute_lost else column.is_(None))
    if f.search_term:
        stmt = _search(ctx, stmt, f.search_term, by_customer=f.external_customer_id is None)
    if f.metadata:
        stmt = _with_metadata(stmt, f.metadata)
    return page_of(
        ctx.session, stmt, page, Invoice.issuing_date.desc(), Invoice.created_at.desc(), Invoice.id.desc()
    )


# --------------------------------------------------------------------------------------- fees


@dataclass
class FeeFilters:
    external_customer_id: str | None = None
    external_subscription_id: str | None = None
    currency: str | None = None
    fee_type: str | None = None
    billable_metric_code: str | None = None
    payment_status: str | None = None
    event_transaction_id: str | None = None
    ranges: dict[str, datetime] = field(default_factory=dict)


_RANGES = ("created_at", "succeeded_at", "failed_at", "refunded_at")


def parse_fee_filters(items: Iterable[tuple[str, str]]) -> FeeFilters:
    f = FeeFilters()
    details: dict[str, Any] = {}
    for key, value in items:
        if key in (
            "external_customer_id",
            "external_subscription_id",
            "currency",
            "fee_type",
            "billable_metric_code",
            "payment_status",
            "event_transaction_id",
        ):
            setattr(f, key, value)
        elif key.endswith(("_from", "_to")) and key.rsplit("_", 1)[0] in _RANGES:
            try:
                f.ranges[key] = parse_iso_datetime(value)
            except ValueError:
                details[key] = ["invalid_datetime"]
    if f.fee_type is not None and f.fee_type not in FEE_TYPES:
        details["fee_type"] = ["value_is_invalid"]
    if f.payment_status is not None and f.payment_status not in FEE_PAYMENT_STATUSES:
        details["payment_status"] = ["value_is_invalid"]
    if details:
        raise ValidationFailed(details)
    return f


def list_fees(ctx: Ctx, f: FeeFilters, page: PageParams) -> tuple[list[Fee], int]:
    stmt = select(Fee).where(Fee.organization_id == ctx.org_id, Fee.deleted_at.is_(None))
    if f.external_customer_id is not None:
        stmt = stmt.join(Customer, Customer.id == Fee.customer_id).where(
            Customer.external_id == f.external_customer_id, Customer.organization_id == ctx.org_id
        )
    if f.external_subscription_id is not None:
        stmt = stmt.join(Subscription, Subscription.id == Fee.subscription_id).where(
            Subscription.external_id == f.external_subscription_id, Subscription.organization_id == ctx.org_id
        )
    if f.currency:
        stmt = stmt.where(Fee.amount_currency == f.currency.upper())
    if f.billable_metric_code:
        metric_ids = select(BillableMetric.id).where(
            BillableMetric.organization_id == ctx.org_id, BillableMetric.code == f.billable_metric_code
        )
        stmt = stmt.where(and_(Fee.fee_type == "charge", Fee.billable_metric_id.in_(metric_ids)))
    if f.fee_type:
        stmt = stmt.where(Fee.fee_type == f.fee_type)
    if f.payment_status:
        stmt = stmt.where(Fee.payment_status == f.payment_status)
    if f.event_transaction_id:
        stmt = stmt.where(Fee.pay_in_advance_event_transaction_id == f.event_transaction_id)
    for key, value in f.ranges.items():
        column = getattr(Fee, key.rsplit("_", 1)[0])
        stmt = stmt.where(column >= value if key.endswith("_from") else column <= value)
    return page_of(ctx.session, stmt, page, Fee.created_at, Fee.id)
