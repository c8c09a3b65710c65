"""Past usage (metering.md §4.3; Lago's ``PastUsageQuery``).

One period per invoice-subscription of the customer's subscriptions with that external id that
has usage bounds, newest ``charges_from`` first: the invoice's ``fees_amount_cents``, the sum of
its fees' taxes, and ``charges_usage`` over its charge fees of those subscriptions (of one
billable metric when ``billable_metric_code`` is given). Invoices still being generated and
deleted drafts are left out.

Pagination is Lago's (kaminari): ``page``/``per_page`` place the window, ``periods_count`` (when
positive) replaces the page size; ``meta`` counts every period.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billow.billing.models import Fee, Invoice, InvoiceSubscription
from billow.billing.usage.serializers import Catalog, ChargesUsage
from billow.core.errors import NotFound, ValidationFailed
from billow.core.pagination import PageParams
from billow.core.timefmt import iso_date, iso_z
from billow.customers.models import Customer
from billow.db.context import Ctx
from billow.metering.models import BillableMetric
from billow.pricing.plans.models import Charge, ChargeFilter
from billow.subscriptions.models import Subscription

HIDDEN_STATUSES = ("generating", "deleted")


@dataclass(frozen=True)
class PastUsagePage:
    periods: list[dict[str, Any]]
    meta: dict[str, Any]


def _leading_int(raw: str | None) -> int | None:
    """Ruby's ``to_i``: the leading digits (``None`` when absent)."""
    if raw is None or raw == "":
        return None
    digits = ""
    for char in raw.strip():
        if not char.isdigit():
            break
        digits += char
    return int(digits) if digits else 0


def _meta(offset: int, limit: int, total: int) -> dict[str, Any]:
    if total == 0:
        return {"current_page": 0, "next_page": None, "prev_page": None, "total_pages": 0, "total_count": 0}
    current = offset // limit + 1
    pages = -(-total // limit)
    return {
        "current_page": current,
        "next_page": current + 1 if current < pages else None,
        "prev_page": current - 1 if current > 1 else None,
        "total_pages": pages,
        "total_count": total,
    }


def _catalog(session: Session, fees: Sequence[Fee]) -> Catalog:
    charge_ids = {f.charge_id for f in fees if f.charge_id is not None}
    charges = {c.id: c for c in session.scalars(select(Charge).where(Charge.id.in_(charge_ids)))}
    metric_ids = {c.billable_metric_id for c in charges.values()}
    metrics = {
        m.id: m for m in session.scalars(select(BillableMetric).where(BillableMetric.id.in_(metric_ids)))
    }
    filter_ids = {f.charge_filter_id for f in fees if f.charge_filter_id is not None}
    filters = {f.id: f for f in session.scalars(select(ChargeFilter).where(ChargeFilter.id.in_(filter_ids)))}
    live = set(
        session.scalars(
            select(ChargeFilter.charge_id).where(
                ChargeFilter.charge_id.in_(charge_ids), ChargeFilter.deleted_at.is_(None)
            )
        )
    )
    filtered = live | {f.charge_id for f in fees if f.charge_filter_id is not None and f.charge_id}
    return Catalog(charges, metrics, filters, frozenset(filtered))


def past_usage(
    ctx: Ctx,
    external_customer_id: str,
    external_subscription_id: str | None,
    *,
    billable_metric_code: str | None,
    periods_count: str | None,
    page: PageParams,
) -> PastUsagePage:
    """``GET /customers/{external_customer_id}/past_usage``."""
    if not external_subscription_id:
        raise ValidationFailed.field("external_subscription_id", "value_is_mandatory")
    metric_id: uuid.UUID | None = None
    if billable_metric_code:
        metric_id = ctx.session.scalar(
            select(BillableMetric.id).where(
                BillableMetric.organization_id == ctx.org_id,
                BillableMetric.code == billable_metric_code,
                BillableMetric.deleted_at.is_(None),
            )
        )
        if metric_id is None:
            raise NotFound("billable_metric")
    subscription_ids = (
        select(Subscription.id)
        .join(Customer, Customer.id == Subscription.customer_id)
        .where(
            Subscription.organization_id == ctx.org_id,
            Subscription.external_id == external_subscription_id,
            Customer.organization_id == ctx.org_id,
            Customer.external_id == external_customer_id,
            Customer.deleted_at.is_(None),
        )
    )
    periods = (
        select(InvoiceSubscription, Invoice)
        .join(Invoice, Invoice.id == InvoiceSubscription.invoice_id)
        .where(
            InvoiceSubscription.organization_id == ctx.org_id,
            InvoiceSubscription.subscription_id.in_(subscription_ids),
            InvoiceSubscription.charges_from_datetime.is_not(None),
            Invoice.status.not_in(HIDDEN_STATUSES),
        )
    )
    total = int(ctx.session.scalar(select(func.count()).select_from(periods.subquery())) or 0)
    count = _leading_int(periods_count)
    limit = count if count is not None and count > 0 else page.per_page
    rows = ctx.session.execute(
        periods.order_by(
            InvoiceSubscription.charges_from_datetime.desc(),
            InvoiceSubscription.created_at.desc(),
            InvoiceSubscription.id.desc(),
        )
        .offset(page.offset)
        .limit(limit)
    ).all()
    payloads = [_period(ctx, row, invoice, subscription_ids, metric_id) for row, invoice in rows]
    return PastUsagePage(payloads, _meta(page.offset, limit, total))


def _period(
    ctx: Ctx,
    row: InvoiceSubscription,
    invoice: Invoice,
    subscription_ids: Any,
    metric_id: uuid.UUID | None,
) -> dict[str, Any]:
    live_fees = (Fee.invoice_id == invoice.id, Fee.deleted_at.is_(None))
    taxes = int(
        ctx.session.scalar(select(func.coalesce(func.sum(Fee.taxes_amount_cents), 0)).where(*live_fees)) or 0
    )
    query = select(Fee).where(*live_fees, Fee.fee_type == "charge", Fee.subscription_id.in_(subscription_ids))
    if metric_id is not None:
        query = query.where(Fee.billable_metric_id == metric_id)
    fees = list(ctx.session.scalars(query.order_by(Fee.created_at, Fee.id)))
    return {
        "from_datetime": iso_z(row.charges_from_datetime),
        "to_datetime": iso_z(row.charges_to_datetime),
        "issuing_date": iso_date(invoice.issuing_date),
        "currency": invoice.currency,
        "amount_cents": invoice.fees_amount_cents,
        "total_amount_cents": invoice.fees_amount_cents + taxes,
        "taxes_amount_cents": taxes,
        "lago_invoice_id": str(invoice.id),
        "charges_usage": ChargesUsage(_catalog(ctx.session, fees)).payload(fees),
    }
