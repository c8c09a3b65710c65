"""Fee estimates of an event that is not sent (metering.md §1.7): nothing is ever stored.

``POST /events/estimate_fees`` runs the real pay-in-advance computation: the event (timestamp
now, a random transaction id, the metric's expression applied) is inserted inside a SAVEPOINT,
each pay-in-advance charge of the subscription's plan on its metric prices it exactly as the
``billing.pay_in_advance`` job would (except that a graduated first-tier flat fee is not
charged to the first event, as Lago's estimate), the fees and their taxes are written and
serialized, and the savepoint is rolled back. Checks, in Lago's order: 404
``subscription_not_found`` (blank id, or no subscription with that id live now, to the
second), 404 ``billable_metric_not_found``, 422 ``properties: value_is_not_valid_number``
(``sum``/``max``/``latest`` metrics), 422 ``code: does_not_match_an_instant_charge``.

``/events/estimate_instant_fees`` and ``/events/batch_estimate_instant_fees`` are Lago's cheap
variant for pay-in-advance ``standard`` and ``percentage`` charges: ``units =
properties[field_name]`` (1 without a field name), the metric's rounding, ``units × amount`` or
the percentage of the units (plus fixed amount, within the per-transaction bounds); negative
units price nothing. The hashes are Lago's, quirks included (cents as decimal strings, the unit
amount in cents, no taxes).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from sqlalchemy import select

from billow.billing.advance.fees import Subjects, advance_fee, advance_views
from billow.billing.advance.invoices import fee_row, standalone_taxes, tax_rows
from billow.billing.fee_serializers import fee_payloads
from billow.billing.fees.engine import FeeEngine
from billow.billing.models import Fee
from billow.core.currencies import currency_exponent
from billow.core.errors import NotFound, ValidationFailed
from billow.core.money import DECIMAL_CONTEXT, ZERO, ceil, decimal_str, floor, round_half_up, to_decimal
from billow.customers.models import Customer
from billow.db.context import Ctx
from billow.metering.aggregation import FilterSpec, plan_buckets
from billow.metering.events.parsing import scalar_text
from billow.metering.events.service import prepare_one
from billow.metering.lookup import load_ingest_metrics
from billow.metering.models import BillableMetric
from billow.metering.specs import metric_spec
from billow.metering.store import EventStore
from billow.pricing.plans.filters import values_dict
from billow.pricing.plans.lookup import charges_for_plan
from billow.pricing.plans.models import Plan
from billow.pricing.plans.views import ChargeView
from billow.subscriptions.event_match import subscription_at
from billow.subscriptions.models import Subscription

NUMERIC_FIELD_TYPES = ("sum_agg", "max_agg", "latest_agg")
INSTANT_MODELS = ("standard", "percentage")
_RUBY_FLOAT = re.compile(r"\s*[+-]?(?:\d+(?:_\d+)*(?:\.\d+(?:_\d+)*)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+)?\s*")


def ruby_float_parsable(value: Any) -> bool:
    """Lago's ``value.nil? || Float(value)``: absent, a number, or a decimal/exponent string."""
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return True
    return isinstance(value, str) and _RUBY_FLOAT.fullmatch(value) is not None


def _metric(ctx: Ctx, code: str | None) -> BillableMetric:
    metric = (
        ctx.session.scalar(
            select(BillableMetric).where(
                BillableMetric.organization_id == ctx.org_id,
                BillableMetric.code == code,
                BillableMetric.deleted_at.is_(None),
            )
        )
        if code
        else None
    )
    if metric is None:
        raise NotFound("billable_metric")
    return metric


def _properties(data: Mapping[str, Any]) -> dict[str, Any]:
    raw = data.get("properties")
    return dict(raw) if isinstance(raw, dict) else {}


def _scrub(payload: dict[str, Any]) -> dict[str, Any]:
    """An unsaved fee: no id, no creation time, no invoice; its taxes likewise."""
    payload.update(lago_id=None, lago_invoice_id=None, created_at=None)
    for tax in payload.get("applied_taxes", []):
        tax.update(lago_id=None, lago_fee_id=None, created_at=None)
    return payload


def estimate_fees(
    ctx: Ctx, engine: FeeEngine, store: EventStore, data: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """``POST /events/estimate_fees`` (see module doc): Lago's fee objects with their taxes."""
    now = ctx.now()
    subscription = subscription_at(
        ctx, scalar_text(data.get("external_subscription_id")), now, precision="second"
    )
    if subscription is None:
        raise NotFound("subscription")
    code = scalar_text(data.get("code"))
    metric = _metric(ctx, code)
    properties = _properties(data)
    if metric.aggregation_type in NUMERIC_FIELD_TYPES and not ruby_float_parsable(
        properties.get(metric.field_name or "")
    ):
        raise ValidationFailed({"properties": ["value_is_not_valid_number"]})
    raw_event = {
        "transaction_id": str(uuid.uuid4()),
        "code": code,
        "external_subscription_id": subscription.external_id,
        "properties": properties,
        "precise_total_amount_cents": data.get("precise_total_amount_cents"),
    }
    record = prepare_one(ctx, raw_event, metrics=load_ingest_metrics)
    views = advance_views(ctx, subscription.plan_id, metric.code)
    if not views:
        raise ValidationFailed({"code": ["does_not_match_an_instant_charge"]})
    savepoint = ctx.session.begin_nested()
    try:
        store.insert_many(ctx, [record])
        subject = Subjects(ctx).at(subscription, record.timestamp)
        rows: list[Fee] = []
        if subject is not None:
            for view in views:
                draft = advance_fee(ctx, engine, store, view, subject, record, estimate=True)
                if draft is None:
                    continue
                draft.idempotency_key = None
                row = fee_row(ctx, draft, subject.parties.customer.id)
                ctx.session.add(row)
                ctx.session.add_all(tax_rows(ctx, row, standalone_taxes(row, draft.taxes)))
                rows.append(row)
        ctx.session.flush()
        payloads = [_scrub(p) for p in fee_payloads(ctx.session, rows)]
    finally:
        savepoint.rollback()
    return payloads


# ---------------------------------------------------------------- instant (cheap) estimates


def _instant_views(ctx: Ctx, subscription: Subscription) -> list[ChargeView]:
    return [
        v
        for v in charges_for_plan(ctx, subscription.plan_id)
        if v.charge.pay_in_advance and v.charge.charge_model in INSTANT_MODELS and v.metric.deleted_at is None
    ]


def _evaluated_properties(
    ctx: Ctx, code: str, subscription_id: str, properties: dict[str, Any]
) -> dict[str, Any]:
    """The properties after the metric's expression (left as sent when it cannot be evaluated)."""
    raw = {"transaction_id": "estimate", "code": code, "external_subscription_id": subscription_id}
    try:
        return prepare_one(
            ctx, {**raw, "properties": dict(properties)}, metrics=load_ingest_metrics
        ).properties
    except ValidationFailed:
        return properties


def _rounded_units(metric: BillableMetric, units: Decimal) -> Decimal:
    precision = metric.rounding_precision or 0
    if metric.rounding_function == "round":
        return round_half_up(units, precision)
    if metric.rounding_function == "ceil":
        return ceil(units, precision)
    if metric.rounding_function == "floor":
        return floor(units, precision)
    return units


def _instant_units(metric: BillableMetric, properties: Mapping[str, Any]) -> Decimal:
    base = "0" if metric.field_name else "1"
    raw = properties.get(metric.field_name) if metric.field_name else None
    text = base if raw is None else str(raw).strip()
    try:
        units = to_decimal(text)
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise ValidationFailed({"properties": ["value_is_not_valid_number"]}) from exc
    if not units.is_finite():
        raise ValidationFailed({"properties": ["value_is_not_valid_number"]})
    return _rounded_units(metric, units)


def _optional(properties: Mapping[str, Any], key: str) -> Decimal | None:
    value = properties.get(key)
    return None if value is None or value == "" else to_decimal(value)


def _instant_amount(view: ChargeView, properties: Mapping[str, Any], units: Decimal) -> Decimal:
    if units < 0:
        return ZERO
    with localcontext(DECIMAL_CONTEXT):
        if view.charge.charge_model == "standard":
            return units * (_optional(properties, "amount") or ZERO)
        amount = units * (_optional(properties, "rate") or ZERO) / 100 + (
            _optional(properties, "fixed_amount") or ZERO
        )
        low, high = (
            _optional(properties, "per_transaction_min_amount"),
            _optional(properties, "per_transaction_max_amount"),
        )
        if low is not None and amount < low:
            amount = low
        if high is not None and amount > high:
            amount = high
        return amount


def _instant_filter(ctx: Ctx, view: ChargeView, properties: Mapping[str, Any]) -> Any:
    if not view.filters:
        return None
    specs = [FilterSpec(id=f.id, values=values_dict(f.values)) for f in view.filters]
    bucket = plan_buckets(metric_spec(ctx, view.metric), specs, ()).bucket_for_event(dict(properties))
    return next((f for f in view.filters if f.id == bucket.filter_id), None)


def _instant_fee(
    ctx: Ctx, view: ChargeView, subscription: Subscription, customer: Customer, event: Mapping[str, Any]
) -> dict[str, Any]:
    metric, charge = view.metric, view.charge
    properties = _evaluated_properties(ctx, metric.code, subscription.external_id, _properties(event))
    charge_filter = _instant_filter(ctx, view, properties)
    model_properties = charge_filter.properties if charge_filter is not None else charge.properties
    units = _instant_units(metric, properties)
    amount = _instant_amount(view, model_properties, units)
    if units < 0:
        units = ZERO
    currency = subscription_currency(ctx, subscription)
    exponent = currency_exponent(currency)
    with localcontext(DECIMAL_CONTEXT):
        rounded = round_half_up(amount, exponent)
        amount_cents = rounded.scaleb(exponent)
        unit_amount = ZERO if rounded.is_zero() or units.is_zero() else rounded / units
        unit_amount_cents = unit_amount.scaleb(exponent)
    filters = values_dict(charge_filter.values) if charge_filter is not None else None
    filter_name = None
    if charge_filter is not None and filters is not None:
        filter_name = charge_filter.invoice_display_name or ", ".join(
            v for vs in filters.values() for v in vs
        )
    transaction_id = scalar_text(event.get("transaction_id")) or str(uuid.uuid4())
    return {
        "lago_id": None,
        "lago_charge_id": str(charge.id),
        "lago_charge_filter_id": str(charge_filter.id) if charge_filter is not None else None,
        "lago_invoice_id": None,
        "lago_true_up_fee_id": None,
        "lago_true_up_parent_fee_id": None,
        "lago_subscription_id": str(subscription.id),
        "external_subscription_id": subscription.external_id,
        "lago_customer_id": str(customer.id),
        "external_customer_id": customer.external_id,
        "item": {
            "type": "charge",
            "code": metric.code,
            "name": metric.name,
            "description": metric.description,
            "invoice_display_name": charge.invoice_display_name or metric.name,
            "filters": filters,
            "filter_invoice_display_name": filter_name,
            "lago_item_id": str(metric.id),
            "item_type": "BillableMetric",
            "grouped_by": {},
        },
        "pay_in_advance": True,
        "invoiceable": charge.invoiceable,
        "amount_cents": decimal_str(amount_cents),
        "amount_currency": currency,
        "precise_amount": decimal_str(amount),
        "precise_total_amount": decimal_str(amount),
        "taxes_amount_cents": 0,
        "taxes_precise_amount": 0,
        "taxes_rate": 0,
        "total_amount_cents": decimal_str(amount_cents),
        "total_amount_currency": currency,
        "units": decimal_str(units),
        "description": None,
        "precise_unit_amount": decimal_str(unit_amount_cents),
        "precise_coupons_amount_cents": "0.0",
        "events_count": 1,
        "payment_status": "pending",
        "created_at": None,
        "succeeded_at": None,
        "failed_at": None,
        "refunded_at": None,
        "amount_details": None,
        "event_transaction_id": transaction_id,
    }


def subscription_currency(ctx: Ctx, subscription: Subscription) -> str:
    plan = ctx.session.get(Plan, subscription.plan_id)
    return plan.amount_currency if plan is not None else ""


def _live_subscription(ctx: Ctx, external_id: Any) -> tuple[Subscription, Customer]:
    subscription = subscription_at(ctx, scalar_text(external_id), ctx.now())
    customer = ctx.session.get(Customer, subscription.customer_id) if subscription is not None else None
    if subscription is None or customer is None:
        raise NotFound("subscription")
    return subscription, customer


def estimate_instant_fees(ctx: Ctx, event: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``POST /events/estimate_instant_fees``: one hash per matching charge."""
    subscription, customer = _live_subscription(ctx, event.get("external_subscription_id"))
    code = scalar_text(event.get("code"))
    views = [v for v in _instant_views(ctx, subscription) if v.metric.code == code]
    if not views:
        raise ValidationFailed({"code": ["does_not_match_an_instant_charge"]})
    return [_instant_fee(ctx, view, subscription, customer, event) for view in views]


def batch_estimate_instant_fees(ctx: Ctx, events: list[Any]) -> list[dict[str, Any]]:
    """``POST /events/batch_estimate_instant_fees``: events grouped by subscription id (first
    appearance order); a group whose subscription is not live, or whose plan has no instant
    charge, fails the request."""
    groups: dict[str | None, list[Mapping[str, Any]]] = {}
    for event in events:
        item: Mapping[str, Any] = event if isinstance(event, dict) else {}
        groups.setdefault(scalar_text(item.get("external_subscription_id")), []).append(item)
    fees: list[dict[str, Any]] = []
    for external_id, items in groups.items():
        subscription, customer = _live_subscription(ctx, external_id)
        views = _instant_views(ctx, subscription)
        if not views:
            raise ValidationFailed({"code": ["does_not_match_an_instant_charge"]})
        for item in items:
            code = scalar_text(item.get("code"))
            for view in views:
                if view.metric.code == code:
                    fees.append(_instant_fee(ctx, view, subscription, customer, item))
    return fees
