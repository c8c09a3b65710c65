"""The progressive-billing invoice (billing.md §5.3; Lago's ``Invoices::ProgressiveBillingService``).

Billed at the crossing instant (now), over the current usage period: the period-to-date usage of
the plan's invoiceable in-arrears charges (the invoice fee code, without spending-minimum
true-ups, zero fees dropped), then the adjustments of a ``progressive_billing`` invoice (the
previous progressive invoice of the period is credited through ``ProgressiveCreditSource``,
then coupons, taxes, credit notes, wallets — each from its ``AdjustmentSource``). It is
finalized at once — no grace period — with its number and ``invoice.created``.

Exactly once: the invoice, its invoice-subscription and its applied thresholds are written first
in a savepoint; the applied thresholds carry the crossing key under a unique index, so a second
refresh computing the same crossing (run twice, or concurrently) fails there and writes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import structlog
from sqlalchemy.exc import IntegrityError

from billow.billing.assembly import write_fees
from billow.billing.boundaries import Boundaries
from billow.billing.drafts import new_generating_invoice, new_invoice_subscription
from billow.billing.events import InvoiceEvent
from billow.billing.fees.charges import charge_view_fees
from billow.billing.fees.drafts import FeeDraft
from billow.billing.fees.engine import FeeEngine
from billow.billing.fees.taxes import TaxResolver
from billow.billing.hooks import invoice_finalized
from billow.billing.models import Invoice
from billow.billing.numbering import assign_number
from billow.billing.parties import customer_by_id, parties_for
from billow.billing.progressive.models import AppliedUsageThreshold
from billow.billing.subjects import BilledSubscription, load_billed_subscription
from billow.core.ids import new_id
from billow.db.context import Ctx
from billow.pricing.plans.lookup import charges_for_plan
from billow.pricing.plans.models import UsageThreshold
from billow.subscriptions.models import Subscription
from billow.subscriptions.periods import billing_dates, local_date
from billow.webhooks.emitter import emit

log = structlog.get_logger("billow.billing.progressive")


def progressive_fee_drafts(
    ctx: Ctx, engine: FeeEngine, billed: BilledSubscription, bounds: Boundaries, taxes: TaxResolver
) -> list[FeeDraft]:
    """Invoiceable in-arrears charges over ``bounds``, no true-up, no zero fee."""
    drafts: list[FeeDraft] = []
    for view in charges_for_plan(ctx, billed.plan.id):
        if not view.charge.invoiceable or view.charge.pay_in_advance:
            continue
        fees = charge_view_fees(ctx, engine, view, billed, bounds, taxes, for_invoice=True)
        drafts.extend(f for f in fees if f.true_up_parent is None and not f.is_zero)
    return drafts


def _period_key(crossing_key: str) -> str:
    return "progressive:" + hashlib.sha256(crossing_key.encode()).hexdigest()[:40]


def create_progressive_invoice(
    ctx: Ctx,
    engine: FeeEngine,
    subscription: Subscription,
    thresholds: Sequence[UsageThreshold],
    *,
    lifetime_usage_amount_cents: int,
    crossing_key: str,
) -> Invoice | None:
    """Issue the progressive-billing invoice of a crossing; ``None`` when it exists already."""
    customer = customer_by_id(ctx, subscription.customer_id)
    if customer is None:
        return None
    parties = parties_for(ctx, customer, subscription.billing_entity_id)
    billed = load_billed_subscription(ctx, subscription, customer, parties.settings_entity)
    now = ctx.now()
    bounds = Boundaries.from_dates(
        billing_dates(billed.schedule(), max(now, billed.started_at), current_usage=True)
    )
    issuing = local_date(now, parties.timezone)
    invoice = new_generating_invoice(
        ctx,
        parties,
        invoice_type="progressive_billing",
        currency=billed.plan.amount_currency,
        issuing_date=issuing,
        expected_finalization_date=issuing,
        now=now,
    )
    period = new_invoice_subscription(
        ctx,
        invoice,
        subscription.id,
        bounds,
        reason="progressive_billing",
        recurring=False,
        period_key=_period_key(crossing_key),
        timestamp=now,
        now=now,
    )
    applied = [
        AppliedUsageThreshold(
            id=new_id(),
            organization_id=ctx.org_id,
            invoice_id=invoice.id,
            usage_threshold_id=threshold.id,
            crossing_key=crossing_key,
            lifetime_usage_amount_cents=lifetime_usage_amount_cents,
            amount_cents=threshold.amount_cents,
            recurring=threshold.recurring,
            threshold_display_name=threshold.threshold_display_name,
            created_at=now,
            updated_at=now,
        )
        for threshold in thresholds
    ]
    try:
        with ctx.session.begin_nested():
            ctx.session.add(invoice)
            ctx.session.add(period)
            ctx.session.flush()
            ctx.session.add_all(applied)
            ctx.session.flush()
    except IntegrityError:
        log.info("progressive_billing_crossing_already_invoiced", subscription_id=str(subscription.id))
        return None
    taxes = TaxResolver(ctx, customer.billing_entity_id, customer.id)
    drafts = progressive_fee_drafts(ctx, engine, billed, bounds, taxes)
    write_fees(
        ctx, invoice, drafts, finalizing=True, kind="progressive_billing", subscription_ids=[subscription.id]
    )
    assign_number(ctx, invoice, customer, parties.entity, now)
    invoice.status = "finalized"
    invoice.finalized_at = now
    invoice.updated_at = now
    ctx.session.flush()
    emit(ctx, "invoice.created", InvoiceEvent(invoice, now))
    invoice_finalized(ctx, invoice, was_draft=False)
    return invoice
