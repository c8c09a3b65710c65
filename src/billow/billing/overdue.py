"""Overdue payments (billing.md §4.8) and the overdue balance analytics.

* Tick (hourly): every ``finalized`` invoice whose payment is not ``succeeded``, not yet overdue,
  without a lost dispute, and whose ``payment_due_date`` (as midnight UTC) is before the tick
  becomes ``payment_overdue`` and sends ``invoice.payment_overdue``. The flag is set by a
  conditional ``UPDATE … WHERE payment_overdue IS FALSE``: a second tick, or two ticks racing,
  find nothing left to flag, so the webhook is sent once. A payment that succeeds clears the
  flag (``PUT /invoices/{id}``), as voiding does.
* ``GET /analytics/overdue_balance`` (Lago's ``Analytics::OverdueBalance``): the organization's
  overdue, non-self-billed invoices grouped by the month of their due date and their currency,
  each amount ``total − paid − credit-note offsets``, months up to the current one (optionally
  only the last ``months``), filtered by ``currency`` and ``external_customer_id``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select, update

from billow.billing.events import InvoiceEvent
from billow.billing.models import Invoice
from billow.customers.models import Customer
from billow.db.context import Ctx
from billow.jobs.scheduler import TickTask
from billow.webhooks.emitter import emit

UNPAID = ("pending", "failed")


def _due_before(hour: datetime) -> date:
    """``payment_due_date`` at midnight UTC is before ``hour`` ⇔ ``payment_due_date < this``."""
    day = hour.astimezone(UTC).date()
    if hour.astimezone(UTC).timetz().replace(tzinfo=None) == time(0):
        return day
    return date.fromordinal(day.toordinal() + 1)


def mark_overdue_invoices(ctx: Ctx, hour: datetime) -> int:
    """Flag every invoice that fell overdue by ``hour`` (all organizations); returns how many."""
    candidates = ctx.session.execute(
        select(Invoice.id, Invoice.organization_id)
        .where(
            Invoice.status == "finalized",
            Invoice.payment_status.in_(UNPAID),
            Invoice.payment_overdue.is_(False),
            Invoice.payment_dispute_lost_at.is_(None),
            Invoice.payment_due_date < _due_before(hour),
        )
        .order_by(Invoice.organization_id, Invoice.id)
    ).all()
    flagged = 0
    for invoice_id, org_id in candidates:
        octx = replace(ctx, organization_id=org_id)
        result = ctx.session.execute(
            update(Invoice)
            .where(
                Invoice.id == invoice_id,
                Invoice.organization_id == org_id,
                Invoice.status == "finalized",
                Invoice.payment_status.in_(UNPAID),
                Invoice.payment_overdue.is_(False),
            )
            .values(payment_overdue=True, updated_at=ctx.now())
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            continue
        invoice = ctx.session.scalar(
            select(Invoice)
            .where(Invoice.id == invoice_id, Invoice.organization_id == org_id)
            .execution_options(populate_existing=True)
        )
        assert invoice is not None
        emit(octx, "invoice.payment_overdue", InvoiceEvent(invoice, ctx.now()))
        flagged += 1
    return flagged


def _overdue_tick(ctx: Ctx, hour: datetime) -> None:
    mark_overdue_invoices(ctx, hour)


def overdue_tick_task() -> TickTask:
    return TickTask("billing.mark_overdue_invoices", _overdue_tick)


# --------------------------------------------------------------------------- analytics


@dataclass(frozen=True)
class OverdueBalanceFilters:
    currency: str | None = None
    external_customer_id: str | None = None
    months: int | None = None


def parse_overdue_filters(params: dict[str, str]) -> OverdueBalanceFilters:
    months: int | None = None
    raw = params.get("months")
    if raw is not None and raw.strip():
        try:
            months = int(raw)
        except ValueError:
            months = 0
    currency = params.get("currency")
    customer = params.get("external_customer_id")
    return OverdueBalanceFilters(
        currency=currency.upper() if currency and currency.strip() else None,
        external_customer_id=customer if customer and customer.strip() else None,
        months=months,
    )


def _month_start(day: date, back: int = 0) -> date:
    index = day.year * 12 + (day.month - 1) - back
    return date(index // 12, index % 12 + 1, 1)


def overdue_balances(ctx: Ctx, filters: OverdueBalanceFilters) -> list[dict[str, Any]]:
    stmt = (
        select(
            Invoice.id,
            Invoice.currency,
            Invoice.payment_due_date,
            Invoice.total_amount_cents,
            Invoice.total_paid_amount_cents,
            Invoice.total_offsetted_credit_note_amount_cents,
        )
        .where(
            Invoice.organization_id == ctx.org_id,
            Invoice.self_billed.is_(False),
            Invoice.payment_overdue.is_(True),
        )
        .order_by(Invoice.payment_due_date, Invoice.id)
    )
    if filters.external_customer_id is not None:
        stmt = stmt.join(Customer, Customer.id == Invoice.customer_id).where(
            Customer.organization_id == ctx.org_id,
            Customer.external_id == filters.external_customer_id,
            Customer.deleted_at.is_(None),
        )
    if filters.currency is not None:
        stmt = stmt.where(Invoice.currency == filters.currency)
    current = _month_start(ctx.now().astimezone(UTC).date())
    earliest = None
    if filters.months is not None:
        earliest = _month_start(current, max(filters.months - 1, 0))
    groups: dict[tuple[date, str], tuple[int, list[uuid.UUID]]] = {}
    for invoice_id, currency, due, total, paid, offsets in ctx.session.execute(stmt):
        month = _month_start(due)
        if month > current or (earliest is not None and month < earliest):
            continue
        amount, ids = groups.get((month, currency), (0, []))
        groups[(month, currency)] = (amount + int(total) - int(paid) - int(offsets), [*ids, invoice_id])
    return [
        {
            "month": f"{month.isoformat()}T00:00:00.000Z",
            "amount_cents": amount,
            "currency": currency,
            "lago_invoice_ids": [str(i) for i in sorted(set(ids), key=str)],
        }
        for (month, currency), (amount, ids) in sorted(groups.items())
    ]
