"""All fees of one subscription on one invoice, in Lago's order (billing.md §4.3).

subscription fee → usage charge fees (with their spending-minimum true-ups) → fixed-charge fees
→ minimum-commitment true-up. Returns plain drafts; nothing is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from billow.billing.boundaries import Boundaries
from billow.billing.catalog import plan_fixed_charges
from billow.billing.fees.charges import charge_fee_drafts
from billow.billing.fees.commitment import commitment_fee
from billow.billing.fees.drafts import FeeDraft
from billow.billing.fees.engine import FeeEngine
from billow.billing.fees.fixed_charges import fixed_charge_fee_drafts
from billow.billing.fees.history import InvoiceFacts, SubscriptionHistory, load_history
from billow.billing.fees.subscription_fee import should_bill_subscription_fee, subscription_fee
from billow.billing.fees.taxes import TaxResolver
from billow.billing.parties import customer_by_id, parties_for
from billow.billing.subjects import BilledSubscription, load_billed_subscription
from billow.db.context import Ctx
from billow.pricing.plans.views import ChargeView
from billow.subscriptions.models import Subscription
from billow.subscriptions.periods import billing_dates, local_date


@dataclass(frozen=True)
class SubscriptionFees:
    drafts: list[FeeDraft]
    history: SubscriptionHistory
    """The subscription's history as these fees read it (what else the invoice may use)."""


def subscription_invoice_fees(
    ctx: Ctx,
    engine: FeeEngine,
    billed: BilledSubscription,
    bounds: Boundaries,
    facts: InvoiceFacts,
    taxes: TaxResolver,
) -> SubscriptionFees:
    """Fee drafts of ``billed`` for the invoice described by ``facts`` over ``bounds``."""
    history = load_history(ctx, billed.id, facts, local_date(facts.timestamp, billed.timezone))
    fees: list[FeeDraft] = []
    fixed = plan_fixed_charges(ctx, billed.plan.id)
    advance_fixed = any(v.fixed_charge.pay_in_advance for v in fixed)
    if should_bill_subscription_fee(billed, facts, history, has_advance_fixed_charges=advance_fixed):
        fees.append(subscription_fee(billed, bounds, facts, history, taxes))
    if not facts.skip_charges:
        fees.extend(charge_fee_drafts(ctx, engine, billed, bounds, taxes))
    fees.extend(fixed_charge_fee_drafts(ctx, engine, billed, bounds, facts, history, taxes, fixed))
    commitment = commitment_fee(ctx, billed, bounds, facts, history, fees, taxes)
    if commitment is not None:
        fees.append(commitment)
    return SubscriptionFees(fees, history)


def current_usage_charge_fees(
    ctx: Ctx,
    engine: FeeEngine,
    subscription: Subscription,
    at: datetime,
    *,
    charge_ids: Collection[uuid.UUID] | None = None,
    full_usage: bool = False,
    views: Sequence[ChargeView] | None = None,
) -> tuple[Boundaries, list[FeeDraft]]:
    """The usage APIs' entry point: every charge of ``subscription`` priced over its current
    usage period at ``at`` — the same code invoices run, with every charge (pay-in-advance and
    non-invoiceable ones too), zero fees kept and no true-up.

    ``charge_ids`` narrows to those charges; ``full_usage`` starts the window at the
    subscription's ``started_at`` instead of the period start (``GET …/current_usage``);
    ``views``: the subscription plan's charges when the caller read them already."""
    if views is not None and any(v.charge.plan_id != subscription.plan_id for v in views):
        raise ValueError("views of another plan than the subscription's")
    customer = customer_by_id(ctx, subscription.customer_id)
    if customer is None:
        raise LookupError(f"customer {subscription.customer_id} not found")
    parties = parties_for(ctx, customer, subscription.billing_entity_id)
    billed = load_billed_subscription(ctx, subscription, customer, parties.settings_entity)
    dates = billing_dates(billed.schedule(), max(at, billed.started_at), current_usage=True)
    bounds = Boundaries.from_dates(dates)
    if full_usage:
        bounds = replace(bounds, from_datetime=billed.started_at, charges_from_datetime=billed.started_at)
    taxes = TaxResolver(ctx, customer.billing_entity_id, customer.id)
    fees = charge_fee_drafts(
        ctx, engine, billed, bounds, taxes, for_invoice=False, charge_ids=charge_ids, views=views
    )
    return bounds, fees
