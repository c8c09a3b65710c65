"""Plans, charges, charge filters and fixed charges in Lago's API shape.

Lago's ``V1::PlanSerializer`` with its includes: the API answers carry everything (the index
leaves out ``fixed_charges``), ``plan.created``/``plan.updated`` carry charges, usage thresholds,
taxes, the minimum commitment and entitlements, ``plan.deleted`` the same without entitlements.
``minimum_commitment`` and ``metadata`` appear only when the plan has them. Decimal columns
(``conversion_rate``, ``units``) are strings, ``trial_period`` a number (Lago keeps a float);
charge properties are echoed as stored, numbers as numbers and amounts as the strings sent.
Entitlements are ``[]`` until the entitlements package exists.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billow.core.money import decimal_str
from billow.core.timefmt import iso_z
from billow.pricing.charge_models.properties import is_present
from billow.pricing.plans.filters import values_dict
from billow.pricing.plans.models import ChargeFilter, Commitment, Plan, UsageThreshold
from billow.pricing.plans.repository import live_charges, live_fixed_charges
from billow.pricing.plans.taxes import taxes_by_owner
from billow.pricing.plans.views import ChargeView, FixedChargeView, charge_views, fixed_charge_views
from billow.pricing.taxes.serializers import taxes_payload

_ALL = ("charges", "usage_thresholds", "applicable_usage_thresholds", "taxes", "minimum_commitment")
API_INCLUDES = frozenset({*_ALL, "fixed_charges", "entitlements"})
INDEX_INCLUDES = frozenset({*_ALL, "entitlements"})
WEBHOOK_INCLUDES = frozenset({"charges", "usage_thresholds", "taxes", "minimum_commitment", "entitlements"})
DELETED_WEBHOOK_INCLUDES = WEBHOOK_INCLUDES - {"entitlements"}


def echoed_properties(properties: dict[str, Any]) -> dict[str, Any]:
    """Lago echoes ``grouped_by`` and ``pricing_group_keys`` as each other when one is missing."""
    attrs = dict(properties)
    grouped, keys = attrs.get("grouped_by"), attrs.get("pricing_group_keys")
    if is_present(grouped) and not is_present(keys):
        attrs["pricing_group_keys"] = grouped
    if is_present(attrs.get("pricing_group_keys")) and not is_present(grouped):
        attrs["grouped_by"] = attrs["pricing_group_keys"]
    return attrs


def filter_payload(charge_code: str, row: ChargeFilter) -> dict[str, Any]:
    return {
        "lago_id": str(row.id),
        "charge_code": charge_code,
        "invoice_display_name": row.invoice_display_name,
        "properties": echoed_properties(row.properties),
        "values": values_dict(row.values),
    }


def charge_payload(session: Session, view: ChargeView) -> dict[str, Any]:
    charge = view.charge
    unit = view.pricing_unit
    rate = charge.pricing_unit_conversion_rate
    return {
        "lago_id": str(charge.id),
        "lago_billable_metric_id": str(charge.billable_metric_id),
        "code": charge.code,
        "invoice_display_name": charge.invoice_display_name,
        "billable_metric_code": view.metric.code,
        "created_at": iso_z(charge.created_at),
        "charge_model": charge.charge_model,
        "invoiceable": charge.invoiceable,
        "regroup_paid_fees": charge.regroup_paid_fees,
        "pay_in_advance": charge.pay_in_advance,
        "prorated": charge.prorated,
        "min_amount_cents": charge.min_amount_cents,
        "accepts_target_wallet": charge.accepts_target_wallet,
        "properties": echoed_properties(charge.properties),
        "applied_pricing_unit": None
        if unit is None or rate is None
        else {"conversion_rate": decimal_str(rate), "code": unit.code},
        "lago_parent_id": None if charge.parent_id is None else str(charge.parent_id),
        "filters": [filter_payload(charge.code, f) for f in view.filters],
        "taxes": taxes_payload(session, view.taxes),
    }


def charges_payload(session: Session, views: Sequence[ChargeView]) -> list[dict[str, Any]]:
    return [charge_payload(session, v) for v in views]


def fixed_charge_payload(session: Session, view: FixedChargeView) -> dict[str, Any]:
    fixed = view.fixed_charge
    return {
        "lago_id": str(fixed.id),
        "lago_add_on_id": str(fixed.add_on_id),
        "code": fixed.code,
        # Lago's column is nullable, but its OpenAPI schema and lago-python-client require a
        # string ("the name of the charge is used by default"): fall back to the add-on's name.
        "invoice_display_name": fixed.invoice_display_name
        or view.add_on.invoice_display_name
        or view.add_on.name,
        "add_on_code": view.add_on.code,
        "created_at": iso_z(fixed.created_at),
        "charge_model": fixed.charge_model,
        "pay_in_advance": fixed.pay_in_advance,
        "prorated": fixed.prorated,
        "properties": dict(fixed.properties),
        "units": decimal_str(fixed.units),
        "lago_parent_id": None if fixed.parent_id is None else str(fixed.parent_id),
        "taxes": taxes_payload(session, view.taxes),
    }


def threshold_payload(row: UsageThreshold) -> dict[str, Any]:
    return {
        "lago_id": str(row.id),
        "threshold_display_name": row.threshold_display_name,
        "amount_cents": row.amount_cents,
        "recurring": row.recurring,
        "created_at": iso_z(row.created_at),
        "updated_at": iso_z(row.updated_at),
    }


def applicable_threshold_payload(row: UsageThreshold) -> dict[str, Any]:
    return {
        "threshold_display_name": row.threshold_display_name,
        "amount_cents": row.amount_cents,
        "recurring": row.recurring,
    }


def _thresholds(session: Session, plan_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[UsageThreshold]]:
    grouped: dict[uuid.UUID, list[UsageThreshold]] = {i: [] for i in plan_ids}
    if plan_ids:
        for row in session.scalars(
            select(UsageThreshold)
            .where(UsageThreshold.plan_id.in_(list(plan_ids)), UsageThreshold.deleted_at.is_(None))
            .order_by(UsageThreshold.created_at, UsageThreshold.id)
        ):
            grouped[row.plan_id].append(row)
    return grouped


def _commitment_payload(session: Session, plan: Plan, commitment: Commitment) -> dict[str, Any]:
    taxes = taxes_by_owner(session, "commitment", [commitment.id])[commitment.id]
    return {
        "lago_id": str(commitment.id),
        "plan_code": plan.code,
        "invoice_display_name": commitment.invoice_display_name,
        "amount_cents": commitment.amount_cents,
        "interval": plan.interval,
        "created_at": iso_z(commitment.created_at),
        "updated_at": iso_z(commitment.updated_at),
        "taxes": taxes_payload(session, taxes),
    }


def _base(plan: Plan) -> dict[str, Any]:
    return {
        "lago_id": str(plan.id),
        "name": plan.name,
        "invoice_display_name": plan.invoice_display_name,
        "created_at": iso_z(plan.created_at),
        "code": plan.code,
        "interval": plan.interval,
        "description": plan.description,
        "amount_cents": plan.amount_cents,
        "amount_currency": plan.amount_currency,
        "trial_period": None if plan.trial_period is None else float(plan.trial_period),
        "pay_in_advance": plan.pay_in_advance,
        "bill_charges_monthly": plan.bill_charges_monthly,
        "bill_fixed_charges_monthly": plan.bill_fixed_charges_monthly,
        "customers_count": 0,
        "active_subscriptions_count": 0,
        "draft_invoices_count": 0,
        "parent_id": None if plan.parent_id is None else str(plan.parent_id),
        "pending_deletion": plan.pending_deletion,
    }


def plans_payload(
    session: Session, plans: Sequence[Plan], includes: Collection[str] = INDEX_INCLUDES
) -> list[dict[str, Any]]:
    """``PlanObject`` for each plan, with the related rows of all plans loaded together."""
    ids = [p.id for p in plans]
    charges: dict[uuid.UUID, list[ChargeView]] = {i: [] for i in ids}
    if "charges" in includes:
        for view in charge_views(session, live_charges(session, ids)):
            charges[view.charge.plan_id].append(view)
    fixed: dict[uuid.UUID, list[FixedChargeView]] = {i: [] for i in ids}
    if "fixed_charges" in includes:
        for fview in fixed_charge_views(session, live_fixed_charges(session, ids)):
            fixed[fview.fixed_charge.plan_id].append(fview)
    applicable_ids = {p.parent_id or p.id for p in plans}
    thresholds = _thresholds(session, set(ids) | applicable_ids)
    plan_taxes = taxes_by_owner(session, "plan", ids)
    commitments = (
        {c.plan_id: c for c in session.scalars(select(Commitment).where(Commitment.plan_id.in_(ids)))}
        if ids and "minimum_commitment" in includes
        else {}
    )
    result = []
    for plan in plans:
        payload = _base(plan)
        if "charges" in includes:
            payload["charges"] = charges_payload(session, charges[plan.id])
        if "fixed_charges" in includes:
            payload["fixed_charges"] = [fixed_charge_payload(session, v) for v in fixed[plan.id]]
        if "entitlements" in includes:
            payload["entitlements"] = []
        if "usage_thresholds" in includes:
            payload["usage_thresholds"] = [threshold_payload(t) for t in thresholds[plan.id]]
        if "applicable_usage_thresholds" in includes:
            applicable = thresholds[plan.parent_id or plan.id]
            payload["applicable_usage_thresholds"] = [applicable_threshold_payload(t) for t in applicable]
        if "taxes" in includes:
            payload["taxes"] = taxes_payload(session, plan_taxes[plan.id])
        commitment = commitments.get(plan.id)
        if commitment is not None:
            payload["minimum_commitment"] = _commitment_payload(session, plan, commitment)
        if plan.item_metadata is not None:
            payload["metadata"] = dict(plan.item_metadata)
        result.append(payload)
    return result


def plan_payload(session: Session, plan: Plan, includes: Collection[str] = API_INCLUDES) -> dict[str, Any]:
    """``PlanObject`` as the plan endpoints answer it."""
    return plans_payload(session, [plan], includes)[0]


def plan_webhook_payload(session: Session, plan: Plan) -> dict[str, Any]:
    """``plan.created`` / ``plan.updated``."""
    return plan_payload(session, plan, WEBHOOK_INCLUDES)


def plan_deleted_webhook_payload(session: Session, plan: Plan) -> dict[str, Any]:
    return plan_payload(session, plan, DELETED_WEBHOOK_INCLUDES)
