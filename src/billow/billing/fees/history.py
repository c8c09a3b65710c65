"""A subscription's billing history, as the fee rules of one invoice need it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Select, and_, bindparam, case, func, or_, select, true

from billow.billing.models import Fee, Invoice, InvoiceSubscription
from billow.db.context import Ctx
from billow.db.one_of import one_of
from billow.db.prefetch import MISSING, take


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


def _reasons(*leading: Any, subscriptions: Any) -> Select[Any]:
    """The invoice-subscriptions of ``subscriptions`` (a condition on their subscription id):
    ``leading`` columns, then reason, invoice status, invoice type, creation time and id — the
    rows the history is computed from, by its statement or from prefetched rows."""
    return (
        select(
            *leading,
            InvoiceSubscription.invoicing_reason,
            Invoice.status,
            Invoice.invoice_type,
            InvoiceSubscription.created_at,
            InvoiceSubscription.id,
        )
        .join(Invoice, Invoice.id == InvoiceSubscription.invoice_id)
        .where(InvoiceSubscription.organization_id == bindparam("org"), subscriptions)
    )


# Built once (statement construction is a good part of a query's cost): the values are bound.
_REASONS = _reasons(subscriptions=InvoiceSubscription.subscription_id == bindparam("sub")).subquery("reasons")


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


PREFETCHED_HISTORY = "billing.subscription_history"


@dataclass
class HistoryRows:
    """What the history statement reads of one subscription, as rows (prefetched for a group of
    billing jobs): its live subscription fees (creation time, invoice) and its
    invoice-subscriptions (reason, invoice status, invoice type, creation time, id)."""

    fees: list[tuple[datetime, uuid.UUID | None]] = field(default_factory=list)
    reasons: list[tuple[str, str, str, datetime, uuid.UUID]] = field(default_factory=list)


_PREFETCH_FEES = select(Fee.subscription_id, Fee.created_at, Fee.invoice_id).where(
    Fee.organization_id == bindparam("org"),
    one_of(Fee.subscription_id, key="subs"),
    Fee.fee_type == "subscription",
    Fee.deleted_at.is_(None),
)
_PREFETCH_REASONS = _reasons(
    InvoiceSubscription.subscription_id,
    subscriptions=one_of(InvoiceSubscription.subscription_id, key="subs"),
)


def prefetch_histories(ctx: Ctx, subscription_ids: Sequence[uuid.UUID]) -> None:
    """For a group of billing jobs: the history rows of every subscription of
    ``subscription_ids``, in two statements, for :func:`load_history` to take instead of its
    own. The invoice a job creates joins its subscriptions' rows when it claims their periods
    (:func:`note_claimed`), as it would be read after that."""
    if ctx.prefetched is None or not subscription_ids:
        return
    found = {sub_id: HistoryRows() for sub_id in subscription_ids}
    params = {"org": ctx.org_id, "subs": list(found)}
    for fee_sub_id, created_at, invoice_id in ctx.session.execute(_PREFETCH_FEES, params):
        found[cast(uuid.UUID, fee_sub_id)].fees.append((created_at, invoice_id))
    for sub_id, *reason in ctx.session.execute(_PREFETCH_REASONS, params):
        found[sub_id].reasons.append(tuple(reason))
    for sub_id, rows in found.items():
        ctx.prefetched.put(PREFETCHED_HISTORY, sub_id, rows)


def note_claimed(ctx: Ctx, invoice: Invoice, rows: Sequence[InvoiceSubscription]) -> None:
    """``invoice`` now holds ``rows`` (just written): a prefetched history of their
    subscriptions gains them, as the history statement would read them."""
    if ctx.prefetched is None:
        return
    for row in rows:
        history = ctx.prefetched.peek(PREFETCHED_HISTORY, row.subscription_id)
        if history is not MISSING:
            history.reasons.append(
                (row.invoicing_reason, invoice.status, invoice.invoice_type, row.created_at, row.id)
            )


def _from_rows(
    rows: HistoryRows, facts: InvoiceFacts, day_start: datetime, day_end: datetime
) -> SubscriptionHistory:
    """What the history statement answers, computed from its rows."""
    excluded = {i for i in (facts.invoice_id, facts.voided_invoice_id) if i is not None}
    on_day = sum(
        1
        for created_at, invoice_id in rows.fees
        if day_start <= created_at < day_end and (invoice_id is None or invoice_id not in excluded)
    )
    reasons = sorted(rows.reasons, key=lambda r: (r[3], r[4]))
    return _history(
        ever=len(rows.fees),
        earlier=sum(1 for created_at, _ in rows.fees if created_at < facts.created_at),
        on_day=on_day,
        rows=[(reason, status, kind) for reason, status, kind, _, _ in reasons],
    )


def _history(
    *, ever: int, earlier: int, on_day: int, rows: list[tuple[str, str, str]]
) -> SubscriptionHistory:
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


def load_history(
    ctx: Ctx, subscription_id: uuid.UUID, facts: InvoiceFacts, local_day: date
) -> SubscriptionHistory:
    session = ctx.session
    # Lago compares the fee's creation time with the issuing day as a UTC day.
    day_start, day_end = _utc_day(local_day)
    prefetched = take(ctx, PREFETCHED_HISTORY, subscription_id)
    if prefetched is not MISSING:
        return _from_rows(prefetched, facts, day_start, day_end)
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
    rows = [tuple(row[3:]) for row in result if row[3] is not None]
    return _history(ever=ever, earlier=earlier, on_day=on_day, rows=rows)
