"""Usage charge fees: one per charge × bucket (each filter, then the default) × pricing group.

:func:`charge_fee_drafts` is the reusable core: invoices call it with ``for_invoice=True`` (only
the invoiceable charges an invoice bills, zero fees dropped, spending-minimum true-ups added);
the usage APIs call it with ``for_invoice=False`` (every charge, zero fees kept, no true-up).
Rounding follows metering.md §3.7/§3.10: half-up at the currency exponent, or the pricing unit's
double rounding.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime, time
from decimal import Decimal, localcontext

from billow.billing.boundaries import Boundaries
from billow.billing.catalog import plan_charges
from billow.billing.fees.drafts import FEE_PRECISION, FeeDraft
from billow.billing.fees.engine import FeeEngine
from billow.billing.fees.taxes import TaxResolver
from billow.billing.fees.usage import BucketUsage, UsageWindow
from billow.billing.math import BilledFee, spending_minimum_true_up
from billow.billing.subjects import BilledSubscription
from billow.core.currencies import currency_exponent
from billow.core.money import DECIMAL_CONTEXT, decimal_str, round_half_up, to_cents
from billow.db.context import Ctx
from billow.pricing.charge_models import ChargeInput, ChargeResult, convert_pricing_unit_amount
from billow.pricing.plans.models import Charge
from billow.pricing.plans.views import ChargeView
from billow.subscriptions.periods import billing_dates, day_count


def invoiceable_on_invoice(view: ChargeView) -> bool:
    """Invoices bill invoiceable charges, except pay-in-advance charges of non-recurring metrics."""
    charge = view.charge
    return charge.invoiceable and not (charge.pay_in_advance and not view.metric.recurring)


def skipped_for_subscription(
    view: ChargeView, billed: BilledSubscription, next_metric_ids: set[object]
) -> bool:
    """Lago's ``should_not_create_charge_fee?`` (recurring metrics across terminations/upgrades)."""
    charge, recurring = view.charge, view.metric.recurring
    if charge.pay_in_advance:
        return recurring and billed.terminated and (billed.upgraded or billed.next_subscription is None)
    if charge.prorated:
        return False
    return recurring and billed.terminated and billed.upgraded and view.metric.id in next_metric_ids


def _window(billed: BilledSubscription, bounds: Boundaries, current_usage: bool) -> UsageWindow | None:
    start, end = bounds.charges_from_datetime, bounds.charges_to_datetime
    if start is None or end is None:
        return None
    upgraded_away = billed.terminated and billed.upgraded
    return UsageWindow(start, end, bounds.charges_duration, billed.timezone, current_usage, upgraded_away)


def _buckets(view: ChargeView) -> list[tuple[object | None, dict[str, object]]]:
    """``(charge_filter or None, properties)`` in Lago's order: filters first, default last."""
    buckets: list[tuple[object | None, dict[str, object]]] = [(f, dict(f.properties)) for f in view.filters]
    buckets.append((None, dict(view.charge.properties)))
    return buckets


def _in_advance_interval(billed: BilledSubscription, bounds: Boundaries) -> dict[str, object]:
    """A recurring pay-in-advance charge billed on a periodic invoice shows the period it renews
    (Lago's ``charge_pay_in_advance_interval``: its local dates, rendered as UTC days)."""
    period = billing_dates(billed.schedule(), bounds.timestamp, current_usage=True).charges_period
    start = datetime.combine(period.start, time(0), tzinfo=UTC)
    end = datetime.combine(period.end, time(23, 59, 59), tzinfo=UTC)
    return {
        "display_bounds": True,
        "display_from_datetime": start.isoformat().replace("+00:00", "Z"),
        "display_to_datetime": end.isoformat().replace("+00:00", "Z"),
    }


def _charge_input(
    view: ChargeView, usage: BucketUsage, properties: dict[str, object], currency: str
) -> ChargeInput:
    return ChargeInput(
        units=usage.units,
        properties=properties,
        events_count=usage.events_count,
        aggregation_type=view.metric.aggregation_type,
        event_values=usage.event_values,
        precise_total_amount_cents=usage.precise_total_amount_cents,
        currency_exponent=currency_exponent(currency),
        full_units_number=usage.full_units_number,
        prorated=view.charge.prorated,
        prorated_events=usage.prorated_events,
        custom_amount=usage.custom_amount,
    )


def _draft(
    view: ChargeView,
    billed: BilledSubscription,
    bounds: Boundaries,
    usage: BucketUsage,
    result: ChargeResult,
    taxes: TaxResolver,
    filter_id: object | None,
    charge_input: ChargeInput | None = None,
) -> FeeDraft:
    charge = view.charge
    currency = billed.plan.amount_currency
    exponent = currency_exponent(currency)
    pricing_details = None
    with localcontext(DECIMAL_CONTEXT):
        if view.pricing_unit is not None and charge.pricing_unit_conversion_rate is not None:
            conv = convert_pricing_unit_amount(
                result.amount, result.unit_amount, Decimal(charge.pricing_unit_conversion_rate), exponent
            )
            amount_cents, precise = conv.amount_cents, conv.precise_amount_cents
            unit_amount_cents = int(round_half_up(conv.unit_amount_cents))
            precise_unit_amount = conv.precise_unit_amount
            pricing_details = {
                "lago_pricing_unit_id": str(view.pricing_unit.id),
                "pricing_unit_code": view.pricing_unit.code,
                "short_name": view.pricing_unit.short_name,
                "amount_cents": conv.pricing_unit_amount_cents,
                "precise_amount_cents": decimal_str(conv.pricing_unit_precise_amount_cents),
                "unit_amount_cents": conv.pricing_unit_unit_amount_cents,
                "precise_unit_amount": decimal_str(conv.pricing_unit_precise_unit_amount),
                "conversion_rate": decimal_str(conv.conversion_rate),
            }
        else:
            amount_cents = to_cents(result.amount, currency)
            precise = result.amount.scaleb(exponent)
            unit_amount_cents = int(round_half_up(result.unit_amount.scaleb(exponent)))
            precise_unit_amount = result.unit_amount
    units = result.units
    if charge.prorated and result.full_units_number is not None:
        units = result.full_units_number
    if usage.current_usage_units is not None:
        units = max(usage.current_usage_units, Decimal(0))
    properties = bounds.for_charges()
    if charge.pay_in_advance and charge.invoiceable:
        properties.update(_in_advance_interval(billed, bounds))
    return FeeDraft(
        fee_type="charge",
        subscription_id=billed.id,
        amount_currency=currency,
        amount_cents=amount_cents,
        precise_amount_cents=precise.quantize(FEE_PRECISION),
        units=units,
        unit_amount_cents=unit_amount_cents,
        precise_unit_amount=precise_unit_amount.quantize(FEE_PRECISION),
        total_aggregated_units=usage.total_aggregated_units
        if usage.total_aggregated_units is not None
        else units,
        events_count=result.events_count,
        charge_id=charge.id,
        charge_filter_id=filter_id,  # type: ignore[arg-type]
        billable_metric_id=view.metric.id,
        grouped_by=dict(usage.grouped_by),
        amount_details=dict(result.amount_details),
        pricing_unit_details=pricing_details,
        pay_in_advance=charge.pay_in_advance and not charge.invoiceable,
        invoiceable=charge.invoiceable,
        properties=properties,
        taxes=taxes.for_fee("charge", billed.plan.id, view.taxes),
        charge_input=charge_input,
    )


def _true_up(
    charge: Charge, billed: BilledSubscription, bounds: Boundaries, fees: Sequence[FeeDraft]
) -> FeeDraft | None:
    """Spending minimum (§5.2): a copy of the default-bucket fee topping the charge up."""
    parent = next((f for f in fees if f.charge_filter_id is None), None)
    start, end = bounds.charges_from_datetime, bounds.charges_to_datetime
    if parent is None or start is None or end is None or not charge.min_amount_cents:
        return None
    days = day_count(start, end, billed.timezone)
    if billed.terminated and billed.upgraded:
        days = max(days - 1, 0)
    true_up = spending_minimum_true_up(
        charge.min_amount_cents,
        bounds.charges_duration,
        days,
        [BilledFee(f.amount_cents, f.precise_amount_cents) for f in fees],
    )
    if true_up is None or true_up.amount_cents <= 0:
        return None
    precise = true_up.precise_amount_cents
    exponent = currency_exponent(parent.amount_currency)
    return replace(
        parent,
        amount_cents=true_up.amount_cents,
        precise_amount_cents=precise.quantize(FEE_PRECISION),
        units=Decimal(1),
        unit_amount_cents=true_up.amount_cents,
        precise_unit_amount=precise.scaleb(-exponent).quantize(FEE_PRECISION),
        total_aggregated_units=Decimal(1),
        events_count=0,
        charge_filter_id=None,
        pricing_unit_details=None,
        true_up_parent=parent,
    )


def charge_view_fees(
    ctx: Ctx,
    engine: FeeEngine,
    view: ChargeView,
    billed: BilledSubscription,
    bounds: Boundaries,
    taxes: TaxResolver,
    *,
    for_invoice: bool,
) -> list[FeeDraft]:
    """Fee drafts of one charge (every bucket and group, then its true-up when invoicing)."""
    window = _window(billed, bounds, current_usage=not for_invoice)
    if window is None:
        return []
    usage = list(engine.usage.charge_usage(ctx, view, billed.subscription, window))
    fees: list[FeeDraft] = []
    for charge_filter, properties in _buckets(view):
        filter_id = getattr(charge_filter, "id", None)
        rows = [u for u in usage if u.charge_filter_id == filter_id] or [
            BucketUsage(charge_filter_id=filter_id)
        ]
        for row in rows:
            inp = _charge_input(view, row, properties, billed.plan.amount_currency)
            result = engine.charge_models[view.charge.charge_model].compute(inp)
            fees.append(_draft(view, billed, bounds, row, result, taxes, filter_id, inp))
    if not for_invoice:
        return fees
    true_up = _true_up(view.charge, billed, bounds, fees)
    if true_up is not None:
        fees.append(true_up)
    return [f for f in fees if not f.is_zero or f is (true_up.true_up_parent if true_up else None)]


def charge_fee_drafts(
    ctx: Ctx,
    engine: FeeEngine,
    billed: BilledSubscription,
    bounds: Boundaries,
    taxes: TaxResolver,
    *,
    for_invoice: bool = True,
    charge_ids: Collection[uuid.UUID] | None = None,
    views: Sequence[ChargeView] | None = None,
) -> list[FeeDraft]:
    """Every usage-charge fee of ``billed`` over ``bounds``' usage window (see module doc);
    ``charge_ids`` narrows it to those charges; ``views``: the plan's charges when the caller
    read them already."""
    if for_invoice and not bounds.has_charges:
        return []
    views = list(views) if views is not None else plan_charges(ctx, billed.plan.id)
    if charge_ids is not None:
        views = [v for v in views if v.charge.id in charge_ids]
    next_metric_ids: set[object] = set()
    if for_invoice and billed.terminated and billed.upgraded and billed.next_subscription is not None:
        next_metric_ids = {v.metric.id for v in plan_charges(ctx, billed.next_subscription.plan_id)}
    fees: list[FeeDraft] = []
    for view in views:
        if for_invoice and (
            not invoiceable_on_invoice(view) or skipped_for_subscription(view, billed, next_metric_ids)
        ):
            continue
        fees.extend(charge_view_fees(ctx, engine, view, billed, bounds, taxes, for_invoice=for_invoice))
    return fees
