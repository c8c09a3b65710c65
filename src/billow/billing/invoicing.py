"""The ``billing.bill_subscriptions`` job (docs/adr/0001-billing-jobs.md): one invoice for the
items of one customer at one timestamp.

Steps: the invoice (``generating``) and its invoice-subscriptions with their boundaries are
written first — a recurring (periodic) row carries the period it bills under a unique index, so a
second invoice for the same subscription period meets it there (``INSERT … ON CONFLICT DO
NOTHING``), its invoice is removed and the job ends silently
(:func:`billow.billing.drafts.insert_claiming_periods`). Then every subscription's fees (Lago's
order), taxes and totals, then draft / finalized / closed (:mod:`billow.billing.finalization`).

A periodic item whose subscription has a pending downgrade successor is not billed as such: the
subscriptions package switches plans (``apply_scheduled_downgrade``) and one invoice bills the
old subscription's last period (``subscription_terminating``) and, when it bills at start, the
new one's first fee (``subscription_starting``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import structlog
from sqlalchemy import bindparam, select

from billow.billing.advance.renewal import renew_non_invoiceable_charges
from billow.billing.assembly import BilledPeriod, compute_subscription_invoice
from billow.billing.boundaries import compute_boundaries, period_key
from billow.billing.drafts import insert_claiming_periods, new_generating_invoice, new_invoice_subscription
from billow.billing.fees.engine import FeeEngine
from billow.billing.fees.fixed_charges import advance_fixed_charges
from billow.billing.fees.taxes import TaxResolver
from billow.billing.finalization import settle_generated
from billow.billing.hooks import before_termination_invoice
from billow.billing.issuing import grace_period_days, subscription_invoice_dates
from billow.billing.models import Invoice
from billow.billing.parties import InvoiceParties, customer_and_entity, parties_for
from billow.billing.recurring import recurring_period_billed
from billow.billing.subjects import load_billed_subscription
from billow.core.timefmt import parse_iso_datetime
from billow.customers.models import Customer
from billow.db.context import Ctx
from billow.db.one_of import one_of
from billow.db.prefetch import MISSING, take
from billow.jobs.registry import HandlerResult
from billow.pricing.plans.models import Plan
from billow.subscriptions.activation import apply_scheduled_downgrade
from billow.subscriptions.models import Subscription
from billow.subscriptions.periods import local_date
from billow.subscriptions.repository import SUCCESSOR, SUCCESSOR_NEWEST_FIRST, successor_of

log = structlog.get_logger("billow.billing")

BILL_SUBSCRIPTIONS_JOB = "billing.bill_subscriptions"

STARTING = "subscription_starting"
PERIODIC = "subscription_periodic"
TERMINATING = "subscription_terminating"
UPGRADING = "subscription_upgrading"
REASONS = (STARTING, PERIODIC, TERMINATING, UPGRADING)


@dataclass(frozen=True)
class BillingItem:
    subscription: Subscription
    reason: str
    successor: Subscription | None = None
    successor_read: bool = False
    """``successor`` is the subscription's ``next_subscription`` as read by this job (periodic
    items), so that loading it for billing does not read it again."""

    @property
    def stored_reason(self) -> str:
        """The old subscription of an upgrade is stored as Lago's ``subscription_terminating``."""
        return TERMINATING if self.reason == UPGRADING else self.reason


# Built once (statement construction is a good part of a query's cost): the values are bound.
# The subscription with its ``next_subscription`` (first row), which periodic items need.
_ITEM_SUBSCRIPTIONS = (
    select(Subscription, SUCCESSOR)
    .outerjoin(SUCCESSOR, successor_of(Subscription.organization_id, Subscription.id))
    .where(Subscription.organization_id == bindparam("org"))
)
_ITEM_SUBSCRIPTION = (
    _ITEM_SUBSCRIPTIONS.where(
        Subscription.id == bindparam("id"), Subscription.customer_id == bindparam("customer")
    )
    .order_by(*SUCCESSOR_NEWEST_FIRST)
    .limit(1)
)
# Every row of each subscription, its successors newest first: the first row of each is what
# ``_ITEM_SUBSCRIPTION`` reads.
_MANY_ITEM_SUBSCRIPTIONS = _ITEM_SUBSCRIPTIONS.where(
    one_of(Subscription.id, key="ids"),
    one_of(Subscription.customer_id, key="customers"),
).order_by(Subscription.id, *SUCCESSOR_NEWEST_FIRST)
PREFETCHED_ITEM = "billing.item_subscription"


def prefetch_item_subscriptions(
    ctx: Ctx, items: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> dict[uuid.UUID, tuple[Subscription, Subscription | None]]:
    """What ``_load_items`` reads of each ``(subscription id, customer id)``, in one read; returns
    the rows found by subscription id."""
    if not items or ctx.prefetched is None:
        return {}
    params = {
        "ids": [sub_id for sub_id, _ in items],
        "customers": list({customer_id for _, customer_id in items}),
        "org": ctx.org_id,
    }
    found: dict[uuid.UUID, tuple[Subscription, Subscription | None]] = {}
    for sub, successor in ctx.session.execute(_MANY_ITEM_SUBSCRIPTIONS, params):
        found.setdefault(sub.id, (sub, successor))
    for sub_id, customer_id in items:
        row = found.get(sub_id)
        ctx.prefetched.put(
            PREFETCHED_ITEM, (sub_id, customer_id), row if row and row[0].customer_id == customer_id else None
        )
    return found


def _load_items(ctx: Ctx, customer_id: uuid.UUID, raw_items: Sequence[dict[str, Any]]) -> list[BillingItem]:
    items: list[BillingItem] = []
    seen: set[uuid.UUID] = set()
    for raw in raw_items:
        reason = str(raw.get("reason"))
        if reason not in REASONS:
            raise ValueError(f"unknown invoicing reason {reason!r}")
        sub_id = uuid.UUID(str(raw["subscription_id"]))
        row = take(ctx, PREFETCHED_ITEM, (sub_id, customer_id))
        if row is MISSING:
            row = ctx.session.execute(
                _ITEM_SUBSCRIPTION, {"id": sub_id, "org": ctx.org_id, "customer": customer_id}
            ).first()
        if row is None or row[0].id in seen:
            continue
        sub, successor = row
        seen.add(sub.id)
        periodic = reason == PERIODIC  # the others read it when they are billed, as before
        items.append(BillingItem(sub, reason, successor if periodic else None, successor_read=periodic))
    return items


def create_subscription_invoice(
    ctx: Ctx,
    engine: FeeEngine,
    parties: InvoiceParties,
    items: Sequence[BillingItem],
    timestamp: datetime,
    *,
    preview: bool = False,
) -> Invoice | None:
    """Bill ``items`` (one customer, currency and billing entity) on one invoice at ``timestamp``.

    Returns ``None`` when a recurring period was billed already (nothing is written).
    ``preview`` (:mod:`billow.billing.preview`, inside a transaction it rolls back): computed as
    when finalizing (coupons, credit notes, wallets), left ``generating`` without number,
    webhooks or finalization hooks.
    """
    customer = parties.customer
    now = ctx.now()
    recurring = any(item.reason == PERIODIC for item in items)
    billing_day = local_date(timestamp, parties.timezone)
    dates = subscription_invoice_dates(customer, parties.settings_entity, billing_day, recurring=recurring)
    invoice = new_generating_invoice(
        ctx,
        parties,
        invoice_type="subscription",
        currency="",  # the first subscription's plan currency, set below
        issuing_date=dates.issuing_date,
        expected_finalization_date=dates.expected_finalization_date,
        skip_charges=all(item.reason == STARTING for item in items),
        now=now,
    )
    periods: list[BilledPeriod] = []
    for item in items:
        if item.successor_read:
            billed = load_billed_subscription(
                ctx, item.subscription, customer, parties.settings_entity, following=item.successor
            )
        else:
            billed = load_billed_subscription(ctx, item.subscription, customer, parties.settings_entity)
        schedule = billed.schedule()
        bounds = compute_boundaries(
            schedule,
            timestamp,
            already_billed=partial(recurring_period_billed, ctx, billed.id),
        )
        row = new_invoice_subscription(
            ctx,
            invoice,
            billed.id,
            bounds,
            reason=item.stored_reason,
            recurring=item.reason == PERIODIC,
            period_key=period_key(schedule, bounds),
            timestamp=bounds.timestamp,
            now=now,
        )
        periods.append(BilledPeriod(row, billed, bounds))
    invoice.currency = periods[0].billed.plan.amount_currency
    if not insert_claiming_periods(ctx, invoice, [p.row for p in periods]):
        log.info("billing_period_already_invoiced", customer_id=str(customer.id))
        return None
    taxes = TaxResolver(
        ctx, customer.billing_entity_id, customer.id, customer_has_taxes=parties.customer_has_taxes
    )
    finalizing = preview or grace_period_days(customer, parties.settings_entity) == 0
    compute_subscription_invoice(
        ctx, engine, invoice, periods, taxes, finalizing=finalizing, new_invoice=True
    )
    if preview:
        return invoice
    renew_non_invoiceable_charges(ctx, engine, invoice, periods, taxes)
    settle_generated(ctx, invoice, parties)
    return invoice


def _downgrade(
    ctx: Ctx, engine: FeeEngine, customer: Customer, old: Subscription, timestamp: datetime
) -> Invoice | None:
    """Terminate-and-start on the billing day of a subscription with a pending downgrade."""
    new = apply_scheduled_downgrade(ctx, old, timestamp)
    items = [BillingItem(old, TERMINATING)]
    if new is not None and new.status == "active":
        plan = ctx.session.get(Plan, new.plan_id)
        if plan is not None and (plan.pay_in_advance or advance_fixed_charges(ctx, plan.id)):
            items.append(BillingItem(new, STARTING))
    return create_subscription_invoice(
        ctx, engine, parties_for(ctx, customer, old.billing_entity_id), items, timestamp
    )


def bill_subscriptions(ctx: Ctx, engine: FeeEngine, payload: dict[str, Any]) -> list[Invoice]:
    """Handle one ``billing.bill_subscriptions`` payload; returns the invoices created."""
    loaded = customer_and_entity(ctx, uuid.UUID(str(payload["customer_id"])))
    if loaded is None:
        log.warning("billing_customer_not_found", customer_id=payload.get("customer_id"))
        return []
    customer = loaded.customer
    timestamp = parse_iso_datetime(str(payload["timestamp"]))
    items = _load_items(ctx, customer.id, payload.get("items") or [])
    invoices: list[Invoice] = []
    regular: list[BillingItem] = []
    downgraded = False
    for item in items:
        if item.reason != PERIODIC:
            regular.append(item)
            continue
        if item.subscription.status != "active":
            continue
        if item.successor is not None and item.successor.status == "pending":
            downgraded = True
            invoice = _downgrade(ctx, engine, customer, item.subscription, timestamp)
            if invoice is not None:
                invoices.append(invoice)
        else:
            regular.append(item)
    if downgraded:
        # A plan switch changed subscriptions since the successors were read: read them again.
        regular = [BillingItem(item.subscription, item.reason) for item in regular]
    if regular:
        for item in regular:
            if item.reason in (TERMINATING, UPGRADING):
                # The unused pay-in-advance days' credit note comes first: this invoice consumes it.
                before_termination_invoice(ctx, item.subscription, upgrade=item.reason == UPGRADING)
        parties = parties_for(ctx, customer, regular[0].subscription.billing_entity_id, loaded=loaded)
        invoice = create_subscription_invoice(ctx, engine, parties, regular, timestamp)
        if invoice is not None:
            invoices.append(invoice)
    return invoices


def bill_subscriptions_handler(engine: FeeEngine) -> Callable[[Ctx, dict[str, Any]], HandlerResult]:
    def handler(ctx: Ctx, payload: dict[str, Any]) -> HandlerResult:
        bill_subscriptions(ctx, engine, payload)
        return None

    return handler
