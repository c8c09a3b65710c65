"""Usage charges: create (in a plan or on their own), update (Lago's replace semantics), delete.

Checks follow Lago's ``Charge`` model (metering.md §3.1–3.2): the pure ``charge_models`` package
validates the properties (all codes under ``properties``) and the compatibility matrix; the metric
must be a live metric of the organization (404 ``billable_metric_not_found``). Errors raise before
the charge is written; a later failure (filters, pricing unit, taxes) raises too, and the unit of
work rolls everything back. Every Lago premium feature is available.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from billow.core.errors import ErrorCollector, ErrorDetails, NotFound, ValidationFailed
from billow.core.money import round_half_up
from billow.db.context import Ctx
from billow.pricing import casting
from billow.pricing.casting import NOT_A_NUMBER, Invalid
from billow.pricing.charge_models import (
    PropertyErrors,
    prepare_properties,
    properties_error_details,
    validate_charge_rules,
)
from billow.pricing.plans.filters import replace_filters
from billow.pricing.plans.inputs import Raw, as_dict, cents, cents_errors, dict_list, enum_text, present_text
from billow.pricing.plans.models import REGROUP_PAID_FEES, Charge, ChargeFilter, Plan
from billow.pricing.plans.repository import (
    MetricInfo,
    charge_code_taken,
    generate_charge_code,
    metric_info,
    metrics_by_id,
)
from billow.pricing.plans.taxes import apply_tax_codes
from billow.pricing.pricing_units.service import find_pricing_unit

OWNER = "charge"
RATE_PLACES = 15


@dataclass
class ChargeDraft:
    """A charge's fields after the request's changes, before validation."""

    code: str | None
    charge_model: str | None
    invoice_display_name: str | None
    properties: dict[str, Any]
    property_errors: PropertyErrors
    pay_in_advance: bool
    prorated: bool
    invoiceable: bool
    regroup_paid_fees: str | Invalid | None
    min_amount_cents: int | Invalid | None
    accepts_target_wallet: bool


def resolve_metric(ctx: Ctx, raw_id: Any) -> MetricInfo:
    text = casting.text(raw_id)
    metric = metrics_by_id(ctx, [text]).get(text) if text else None
    if metric is None:
        raise NotFound("billable_metric")
    return metric


def _prepared(
    model: str | None, raw_properties: Any, metric: MetricInfo
) -> tuple[dict[str, Any], PropertyErrors]:
    prepared = prepare_properties(
        model or "", as_dict(raw_properties), aggregation_type=metric.aggregation_type, premium=True
    )
    return prepared.properties, prepared.errors


def check_charge(draft: ChargeDraft, metric: MetricInfo, *, code_taken: bool) -> ErrorDetails:
    """Lago's ``Charge`` validations on the final state (``{field: [codes]}``, empty when valid)."""
    minimum = draft.min_amount_cents if isinstance(draft.min_amount_cents, int) else 0
    regroup = draft.regroup_paid_fees if isinstance(draft.regroup_paid_fees, str) else None
    rules = validate_charge_rules(
        charge_model=draft.charge_model or "",
        aggregation_type=metric.aggregation_type,
        recurring=metric.recurring,
        pay_in_advance=draft.pay_in_advance,
        prorated=draft.prorated,
        invoiceable=draft.invoiceable,
        regroup_paid_fees=regroup,
        min_amount_cents=minimum,
        premium=True,
    )
    errors = ErrorCollector()
    for code in rules.get("charge_model", []):
        errors.add("charge_model", code)
    if draft.charge_model is None:
        errors.add("charge_model", "value_is_mandatory")
    for code in properties_error_details(draft.property_errors).get("properties", []):
        errors.add("properties", code)
    for code in cents_errors(draft.min_amount_cents, minimum=0, allow_nil=True):
        errors.add("min_amount_cents", code)
    if draft.code is None or casting.is_blank(draft.code):
        errors.add("code", "value_is_mandatory")
    elif code_taken:
        errors.add("code", "value_already_exist")
    for name in ("pay_in_advance", "regroup_paid_fees", "prorated", "min_amount_cents", "invoiceable"):
        for code in rules.get(name, []):
            errors.add(name, code)
    if isinstance(draft.regroup_paid_fees, Invalid):
        errors.add("regroup_paid_fees", "value_is_invalid")
    return errors.details


def _flush(ctx: Ctx) -> None:
    """Flush in a savepoint: losing a race on the unique code is a 422, not a 500."""
    try:
        with ctx.session.begin_nested():
            ctx.session.flush()
    except IntegrityError as exc:
        raise ValidationFailed({"code": ["value_already_exist"]}) from exc


def _store(charge: Charge, draft: ChargeDraft) -> None:
    assert draft.charge_model is not None and draft.code is not None
    charge.code = draft.code
    charge.charge_model = draft.charge_model
    charge.invoice_display_name = draft.invoice_display_name
    charge.properties = draft.properties
    charge.pay_in_advance = draft.pay_in_advance
    charge.prorated = draft.prorated
    charge.invoiceable = draft.invoiceable
    charge.regroup_paid_fees = draft.regroup_paid_fees if isinstance(draft.regroup_paid_fees, str) else None
    charge.min_amount_cents = draft.min_amount_cents if isinstance(draft.min_amount_cents, int) else 0
    charge.accepts_target_wallet = draft.accepts_target_wallet


def conversion_rate(raw: Any) -> Decimal:
    """An applied pricing unit's rate: present and > 0 (kept to 15 places, as Lago's column)."""
    value = casting.decimal(raw)
    if value is None:
        raise ValidationFailed({"conversion_rate": ["value_is_mandatory", NOT_A_NUMBER]})
    if isinstance(value, Invalid):
        raise ValidationFailed({"conversion_rate": [NOT_A_NUMBER]})
    if value <= 0:
        raise ValidationFailed({"conversion_rate": ["value_is_out_of_range"]})
    return round_half_up(value, RATE_PLACES)


def _apply_pricing_unit(ctx: Ctx, charge: Charge, raw: dict[str, Any]) -> None:
    code = casting.text(raw.get("code"))
    unit = find_pricing_unit(ctx, code) if code else None
    errors = ErrorCollector()
    if unit is None:
        errors.add("pricing_unit", "relation_must_exist")
    try:
        rate = conversion_rate(raw.get("conversion_rate"))
    except ValidationFailed as exc:
        for name, codes in exc.details.items():
            for c in codes:
                errors.add(name, c)
    errors.raise_if_any()
    assert unit is not None
    charge.pricing_unit_id = unit.id
    charge.pricing_unit_conversion_rate = rate
    ctx.session.flush()


def create_charge(ctx: Ctx, plan: Plan, raw: Raw, *, parent_id: uuid.UUID | None = None) -> Charge:
    """``Charges::CreateService``: a missing ``code`` is generated from the metric's code."""
    metric = resolve_metric(ctx, raw.get("billable_metric_id"))
    code = present_text(raw, "code") or generate_charge_code(ctx, plan.id, metric.code)
    model = casting.text(raw.get("charge_model"))
    properties, property_errors = _prepared(model, raw.get("properties"), metric)
    invoiceable = casting.boolean(raw.get("invoiceable"))
    draft = ChargeDraft(
        code=code,
        charge_model=model,
        invoice_display_name=casting.text(raw.get("invoice_display_name")),
        properties=properties,
        property_errors=property_errors,
        pay_in_advance=bool(casting.boolean(raw.get("pay_in_advance"))),
        prorated=bool(casting.boolean(raw.get("prorated"))),
        invoiceable=True if invoiceable is None else invoiceable,
        regroup_paid_fees=enum_text(raw.get("regroup_paid_fees"), REGROUP_PAID_FEES),
        min_amount_cents=cents(raw.get("min_amount_cents")) or 0,
        accepts_target_wallet=bool(casting.boolean(raw.get("accepts_target_wallet"))),
    )
    taken = parent_id is None and charge_code_taken(ctx, plan.id, code, None)
    details = check_charge(draft, metric, code_taken=taken)
    if details:
        raise ValidationFailed(details)
    now = ctx.now()
    charge = Charge(
        organization_id=ctx.org_id,
        plan_id=plan.id,
        billable_metric_id=metric.id,
        parent_id=parent_id,
        created_at=now,
        updated_at=now,
    )
    _store(charge, draft)
    ctx.session.add(charge)
    _flush(ctx)
    _after_write(ctx, charge, metric, raw, creating=True)
    return charge


def _after_write(ctx: Ctx, charge: Charge, metric: MetricInfo, raw: Raw, *, creating: bool) -> None:
    """Filters, then the pricing unit, then taxes (Lago's order)."""
    filters = dict_list(raw.get("filters"))
    if filters is not None and (filters or not creating):
        replace_filters(ctx, charge, metric, filters)
    unit = as_dict(raw.get("applied_pricing_unit"))
    if creating and unit:
        _apply_pricing_unit(ctx, charge, unit)
    elif unit and charge.pricing_unit_id is not None and present_text(unit, "conversion_rate") is not None:
        charge.pricing_unit_conversion_rate = conversion_rate(unit.get("conversion_rate"))
    codes = casting.string_list(raw.get("tax_codes"))
    if codes is not None and (codes or not creating):
        apply_tax_codes(ctx, OWNER, charge.id, codes)
    ctx.session.flush()


def update_charge(ctx: Ctx, charge: Charge, raw: Raw) -> Charge:
    """``Charges::UpdateService`` (plan not attached to subscriptions): ``charge_model``,
    ``invoice_display_name`` and ``properties`` are replaced (absent → null / the model's defaults,
    so ``charge_model`` is required); ``min_amount_cents`` absent → 0; the other fields change
    only when sent. The pricing unit itself cannot change, only its ``conversion_rate``."""
    if "billable_metric_id" in raw:
        metric = resolve_metric(ctx, raw.get("billable_metric_id"))
    else:
        found = metric_info(ctx, charge.billable_metric_id)
        assert found is not None
        metric = found
    model = casting.text(raw.get("charge_model"))
    properties, property_errors = _prepared(model, raw.get("properties"), metric)
    invoiceable = casting.boolean(raw.get("invoiceable"))
    accepts = casting.boolean(raw.get("accepts_target_wallet"))
    draft = ChargeDraft(
        code=present_text(raw, "code") or charge.code,
        charge_model=model,
        invoice_display_name=casting.text(raw.get("invoice_display_name")),
        properties=properties,
        property_errors=property_errors,
        pay_in_advance=bool(casting.boolean(raw.get("pay_in_advance")))
        if "pay_in_advance" in raw
        else charge.pay_in_advance,
        prorated=bool(casting.boolean(raw.get("prorated"))) if "prorated" in raw else charge.prorated,
        invoiceable=charge.invoiceable if invoiceable is None else invoiceable,
        regroup_paid_fees=enum_text(raw.get("regroup_paid_fees"), REGROUP_PAID_FEES)
        if "regroup_paid_fees" in raw
        else charge.regroup_paid_fees,
        min_amount_cents=cents(raw.get("min_amount_cents")) or 0,
        accepts_target_wallet=charge.accepts_target_wallet if accepts is None else accepts,
    )
    taken = (
        charge.parent_id is None
        and draft.code is not None
        and charge_code_taken(ctx, charge.plan_id, draft.code, charge.id)
    )
    details = check_charge(draft, metric, code_taken=taken)
    if details:
        raise ValidationFailed(details)
    _store(charge, draft)
    charge.billable_metric_id = metric.id
    charge.updated_at = ctx.now()
    _flush(ctx)
    _after_write(ctx, charge, metric, raw, creating=False)
    return charge


def delete_charge(ctx: Ctx, charge: Charge) -> Charge:
    """Soft delete, with its filters (Lago's ``Charges::DestroyService``)."""
    now = ctx.now()
    charge.deleted_at = now
    charge.updated_at = now
    for row in ctx.session.scalars(
        select(ChargeFilter).where(
            ChargeFilter.organization_id == ctx.org_id,
            ChargeFilter.charge_id == charge.id,
            ChargeFilter.deleted_at.is_(None),
        )
    ):
        row.deleted_at = now
        row.updated_at = now
    ctx.session.flush()
    return charge
