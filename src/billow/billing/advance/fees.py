"""The fee of one event for one pay-in-advance charge (metering.md §3.8).

The window is the event's current billing period cut at the event (ties by ingestion order).
The aggregation engine gives the bucket (the matching filter with the most keys, else the
default bucket) and group of the event, the bucket/group aggregated up to and including it
(``A``) and the units it adds (``a``: count 1; sum and unique count the rise of the period's
high-water mark; ``a × days(event, T) / P``, ceil 5, when prorated). The pure
:func:`~billow.pricing.charge_models.advance.pay_in_advance_delta` prices
``model(A) − model(A − a)``.

The fee shows the units the event applied: ``a`` (never prorated), except that an event of a
sum below the high-water mark shows its own value (zero when negative), as Lago does. Its
``events_count`` is 1, its ``properties`` the event's period boundaries at the event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time
from decimal import Decimal, localcontext
from typing import Any

from billow.billing.boundaries import Boundaries
from billow.billing.fees.drafts import FEE_PRECISION, FeeDraft
from billow.billing.fees.engine import FeeEngine
from billow.billing.fees.metered import request_for
from billow.billing.fees.taxes import TaxResolver
from billow.billing.fees.usage import UsageWindow
from billow.billing.parties import InvoiceParties, customer_by_id, parties_for
from billow.billing.subjects import BilledSubscription, load_billed_subscription
from billow.core.currencies import currency_exponent
from billow.core.money import DECIMAL_CONTEXT, ZERO, decimal_str, round_half_up, to_cents
from billow.db.context import Ctx
from billow.metering.events.parsing import numeric_value, property_text
from billow.metering.store import EventRecord, EventStore
from billow.pricing.charge_models import ChargeInput, convert_pricing_unit_amount
from billow.pricing.charge_models.advance import AdvanceEvent, pay_in_advance_delta
from billow.pricing.plans.lookup import charges_for_plan
from billow.pricing.plans.views import ChargeView
from billow.subscriptions.models import Subscription
from billow.subscriptions.periods import billing_dates

COUNTED_PER_EVENT = ("count_agg", "unique_count_agg")
NO_FIELD_NEEDED = ("count_agg", "custom_agg")


def idempotency_key(charge_id: uuid.UUID, event_id: uuid.UUID) -> str:
    """One pay-in-advance fee per (charge, event), forever (unique per organization)."""
    return f"advance:{charge_id}:{event_id}"


@dataclass(frozen=True)
class AdvanceSubject:
    """The subscription an event is billed on, with its parties, its current period at the
    event (``bounds``) and the tax resolver of its customer."""

    billed: BilledSubscription
    parties: InvoiceParties
    bounds: Boundaries
    taxes: TaxResolver


class Subjects:
    """Loads subjects, each subscription once per unit of work (a job bills many events)."""

    def __init__(self, ctx: Ctx) -> None:
        self._ctx = ctx
        self._loaded: dict[uuid.UUID, tuple[BilledSubscription, InvoiceParties, TaxResolver] | None] = {}

    def at(self, subscription: Subscription, at: datetime) -> AdvanceSubject | None:
        """``subscription`` billed at the instant ``at`` (its current period there)."""
        if subscription.id not in self._loaded:
            self._loaded[subscription.id] = self._load(subscription)
        loaded = self._loaded[subscription.id]
        if loaded is None:
            return None
        billed, parties, taxes = loaded
        dates = billing_dates(billed.schedule(), max(at, billed.started_at), current_usage=True)
        return AdvanceSubject(billed, parties, Boundaries.from_dates(dates), taxes)

    def _load(
        self, subscription: Subscription
    ) -> tuple[BilledSubscription, InvoiceParties, TaxResolver] | None:
        ctx = self._ctx
        customer = customer_by_id(ctx, subscription.customer_id)
        if customer is None:
            return None
        parties = parties_for(ctx, customer, subscription.billing_entity_id)
        billed = load_billed_subscription(ctx, subscription, customer, parties.settings_entity)
        return billed, parties, TaxResolver(ctx, customer.billing_entity_id, customer.id)


def advance_views(ctx: Ctx, plan_id: uuid.UUID, code: str) -> list[ChargeView]:
    """The plan's live pay-in-advance charges on the live metric ``code`` (oldest first)."""
    return [
        view
        for view in charges_for_plan(ctx, plan_id)
        if view.charge.pay_in_advance and view.metric.code == code and view.metric.deleted_at is None
    ]


def is_present(value: Any) -> bool:
    """Ruby's ``present?`` on a JSON value."""
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | dict):
        return bool(value)
    return True


def processable(view: ChargeView, properties: dict[str, Any]) -> bool:
    """Lago creates no fee for an event that lacks the metric's field (count and custom aside)."""
    metric = view.metric
    if metric.aggregation_type in NO_FIELD_NEEDED:
        return True
    return metric.field_name is not None and is_present(properties.get(metric.field_name))


def _event_value(view: ChargeView, event: EventRecord) -> Decimal | None:
    field = view.metric.field_name
    return numeric_value(property_text(event.properties.get(field))) if field else None


def _shown_units(view: ChargeView, applied: Decimal, value: Decimal | None) -> Decimal:
    """The fee's units: what the event applied; below a sum's mark, its own value (≥ 0)."""
    kind = view.metric.aggregation_type
    if kind == "count_agg":
        return Decimal(1)
    if kind == "sum_agg" and applied <= 0 and value is not None:
        return max(value, ZERO)
    return max(applied, ZERO)


def _grouped_by(view: ChargeView, properties: dict[str, Any], event: EventRecord) -> dict[str, Any]:
    keys = properties.get("pricing_group_keys") or properties.get("grouped_by") or []
    grouped = {key: event.properties.get(key) for key in keys if isinstance(key, str) and key}
    wallet = event.properties.get("target_wallet_code")
    if view.charge.accepts_target_wallet and is_present(wallet):
        grouped["target_wallet_code"] = wallet
    return grouped


def display_interval(billed: BilledSubscription, timestamp: datetime) -> dict[str, Any]:
    """The period a non-invoiceable fee pays for, as its ``from_date``/``to_date`` show it (Lago's
    ``charge_pay_in_advance_interval``: the local dates of the period holding ``timestamp``,
    rendered as UTC days)."""
    period = billing_dates(billed.schedule(), timestamp, current_usage=True)
    start = datetime.combine(period.charges_period.start, time(0), tzinfo=UTC)
    end = datetime.combine(period.charges_period.end, time(23, 59, 59), tzinfo=UTC)
    return {
        "display_bounds": True,
        "display_from_datetime": start.isoformat().replace("+00:00", "Z"),
        "display_to_datetime": end.isoformat().replace("+00:00", "Z"),
    }


@dataclass(frozen=True)
class FeeMoney:
    amount_cents: int
    precise_amount_cents: Decimal
    unit_amount_cents: int
    precise_unit_amount: Decimal
    pricing_unit_details: dict[str, Any] | None


def fee_money(
    view: ChargeView, amount: Decimal, units: Decimal, currency: str, unit_amount: Decimal | None = None
) -> FeeMoney:
    """Cents of a fee's amount (half-up; a pricing unit's double rounding, §3.10). The unit
    amount is ``unit_amount`` when given, else the rounded amount per unit (pay-in-advance)."""
    exponent = currency_exponent(currency)
    charge = view.charge
    with localcontext(DECIMAL_CONTEXT):
        if view.pricing_unit is not None and charge.pricing_unit_conversion_rate is not None:
            if unit_amount is None:
                rounded = round_half_up(amount, 2)
                unit_amount = ZERO if rounded.is_zero() or units.is_zero() else rounded / units
            conv = convert_pricing_unit_amount(
                amount, unit_amount, Decimal(charge.pricing_unit_conversion_rate), exponent
            )
            details = {
                "lago_pricing_unit_id": str(view.pricing_unit.id),
                "pricing_unit_code": view.pricing_unit.code,
                "short_name": view.pricing_unit.short_name,
                "amount_cents": conv.pricing_unit_amount_cents,
                "precise_amount_cents": decimal_str(conv.pricing_unit_precise_amount_cents),
                "unit_amount_cents": conv.pricing_unit_unit_amount_cents,
                "precise_unit_amount": decimal_str(conv.pricing_unit_precise_unit_amount),
                "conversion_rate": decimal_str(conv.conversion_rate),
            }
            return FeeMoney(
                conv.amount_cents,
                conv.precise_amount_cents,
                int(round_half_up(conv.unit_amount_cents)),
                conv.precise_unit_amount,
                details,
            )
        if unit_amount is None:
            rounded = round_half_up(amount, exponent)
            unit_amount = ZERO if rounded.is_zero() or units.is_zero() else rounded / units
        return FeeMoney(
            to_cents(amount, currency),
            amount.scaleb(exponent),
            int(round_half_up(unit_amount.scaleb(exponent))),
            unit_amount,
            None,
        )


def advance_fee(
    ctx: Ctx,
    engine: FeeEngine,
    store: EventStore,
    view: ChargeView,
    subject: AdvanceSubject,
    event: EventRecord,
    *,
    estimate: bool = False,
) -> FeeDraft | None:
    """The fee draft of the stored ``event`` for ``view``'s charge (see module doc); ``None``
    when the charge cannot be priced per event (``custom_agg``) or the period has no usage
    window. ``estimate``: price the event as ``/events/estimate_fees`` does (the "without"
    side keeps a graduated first-tier flat fee)."""
    bounds, billed = subject.bounds, subject.billed
    start, end = bounds.charges_from_datetime, bounds.charges_to_datetime
    if view.metric.aggregation_type == "custom_agg" or start is None or end is None:
        return None
    charge, metric = view.charge, view.metric
    window = UsageWindow(start, end, bounds.charges_duration, billed.timezone, current_usage=True)
    request = request_for(ctx, view, billed.subscription, window)
    request = replace(request, options=replace(request.options, high_water=False))
    found = store.event_units(ctx, request, event)
    charge_filter = next((f for f in view.filters if f.id == found.filter_id), None)
    properties = dict(charge_filter.properties if charge_filter is not None else charge.properties)
    applied = found.prorated_units if found.prorated_units is not None else found.units
    value = _event_value(view, event)
    counted = metric.aggregation_type in COUNTED_PER_EVENT or value is not None
    currency = billed.plan.amount_currency
    entry = found.entry
    with_event = ChargeInput(
        units=entry.units,
        properties=properties,
        events_count=entry.events_count,
        aggregation_type=metric.aggregation_type,
        event_values=entry.event_values,
        precise_total_amount_cents=entry.precise_total_amount_cents,
        currency_exponent=currency_exponent(currency),
        full_units_number=entry.full_units_number,
        prorated=charge.prorated,
    )
    priced = pay_in_advance_delta(
        engine.charge_models[charge.charge_model],
        with_event,
        AdvanceEvent(
            units=applied,
            precise_total_amount_cents=event.precise_total_amount_cents or ZERO,
            value_index=-1 if counted and entry.event_values else None,
        ),
        suppress_first_flat_fee=not estimate,
    )
    units = _shown_units(view, found.units, value)
    money = fee_money(view, priced.amount, units, currency)
    fee_properties = bounds.for_charges()
    if not charge.invoiceable:
        fee_properties.update(display_interval(billed, bounds.timestamp))
    return FeeDraft(
        fee_type="charge",
        subscription_id=billed.id,
        amount_currency=currency,
        amount_cents=money.amount_cents,
        precise_amount_cents=money.precise_amount_cents.quantize(FEE_PRECISION),
        units=units,
        unit_amount_cents=money.unit_amount_cents,
        precise_unit_amount=money.precise_unit_amount.quantize(FEE_PRECISION),
        total_aggregated_units=units,
        events_count=1,
        charge_id=charge.id,
        charge_filter_id=charge_filter.id if charge_filter is not None else None,
        billable_metric_id=metric.id,
        grouped_by=_grouped_by(view, properties, event),
        amount_details=dict(priced.amount_details),
        pricing_unit_details=money.pricing_unit_details,
        pay_in_advance=True,
        invoiceable=charge.invoiceable,
        properties=fee_properties,
        taxes=subject.taxes.for_fee("charge", billed.plan.id, view.taxes),
        pay_in_advance_event_id=event.id,
        pay_in_advance_event_transaction_id=event.transaction_id,
        idempotency_key=idempotency_key(charge.id, event.id),
    )
