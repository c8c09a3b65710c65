"""Recurring pay-in-advance charges renewed on billing days (metering.md §3.8, billing.md §4.3).

A recurring metric's units carry over, so each new period pays them again at full value (never
prorated — :mod:`billow.billing.fees.metered` drops proration for a pay-in-advance charge billed
outside current usage), priced over the period the invoice closes (e.g. 5 seats × 30):

* invoiceable charges: a charge fee on the subscription invoice itself (``charges.py``, which
  bills recurring pay-in-advance charges and shows the renewed period as the fee's dates);
* non-invoiceable charges (here): unattached fees created when a subscription invoice is
  generated — one per bucket and group, zero ones included, taxed, each with ``fee.created`` —
  as Lago's ``create_recurring_non_invoiceable_fees``. Not when the invoice bills no charges,
  not for the new subscription of a plan change made that day, not for a terminated
  subscription that was upgraded or has no successor. Once per charge, subscription, usage
  period, bucket and group (``renewal:…`` idempotency key).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from billow.billing.advance.fees import display_interval, fee_money
from billow.billing.advance.invoices import fee_exists, store_unattached
from billow.billing.assembly import BilledPeriod
from billow.billing.boundaries import Boundaries
from billow.billing.catalog import plan_charges, plan_unbilled_advance_charges
from billow.billing.events import FeeEvent
from billow.billing.fees.drafts import FEE_PRECISION, FeeDraft
from billow.billing.fees.engine import FeeEngine
from billow.billing.fees.taxes import TaxResolver
from billow.billing.fees.usage import BucketUsage, UsageWindow
from billow.billing.models import Fee, Invoice
from billow.billing.subjects import BilledSubscription
from billow.core.currencies import currency_exponent
from billow.db.context import Ctx
from billow.pricing.charge_models import ChargeInput
from billow.pricing.plans.views import ChargeView
from billow.subscriptions.periods import local_date
from billow.webhooks.emitter import emit


def renewal_key(view: ChargeView, billed: BilledSubscription, bounds: Boundaries, usage: BucketUsage) -> str:
    identity = json.dumps(
        [
            str(billed.id),
            bounds.properties()["charges_from_datetime"],
            bounds.properties()["charges_to_datetime"],
            str(usage.charge_filter_id or ""),
            sorted((str(k), str(v)) for k, v in usage.grouped_by.items()),
        ]
    )
    return f"renewal:{view.charge.id}:{hashlib.sha256(identity.encode()).hexdigest()}"


def _renews(view: ChargeView, billed: BilledSubscription) -> bool:
    charge = view.charge
    if not (charge.pay_in_advance and not charge.invoiceable and view.metric.recurring):
        return False
    if view.metric.aggregation_type == "custom_agg":
        return False
    return not (billed.terminated and (billed.upgraded or billed.next_subscription is None))


def _changed_plan_today(billed: BilledSubscription, bounds: Boundaries) -> bool:
    """The new subscription of a plan change made on the billing day keeps what the previous
    one paid in advance until its next renewal."""
    previous = billed.previous_subscription
    day = local_date(bounds.timestamp, billed.timezone)
    return (
        previous is not None
        and previous.terminated_at is not None
        and local_date(previous.terminated_at, billed.timezone) == day
        and local_date(billed.started_at, billed.timezone) == day
    )


def _draft(
    engine: FeeEngine,
    view: ChargeView,
    billed: BilledSubscription,
    bounds: Boundaries,
    usage: BucketUsage,
    taxes: TaxResolver,
) -> FeeDraft:
    charge, metric = view.charge, view.metric
    charge_filter = next((f for f in view.filters if f.id == usage.charge_filter_id), None)
    properties = dict(charge_filter.properties if charge_filter is not None else charge.properties)
    currency = billed.plan.amount_currency
    result = (
        engine.charge_models[charge.charge_model]
        .compute(
            ChargeInput(
                units=usage.units,
                properties=properties,
                events_count=usage.events_count,
                aggregation_type=metric.aggregation_type,
                event_values=usage.event_values,
                precise_total_amount_cents=usage.precise_total_amount_cents,
                currency_exponent=currency_exponent(currency),
                full_units_number=usage.full_units_number,
                prorated_events=usage.prorated_events,
            )
        )
        .zero_if_negative()
    )
    money = fee_money(view, result.amount, result.units, currency, unit_amount=result.unit_amount)
    fee_properties = bounds.for_charges()
    fee_properties.update(display_interval(billed, bounds.timestamp))
    return FeeDraft(
        fee_type="charge",
        subscription_id=billed.id,
        amount_currency=currency,
        amount_cents=money.amount_cents,
        precise_amount_cents=money.precise_amount_cents.quantize(FEE_PRECISION),
        units=result.units,
        unit_amount_cents=money.unit_amount_cents,
        precise_unit_amount=money.precise_unit_amount.quantize(FEE_PRECISION),
        total_aggregated_units=usage.total_aggregated_units
        if usage.total_aggregated_units is not None
        else result.units,
        events_count=result.events_count,
        charge_id=charge.id,
        charge_filter_id=charge_filter.id if charge_filter is not None else None,
        billable_metric_id=metric.id,
        grouped_by=dict(usage.grouped_by),
        amount_details=dict(result.amount_details),
        pricing_unit_details=money.pricing_unit_details,
        pay_in_advance=True,
        invoiceable=False,
        properties=fee_properties,
        taxes=taxes.for_fee("charge", billed.plan.id, view.taxes),
        idempotency_key=renewal_key(view, billed, bounds, usage),
    )


def renewal_fees(
    ctx: Ctx, engine: FeeEngine, billed: BilledSubscription, bounds: Boundaries, taxes: TaxResolver
) -> list[Fee]:
    """The unattached renewal fees of ``billed``'s recurring non-invoiceable pay-in-advance
    charges over ``bounds`` (created once; see module doc)."""
    start, end = bounds.charges_from_datetime, bounds.charges_to_datetime
    if start is None or end is None or _changed_plan_today(billed, bounds):
        return []
    if not plan_unbilled_advance_charges(ctx, billed.plan.id):  # what ``_renews`` needs first
        return []
    upgraded_away = billed.terminated and billed.upgraded
    window = UsageWindow(start, end, bounds.charges_duration, billed.timezone, False, upgraded_away)
    created: list[Fee] = []
    for view in plan_charges(ctx, billed.plan.id):
        if not _renews(view, billed):
            continue
        usage = list(engine.usage.charge_usage(ctx, view, billed.subscription, window))
        buckets = [f.id for f in view.filters] + [None]
        for filter_id in buckets:
            rows = [u for u in usage if u.charge_filter_id == filter_id] or [
                BucketUsage(charge_filter_id=filter_id)
            ]
            for row in rows:
                draft = _draft(engine, view, billed, bounds, row, taxes)
                if draft.idempotency_key is None or fee_exists(ctx, draft.idempotency_key):
                    continue
                fee = store_unattached(ctx, draft, billed.customer.id)
                if fee is not None:
                    emit(ctx, "fee.created", FeeEvent(fee, ctx.now()))
                    created.append(fee)
    return created


def renew_non_invoiceable_charges(
    ctx: Ctx, engine: FeeEngine, invoice: Invoice, periods: Sequence[BilledPeriod], taxes: TaxResolver
) -> list[Fee]:
    """On a freshly generated subscription invoice: every subscription's renewal fees."""
    if invoice.skip_charges:
        return []
    created: list[Fee] = []
    for period in periods:
        created.extend(renewal_fees(ctx, engine, period.billed, period.bounds, taxes))
    return created
