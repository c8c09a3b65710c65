"""Fees in Lago's shape (``FeeObject``, ``V1::FeeSerializer``).

Amounts are integer cents; ``precise_*`` values, units and unit amounts are decimal strings
(never floats); ``taxes_rate`` is a number, as Lago's float column renders. ``item`` names what
the fee bills: the billable metric (charge), the add-on (fixed charge) or the subscription's
plan (subscription and commitment fees). ``from_date``/``to_date`` come from the usage bounds
(charges), the fixed-charge bounds (fixed charges) or the fee bounds (subscription); commitment
fees have none.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billow.billing.boundaries import property_datetime
from billow.billing.models import Fee, FeeAppliedTax, Invoice
from billow.core.currencies import currency_exponent
from billow.core.money import decimal_str
from billow.core.timefmt import iso_z
from billow.customers.models import Customer
from billow.metering.models import BillableMetric
from billow.pricing.add_ons.models import AddOn
from billow.pricing.plans.filters import values_dict
from billow.pricing.plans.models import Charge, ChargeFilter, FixedCharge, Plan
from billow.pricing.taxes.serializers import rate_number
from billow.subscriptions.models import Subscription

_BOUNDS = {
    "charge": ("charges_from_datetime", "charges_to_datetime"),
    "fixed_charge": ("fixed_charges_from_datetime", "fixed_charges_to_datetime"),
    "subscription": ("from_datetime", "to_datetime"),
    "add_on": ("from_datetime", "to_datetime"),
}


def _by_id(session: Session, model: Any, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, Any]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(wanted)))}


@dataclass(frozen=True)
class _Related:
    charges: dict[uuid.UUID, Charge]
    metrics: dict[uuid.UUID, BillableMetric]
    filters: dict[uuid.UUID, ChargeFilter]
    fixed: dict[uuid.UUID, FixedCharge]
    add_ons: dict[uuid.UUID, AddOn]
    subscriptions: dict[uuid.UUID, Subscription]
    plans: dict[uuid.UUID, Plan]
    customers: dict[uuid.UUID, Customer]
    invoices: dict[uuid.UUID, Invoice]
    true_ups: dict[uuid.UUID, uuid.UUID]
    taxes: dict[uuid.UUID, list[FeeAppliedTax]]


def _load(session: Session, fees: Sequence[Fee], with_taxes: bool) -> _Related:
    charges = _by_id(session, Charge, (f.charge_id for f in fees))
    fixed = _by_id(session, FixedCharge, (f.fixed_charge_id for f in fees))
    subscriptions = _by_id(session, Subscription, (f.subscription_id for f in fees))
    fee_ids = [f.id for f in fees]
    true_ups = {
        parent: child
        for child, parent in session.execute(
            select(Fee.id, Fee.true_up_parent_fee_id).where(Fee.true_up_parent_fee_id.in_(fee_ids))
        )
    }
    taxes: dict[uuid.UUID, list[FeeAppliedTax]] = {i: [] for i in fee_ids}
    if with_taxes:
        rows = session.scalars(
            select(FeeAppliedTax)
            .where(FeeAppliedTax.fee_id.in_(fee_ids))
            .order_by(FeeAppliedTax.created_at, FeeAppliedTax.id)
        )
        for row in rows:
            taxes[row.fee_id].append(row)
    return _Related(
        charges=charges,
        metrics=_by_id(
            session,
            BillableMetric,
            [f.billable_metric_id for f in fees] + [c.billable_metric_id for c in charges.values()],
        ),
        filters=_by_id(session, ChargeFilter, (f.charge_filter_id for f in fees)),
        fixed=fixed,
        add_ons=_by_id(session, AddOn, [f.add_on_id for f in fees] + [x.add_on_id for x in fixed.values()]),
        subscriptions=subscriptions,
        plans=_by_id(session, Plan, (s.plan_id for s in subscriptions.values())),
        customers=_by_id(session, Customer, (f.customer_id for f in fees)),
        invoices=_by_id(session, Invoice, (f.invoice_id for f in fees)),
        true_ups={k: v for k, v in true_ups.items() if k is not None},
        taxes=taxes,
    )


def _precise(cents: Decimal, currency: str) -> str:
    return decimal_str(Decimal(cents).scaleb(-currency_exponent(currency)))


def _item(fee: Fee, rel: _Related) -> dict[str, Any]:
    item: dict[str, Any] = {"type": fee.fee_type, "filters": None, "filter_invoice_display_name": None}
    sub = rel.subscriptions.get(fee.subscription_id) if fee.subscription_id else None
    if fee.fee_type == "charge":
        charge = rel.charges.get(fee.charge_id) if fee.charge_id else None
        metric_id = fee.billable_metric_id or (charge.billable_metric_id if charge else None)
        metric = rel.metrics.get(metric_id) if metric_id else None
        name = metric.name if metric else ""
        item.update(
            code=metric.code if metric else "",
            name=name,
            description=metric.description if metric else None,
            invoice_display_name=fee.invoice_display_name
            or (charge.invoice_display_name if charge else None)
            or name,
            lago_item_id=str(metric.id) if metric else None,
            item_type="BillableMetric",
        )
        charge_filter = rel.filters.get(fee.charge_filter_id) if fee.charge_filter_id else None
        if charge_filter is not None:
            values = values_dict(charge_filter.values)
            item["filters"] = values
            item["filter_invoice_display_name"] = charge_filter.invoice_display_name or ", ".join(
                v for vs in values.values() for v in vs
            )
    elif fee.fee_type in ("fixed_charge", "add_on"):
        fixed = rel.fixed.get(fee.fixed_charge_id) if fee.fixed_charge_id else None
        add_on_id = fee.add_on_id or (fixed.add_on_id if fixed else None)
        add_on = rel.add_ons.get(add_on_id) if add_on_id else None
        add_on_name = (add_on.invoice_display_name or add_on.name) if add_on else ""
        item.update(
            code=add_on.code if add_on else "",
            name=add_on.name if add_on else "",
            description=add_on.description if add_on else None,
            invoice_display_name=fee.invoice_display_name
            or (fixed.invoice_display_name if fixed else None)
            or add_on_name,
            lago_item_id=str(add_on.id) if add_on else None,
            item_type="AddOn",
        )
    elif fee.fee_type == "credit":
        # A wallet top-up: the item is the wallet transaction (``properties`` keep its id).
        name = fee.invoice_display_name or "credit"
        item.update(
            code="credit",
            name=name,
            description="credit",
            invoice_display_name=name,
            lago_item_id=fee.properties.get("wallet_transaction_id"),
            item_type="WalletTransaction",
        )
    else:
        plan = rel.plans.get(sub.plan_id) if sub else None
        sub_name = (sub.name if sub else None) or (plan.invoice_display_name if plan else None)
        item.update(
            code=plan.code if plan else "",
            name=plan.name if plan else "",
            description=plan.description if plan else None,
            invoice_display_name=fee.invoice_display_name or sub_name or (plan.name if plan else ""),
            lago_item_id=str(fee.subscription_id) if fee.subscription_id else None,
            item_type="Subscription",
        )
    item["grouped_by"] = fee.grouped_by or {}
    ordered = ("type", "code", "name", "description", "invoice_display_name", "filters")
    rest = ("filter_invoice_display_name", "lago_item_id", "item_type", "grouped_by")
    return {key: item.get(key) for key in (*ordered, *rest)}


def _pay_in_advance(fee: Fee, rel: _Related) -> bool:
    if fee.fee_type in ("charge", "fixed_charge"):
        return fee.pay_in_advance
    if fee.fee_type == "subscription" and fee.subscription_id:
        sub = rel.subscriptions.get(fee.subscription_id)
        plan = rel.plans.get(sub.plan_id) if sub else None
        return bool(plan.pay_in_advance) if plan else False
    return False


def applied_tax_payload(row: FeeAppliedTax) -> dict[str, Any]:
    return {
        "lago_id": str(row.id),
        "lago_fee_id": str(row.fee_id),
        "lago_tax_id": str(row.tax_id) if row.tax_id else None,
        "tax_name": row.tax_name,
        "tax_code": row.tax_code,
        "tax_rate": rate_number(row.tax_rate),
        "tax_description": row.tax_description,
        "amount_cents": row.amount_cents,
        "amount_currency": row.amount_currency,
        "created_at": iso_z(row.created_at),
    }


def _payload(fee: Fee, rel: _Related, with_taxes: bool) -> dict[str, Any]:
    currency = fee.amount_currency
    sub = rel.subscriptions.get(fee.subscription_id) if fee.subscription_id else None
    customer = rel.customers.get(fee.customer_id)
    invoice = rel.invoices.get(fee.invoice_id) if fee.invoice_id else None
    charge = rel.charges.get(fee.charge_id) if fee.charge_id else None
    true_up = rel.true_ups.get(fee.id)
    sub_total_precise = fee.precise_amount_cents - fee.precise_coupons_amount_cents
    payload: dict[str, Any] = {
        "lago_id": str(fee.id),
        "lago_charge_id": str(fee.charge_id) if fee.charge_id else None,
        "lago_charge_filter_id": str(fee.charge_filter_id) if fee.charge_filter_id else None,
        "lago_fixed_charge_id": str(fee.fixed_charge_id) if fee.fixed_charge_id else None,
        "lago_invoice_id": str(fee.invoice_id) if fee.invoice_id else None,
        "lago_true_up_fee_id": str(true_up) if true_up else None,
        "lago_true_up_parent_fee_id": str(fee.true_up_parent_fee_id) if fee.true_up_parent_fee_id else None,
        "lago_original_fee_id": None,
        "lago_subscription_id": str(fee.subscription_id) if fee.subscription_id else None,
        "external_subscription_id": sub.external_id if sub else None,
        "lago_customer_id": str(fee.customer_id),
        "external_customer_id": customer.external_id if customer else None,
        "item": _item(fee, rel),
        "pay_in_advance": _pay_in_advance(fee, rel),
        "invoiceable": charge.invoiceable if (fee.fee_type == "charge" and charge) else True,
        "amount_cents": fee.amount_cents,
        "amount_currency": currency,
        "precise_amount": _precise(fee.precise_amount_cents, currency),
        "precise_total_amount": _precise(fee.precise_amount_cents + fee.taxes_precise_amount_cents, currency),
        "taxes_amount_cents": fee.taxes_amount_cents,
        "taxes_precise_amount": _precise(fee.taxes_precise_amount_cents, currency),
        "taxes_rate": rate_number(fee.taxes_rate),
        "total_aggregated_units": decimal_str(
            fee.total_aggregated_units if fee.total_aggregated_units is not None else fee.units
        ),
        "total_amount_cents": fee.amount_cents + fee.taxes_amount_cents,
        "total_amount_currency": currency,
        "units": decimal_str(fee.units),
        "description": fee.description,
        "precise_unit_amount": decimal_str(fee.precise_unit_amount),
        "precise_coupons_amount_cents": decimal_str(fee.precise_coupons_amount_cents),
        "sub_total_excluding_taxes_amount_cents": int(
            Decimal(fee.amount_cents) - fee.precise_coupons_amount_cents
        ),
        "sub_total_excluding_taxes_precise_amount_cents": decimal_str(sub_total_precise),
        "events_count": fee.events_count,
        "payment_status": fee.payment_status,
        "created_at": iso_z(fee.created_at),
        "succeeded_at": iso_z(fee.succeeded_at),
        "failed_at": iso_z(fee.failed_at),
        "refunded_at": iso_z(fee.refunded_at),
        "amount_details": fee.amount_details or {},
        "self_billed": bool(invoice.self_billed) if invoice else False,
        "pricing_unit_details": fee.pricing_unit_details,
        "presentation_breakdowns": [],
    }
    bounds = _BOUNDS.get(fee.fee_type)
    if bounds is not None:
        display = fee.properties.get("display_bounds")
        keys = ("display_from_datetime", "display_to_datetime") if display else bounds
        payload["from_date"] = iso_z(property_datetime(fee.properties, keys[0]))
        payload["to_date"] = iso_z(property_datetime(fee.properties, keys[1]))
    if fee.pay_in_advance and fee.fee_type == "charge":
        payload["event_transaction_id"] = fee.pay_in_advance_event_transaction_id
    if with_taxes:
        payload["applied_taxes"] = [applied_tax_payload(t) for t in rel.taxes.get(fee.id, [])]
    return payload


def fee_payloads(session: Session, fees: Sequence[Fee], *, with_taxes: bool = True) -> list[dict[str, Any]]:
    """Many fees with their related rows loaded together (a fixed number of queries)."""
    if not fees:
        return []
    rel = _load(session, fees, with_taxes)
    return [_payload(fee, rel, with_taxes) for fee in fees]


def fee_payload(session: Session, fee: Fee, *, with_taxes: bool = True) -> dict[str, Any]:
    return fee_payloads(session, [fee], with_taxes=with_taxes)[0]


def fee_webhook_payload(session: Session, event: Any) -> dict[str, Any]:
    """``fee.created``: the fee without its applied taxes."""
    fee = event.fee if hasattr(event, "fee") else event
    return fee_payload(session, fee, with_taxes=False)
