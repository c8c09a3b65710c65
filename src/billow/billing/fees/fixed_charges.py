"""Fixed-charge fees (metering.md §3.11): an add-on billed for a number of units each period.

Units come from the plan's fixed charge (unit changes over time — Lago's fixed-charge events — and
per-subscription unit overrides are not modelled yet: the units apply from the subscription's
start). A prorated fixed charge prices ``units × days(max(F, started_at), T) / P`` (6 decimals).
Pay-in-advance fixed charges bill the period that starts on the billing day and are never billed
twice for the same period; pay-in-arrears ones bill the closed period.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, localcontext

from sqlalchemy import select

from billow.billing.boundaries import Boundaries, property_datetime
from billow.billing.catalog import plan_fixed_charges
from billow.billing.fees.drafts import FEE_PRECISION, FeeDraft
from billow.billing.fees.engine import FeeEngine
from billow.billing.fees.history import InvoiceFacts, SubscriptionHistory
from billow.billing.fees.taxes import TaxResolver
from billow.billing.models import Fee, Invoice
from billow.billing.subjects import BilledSubscription
from billow.core.currencies import currency_exponent
from billow.core.money import DECIMAL_CONTEXT, round_half_up, to_cents
from billow.db.context import Ctx
from billow.pricing.charge_models import ChargeInput, ProratedEventValue
from billow.pricing.plans.views import FixedChargeView
from billow.subscriptions.periods import billing_dates, day_count

UNITS_PRECISION = Decimal("1e-6")


def advance_fixed_charges(ctx: Ctx, plan_id: uuid.UUID) -> bool:
    return any(v.fixed_charge.pay_in_advance for v in plan_fixed_charges(ctx, plan_id))


def _should_bill_any(billed: BilledSubscription, facts: InvoiceFacts, views: list[FixedChargeView]) -> bool:
    sub = billed.subscription
    if sub.status == "active":
        return True
    if billed.terminated and any(not v.fixed_charge.pay_in_advance for v in views):
        return True
    return billed.terminated and sub.terminated_at is not None and sub.terminated_at > facts.created_at


def _should_bill(view: FixedChargeView, billed: BilledSubscription, history: SubscriptionHistory) -> bool:
    fixed = view.fixed_charge
    if not fixed.pay_in_advance and history.invoice_subscription_count == 1 and history.last_is_starting:
        return False
    return not (fixed.pay_in_advance and billed.terminated)


def _advance_bounds(billed: BilledSubscription, bounds: Boundaries) -> Boundaries:
    """Pay-in-advance fixed charges bill the period holding the billing day."""
    current = billing_dates(billed.schedule(), bounds.timestamp, current_usage=True)
    start = current.fixed_charges_from_datetime
    end = current.fixed_charges_to_datetime
    if start is None or end is None:
        return bounds
    return bounds.with_fixed_charges(start, end, current.fixed_charges_duration)


def _already_billed(ctx: Ctx, view: FixedChargeView, billed: BilledSubscription, bounds: Boundaries) -> bool:
    rows = ctx.session.execute(
        select(Fee.properties, Fee.units, Fee.amount_cents)
        .join(Invoice, Invoice.id == Fee.invoice_id)
        .where(
            Fee.organization_id == ctx.org_id,
            Fee.subscription_id == billed.id,
            Fee.fixed_charge_id == view.fixed_charge.id,
            Fee.deleted_at.is_(None),
            Invoice.status.not_in(("voided", "deleted")),
        )
    ).all()
    for properties, units, amount in rows:
        if units <= 0 and amount <= 0:
            continue
        same_start = (
            property_datetime(properties, "fixed_charges_from_datetime") == bounds.fixed_charges_from_datetime
        )
        same_end = (
            property_datetime(properties, "fixed_charges_to_datetime") == bounds.fixed_charges_to_datetime
        )
        if same_start and same_end:
            return True
    return False


def _units(view: FixedChargeView, billed: BilledSubscription, bounds: Boundaries) -> tuple[Decimal, Decimal]:
    """``(priced units, full units)``."""
    units = Decimal(view.fixed_charge.units)
    start, end = bounds.fixed_charges_from_datetime, bounds.fixed_charges_to_datetime
    if not view.fixed_charge.prorated or start is None or end is None:
        return units, units
    effective_start = max(start, billed.started_at)
    days = max(day_count(effective_start, end, billed.timezone), 0)
    with localcontext(DECIMAL_CONTEXT):
        prorated = round_half_up(units * days / bounds.fixed_charges_duration, 6)
    return max(prorated, Decimal(0)), units


def _fee(
    engine: FeeEngine,
    view: FixedChargeView,
    billed: BilledSubscription,
    bounds: Boundaries,
    taxes: TaxResolver,
) -> FeeDraft:
    fixed = view.fixed_charge
    currency = billed.plan.amount_currency
    exponent = currency_exponent(currency)
    priced, full = _units(view, billed, bounds)
    result = engine.charge_models[fixed.charge_model].compute(
        ChargeInput(
            units=priced,
            properties=dict(fixed.properties),
            currency_exponent=exponent,
            full_units_number=full if fixed.prorated else None,
            prorated=fixed.prorated,
            prorated_events=(ProratedEventValue(full, priced),) if fixed.prorated else (),
        )
    )
    with localcontext(DECIMAL_CONTEXT):
        precise = result.amount.scaleb(exponent)
        unit_cents = int(round_half_up(result.unit_amount.scaleb(exponent)))
    properties = bounds.properties()
    properties.update(charges_from_datetime=None, charges_to_datetime=None, charges_duration=None)
    units = result.full_units_number if result.full_units_number is not None else result.units
    return FeeDraft(
        fee_type="fixed_charge",
        subscription_id=billed.id,
        amount_currency=currency,
        amount_cents=to_cents(result.amount, currency),
        precise_amount_cents=precise.quantize(FEE_PRECISION),
        units=units,
        unit_amount_cents=unit_cents,
        precise_unit_amount=result.unit_amount.quantize(FEE_PRECISION),
        total_aggregated_units=units,
        fixed_charge_id=fixed.id,
        add_on_id=view.add_on.id,
        amount_details=dict(result.amount_details),
        pay_in_advance=fixed.pay_in_advance,
        properties=properties,
        taxes=taxes.for_fee("fixed_charge", billed.plan.id, view.taxes),
    )


def fixed_charge_fee_drafts(
    ctx: Ctx,
    engine: FeeEngine,
    billed: BilledSubscription,
    bounds: Boundaries,
    facts: InvoiceFacts,
    history: SubscriptionHistory,
    taxes: TaxResolver,
    views: list[FixedChargeView] | None = None,
) -> list[FeeDraft]:
    """Fixed-charge fees of ``billed`` (``views``: the plan's fixed charges, if already loaded)."""
    if not bounds.has_fixed_charges:
        return []
    if views is None:
        views = plan_fixed_charges(ctx, billed.plan.id)
    if not views or not _should_bill_any(billed, facts, views):
        return []
    fees: list[FeeDraft] = []
    for view in views:
        if not _should_bill(view, billed, history):
            continue
        fee_bounds = bounds
        if view.fixed_charge.pay_in_advance:
            fee_bounds = _advance_bounds(billed, bounds)
            if _already_billed(ctx, view, billed, fee_bounds):
                continue
        fee = _fee(engine, view, billed, fee_bounds, taxes)
        if fee.units != 0 or fee.amount_cents != 0:
            fees.append(fee)
    return fees
