"""A subscription's billing history, as the fee rules of one invoice need it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, func, or_, select, true

from billow.billing.models import Fee, Invoice, InvoiceSubscription
from billow.db.context import Ctx


@dataclass(frozen=True)
class InvoiceFacts:
    """The invoice being computed: its id, creation time, billing timestamp and options."""

    invoice_id: uuid.UUID | None
    created_at: datetime
    timestamp: datetime
    skip_charges: bool = False
    voided_invoice_id: uuid.UUID | None = None


@dataclass(frozen=True)
class SubscriptionHistory:
    invoice_count: int
    """Non-deleted invoices holding the subscription (this one included)."""
    invoice_subscription_count: int
    last_is_starting: bool
    """The subscription's latest invoice-subscription is a ``subscription_starting`` one."""
    has_earlier_subscription_fee: bool
    """A subscription fee of the subscription was created before this invoice."""
    ever_billed_subscription_fee: bool
    subscription_fee_on_day_elsewhere: bool
    """A subscription fee was created on the invoice's local day on another invoice."""
    has_progressive_billing_invoice: bool
    """An invoice of type ``progressive_billing`` (any status) holds the subscription; when not,
    the invoice's progressive-billing credit has nothing to look up."""


def _utc_day(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


# Built once (statement construction is a good part of a query's cost): the values are bound.
_REASONS = (
    select(
        InvoiceSubscription.invoicing_reason,
        Invoice.status,
        Invoice.invoice_type,
        InvoiceSubscription.created_at,
        InvoiceSubscription.id,
    )
    .join(Invoice, Invoice.id == InvoiceSubscription.invoice_id)
    .where(
        InvoiceSubscription.organization_id == bindparam("org"),
        InvoiceSubscription.subscription_id == bindparam("sub"),
    )
    .subquery("reasons")
)


def _history_statement(excluding: bool) -> Select[int, Any, Any]:
    elsewhere = and_(Fee.created_at >= bindparam("day_start"), Fee.created_at < bindparam("day_end"))
    if excluding:
        excluded = Fee.invoice_id.not_in(bindparam("excluded", expanding=True))
        elsewhere = and_(elsewhere, or_(Fee.invoice_id.is_(None), excluded))
    fees = (
        select(
            func.count(Fee.id).label("ever"),
            func.coalesce(func.sum(case((Fee.created_at < bindparam("created_at"), 1), else_=0)), 0).label(
                "earlier"
            ),
            func.coalesce(func.sum(case((elsewhere, 1), else_=0)), 0).label("on_day"),
        )
        .where(
            Fee.organization_id == bindparam("org"),
            Fee.subscription_id == bindparam("sub"),
            Fee.fee_type == "subscription",
            Fee.deleted_at.is_(None),
        )
        .subquery("fees")
    )
    # One round trip: the fee counts (always one row) beside each invoice-subscription of the
    # subscription, in order (none: one row whose reason is NULL).
    return (
        select(
            fees.c.ever,
            fees.c.earlier,
            fees.c.on_day,
            _REASONS.c.invoicing_reason,
            _REASONS.c.status,
            _REASONS.c.invoice_type,
        )
        .select_from(fees.outerjoin(_REASONS, true()))
        .order_by(_REASONS.c.created_at, _REASONS.c.id)
    )


_HISTORY = {excluding: _history_statement(excluding) for excluding in (False, True)}


def load_history(
    ctx: Ctx, subscription_id: uuid.UUID, facts: InvoiceFacts, local_day: date
) -> SubscriptionHistory:
    session = ctx.session
    # Lago compares the fee's creation time with the issuing day as a UTC day.
    day_start, day_end = _utc_day(local_day)
    excluded = [i for i in (facts.invoice_id, facts.voided_invoice_id) if i is not None]
    params: dict[str, object] = {
        "org": ctx.org_id,
        "sub": subscription_id,
        "created_at": facts.created_at,
        "day_start": day_start,
        "day_end": day_end,
    }
    if excluded:
        params["excluded"] = excluded
    result = session.execute(_HISTORY[bool(excluded)], params).all()
    ever, earlier, on_day = result[0][:3]
    rows = [row[3:] for row in result if row[3] is not None]
    invoice_count = sum(1 for _, status, _ in rows if status != "deleted")
    return SubscriptionHistory(
        invoice_count=invoice_count,
        invoice_subscription_count=len(rows),
        last_is_starting=bool(rows) and rows[-1][0] == "subscription_starting",
        has_earlier_subscription_fee=earlier > 0,
        ever_billed_subscription_fee=ever > 0,
        subscription_fee_on_day_elsewhere=on_day > 0,
        has_progressive_billing_invoice=any(kind == "progressive_billing" for _, _, kind in rows),
    )
