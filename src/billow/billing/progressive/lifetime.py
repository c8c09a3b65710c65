"""Lifetime usage (metering.md §5; Lago's ``LifetimeUsages::CalculateService``).

A subscription's *chain* is every non-canceled subscription of the organization with its
external id and ``subscription_at`` (a plan change keeps both). Its lifetime usage:

* ``historical``: set by ``PUT …/lifetime_usage`` (usage billed before Billow);
* ``invoiced``: Σ ``amount_cents`` of the chain's charge fees on its ``finalized`` or ``draft``
  subscription invoices (progressive-billing invoices are not counted: the period invoice
  re-bills their usage); Lago sums every charge fee of those invoices, Billow only the chain's
  (another subscription's fees on a consolidated invoice are not this subscription's usage);
* ``current``: the current usage amount without taxes (0 unless the newest subscription of the
  chain is active).

The stored row is refreshed by the ``billing.refresh_lifetime_usage`` job and by reads of the
API.
"""

from __future__ import annotations

from sqlalchemy import func, select

from billow.billing.fees.engine import FeeEngine
from billow.billing.models import Fee, Invoice, InvoiceSubscription
from billow.billing.progressive.models import LifetimeUsage
from billow.billing.progressive.thresholds import chain_ids
from billow.billing.usage.current import compute_usage
from billow.core.ids import new_id
from billow.customers.models import Customer
from billow.db.context import Ctx
from billow.db.upsert import insert_ignore_stmt
from billow.subscriptions.models import Subscription

INVOICED_STATUSES = ("finalized", "draft")


def invoiced_usage_amount_cents(ctx: Ctx, subscription: Subscription) -> int:
    chain = chain_ids(ctx, subscription)
    invoices = (
        select(InvoiceSubscription.invoice_id)
        .join(Invoice, Invoice.id == InvoiceSubscription.invoice_id)
        .where(
            InvoiceSubscription.organization_id == ctx.org_id,
            InvoiceSubscription.subscription_id.in_(chain),
            Invoice.invoice_type == "subscription",
            Invoice.status.in_(INVOICED_STATUSES),
        )
    )
    total = ctx.session.scalar(
        select(func.coalesce(func.sum(Fee.amount_cents), 0)).where(
            Fee.organization_id == ctx.org_id,
            Fee.invoice_id.in_(invoices),
            Fee.subscription_id.in_(chain),
            Fee.fee_type == "charge",
            Fee.deleted_at.is_(None),
        )
    )
    return int(total or 0)


def current_usage_amount_cents(ctx: Ctx, subscription: Subscription, engine: FeeEngine | None = None) -> int:
    if subscription.status != "active":
        return 0
    customer = ctx.session.get(Customer, subscription.customer_id)
    assert customer is not None
    return compute_usage(ctx, customer, subscription, apply_taxes=False, engine=engine).amount_cents


def lifetime_row(ctx: Ctx, subscription: Subscription) -> LifetimeUsage:
    """The chain's row (created when missing), pointing at ``subscription``."""
    now = ctx.now()
    stmt = insert_ignore_stmt(
        ctx.session, LifetimeUsage, ["organization_id", "external_subscription_id", "subscription_at"]
    )
    ctx.session.execute(
        stmt.values(
            id=new_id(),
            organization_id=ctx.org_id,
            subscription_id=subscription.id,
            external_subscription_id=subscription.external_id,
            subscription_at=subscription.subscription_at,
            historical_usage_amount_cents=0,
            invoiced_usage_amount_cents=0,
            current_usage_amount_cents=0,
            created_at=now,
            updated_at=now,
        )
    )
    row = find_lifetime_row(ctx, subscription, lock=True)
    assert row is not None
    if row.subscription_id != subscription.id and _newer(ctx, subscription, row):
        row.subscription_id = subscription.id
        row.updated_at = now
    return row


def find_lifetime_row(ctx: Ctx, subscription: Subscription, *, lock: bool = False) -> LifetimeUsage | None:
    """The chain's row; ``lock`` holds it until the transaction ends (PostgreSQL: refreshes and
    threshold checks of one chain then run one at a time; SQLite serializes writers anyway)."""
    query = select(LifetimeUsage).where(
        LifetimeUsage.organization_id == ctx.org_id,
        LifetimeUsage.external_subscription_id == subscription.external_id,
        LifetimeUsage.subscription_at == subscription.subscription_at,
    )
    if lock:
        query = query.execution_options(populate_existing=True)
        if ctx.dialect == "postgresql":
            query = query.with_for_update()
    return ctx.session.scalar(query)


def _newer(ctx: Ctx, subscription: Subscription, row: LifetimeUsage) -> bool:
    current = ctx.session.get(Subscription, row.subscription_id)
    if current is None:
        return True
    return (subscription.created_at, subscription.id) > (current.created_at, current.id)


def refresh_lifetime_usage(
    ctx: Ctx, subscription: Subscription, engine: FeeEngine | None = None
) -> LifetimeUsage:
    """Recompute the invoiced and current usage of ``subscription``'s chain and store them."""
    row = lifetime_row(ctx, subscription)
    now = ctx.now()
    row.invoiced_usage_amount_cents = invoiced_usage_amount_cents(ctx, subscription)
    row.invoiced_usage_amount_refreshed_at = now
    row.current_usage_amount_cents = current_usage_amount_cents(ctx, subscription, engine)
    row.current_usage_amount_refreshed_at = now
    row.updated_at = now
    ctx.session.flush()
    return row
