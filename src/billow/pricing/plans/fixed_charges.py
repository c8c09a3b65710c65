"""Fixed charges: an add-on billed every period for a number of units (metering.md §3.11).

Lago's ``FixedCharge`` rules: ``charge_model`` ∈ standard | graduated | volume, ``units`` ≥ 0,
volume cannot be paid in advance (``pay_in_advance: invalid_charge_model``), graduated cannot be
both paid in advance and prorated (``prorated: invalid_charge_model``), properties as the metered
models (codes under ``properties``), ``code`` unique among the plan's fixed charges (generated
from the add-on's code when absent). Unit changes over time (Lago's fixed charge events and
per-subscription unit overrides) belong to subscriptions: ``apply_units_immediately`` is accepted
and not stored.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError

from billow.core.errors import ErrorCollector, NotFound, ValidationFailed
from billow.core.money import round_half_up
from billow.db.context import Ctx
from billow.pricing import casting
from billow.pricing.casting import NOT_A_NUMBER, Invalid
from billow.pricing.charge_models import normalize_properties, properties_error_details, validate_properties
from billow.pricing.plans.inputs import Raw, as_dict, present_text
from billow.pricing.plans.models import FIXED_CHARGE_MODELS, FixedCharge, Plan
from billow.pricing.plans.repository import (
    fixed_charge_code_taken,
    generate_fixed_charge_code,
    live_add_ons,
    uuid_or_none,
)
from billow.pricing.plans.taxes import apply_tax_codes

OWNER = "fixed_charge"
UNITS_PLACES = 10


def resolve_add_on_id(ctx: Ctx, raw: Raw) -> tuple[uuid.UUID, str]:
    """``add_on_id``, else ``add_on_code``: a live add-on of the organization (404 ``add_on_not_found``)."""
    add_on_id = present_text(raw, "add_on_id")
    if add_on_id is not None:
        parsed = uuid_or_none(add_on_id)
        found = live_add_ons(ctx, ids=[parsed]) if parsed else []
    else:
        code = present_text(raw, "add_on_code")
        found = live_add_ons(ctx, codes=[code]) if code else []
    if not found:
        raise NotFound("add_on")
    return found[0].id, found[0].code


def fixed_properties(model: str | None, raw: Any) -> tuple[dict[str, Any], list[str]]:
    """Defaults when blank, the model's keys only; ``(properties, codes)``."""
    if model not in FIXED_CHARGE_MODELS:
        return {}, []
    properties = normalize_properties(model, as_dict(raw))
    errors = validate_properties(model, properties, premium=True)
    return properties, properties_error_details(errors).get("properties", [])


def _units(raw: Any) -> Decimal | Invalid | None:
    value = casting.decimal(raw)
    return round_half_up(value, UNITS_PLACES) if isinstance(value, Decimal) else value


def _check(
    model: str | None,
    property_codes: list[str],
    units: Decimal | Invalid | None,
    pay_in_advance: bool,
    prorated: bool,
    code: str | None,
    code_taken: bool,
) -> None:
    errors = ErrorCollector()
    if units is None or isinstance(units, Invalid):
        errors.add("units", NOT_A_NUMBER)
    elif units < 0:
        errors.add("units", "value_is_out_of_range")
    if model is None:
        errors.add("charge_model", "value_is_mandatory")
    elif model not in FIXED_CHARGE_MODELS:
        errors.add("charge_model", "value_is_invalid")
    if code is None or casting.is_blank(code):
        errors.add("code", "value_is_mandatory")
    elif code_taken:
        errors.add("code", "value_already_exist")
    if pay_in_advance and model == "volume":
        errors.add("pay_in_advance", "invalid_charge_model")
    if prorated and pay_in_advance and model == "graduated":
        errors.add("prorated", "invalid_charge_model")
    for c in property_codes:
        errors.add("properties", c)
    errors.raise_if_any()


def _flush(ctx: Ctx) -> None:
    try:
        with ctx.session.begin_nested():
            ctx.session.flush()
    except IntegrityError as exc:
        raise ValidationFailed({"code": ["value_already_exist"]}) from exc


def create_fixed_charge(ctx: Ctx, plan: Plan, raw: Raw, *, parent_id: uuid.UUID | None = None) -> FixedCharge:
    add_on_id, add_on_code = resolve_add_on_id(ctx, raw)
    code = present_text(raw, "code") or generate_fixed_charge_code(ctx, plan.id, add_on_code)
    model = casting.text(raw.get("charge_model"))
    properties, property_codes = fixed_properties(model, raw.get("properties"))
    units = _units(raw.get("units")) if raw.get("units") is not None else Decimal(0)
    pay_in_advance = bool(casting.boolean(raw.get("pay_in_advance")))
    prorated = bool(casting.boolean(raw.get("prorated")))
    taken = parent_id is None and fixed_charge_code_taken(ctx, plan.id, code, None)
    _check(model, property_codes, units, pay_in_advance, prorated, code, taken)
    assert isinstance(units, Decimal) and model is not None
    now = ctx.now()
    fixed = FixedCharge(
        organization_id=ctx.org_id,
        plan_id=plan.id,
        add_on_id=add_on_id,
        parent_id=parent_id,
        code=code,
        invoice_display_name=casting.text(raw.get("invoice_display_name")),
        charge_model=model,
        properties=properties,
        pay_in_advance=pay_in_advance,
        prorated=prorated,
        units=units,
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(fixed)
    _flush(ctx)
    codes = casting.string_list(raw.get("tax_codes"))
    if codes:
        apply_tax_codes(ctx, OWNER, fixed.id, codes)
    return fixed


def update_fixed_charge(ctx: Ctx, fixed: FixedCharge, raw: Raw) -> FixedCharge:
    """``FixedCharges::UpdateService``: ``charge_model``, ``invoice_display_name``, ``units`` and
    ``properties`` are replaced (absent → null, null, null, defaults); ``code`` and ``tax_codes``
    change when sent; ``pay_in_advance``, ``prorated`` and the add-on never change."""
    model = casting.text(raw.get("charge_model"))
    properties, property_codes = fixed_properties(model, raw.get("properties"))
    units = _units(raw.get("units"))
    code = present_text(raw, "code") or fixed.code
    taken = fixed.parent_id is None and fixed_charge_code_taken(ctx, fixed.plan_id, code, fixed.id)
    _check(model, property_codes, units, fixed.pay_in_advance, fixed.prorated, code, taken)
    assert isinstance(units, Decimal) and model is not None
    fixed.charge_model = model
    fixed.invoice_display_name = casting.text(raw.get("invoice_display_name"))
    fixed.units = units
    fixed.properties = properties
    fixed.code = code
    fixed.updated_at = ctx.now()
    _flush(ctx)
    codes = casting.string_list(raw.get("tax_codes"))
    if codes is not None:
        apply_tax_codes(ctx, OWNER, fixed.id, codes)
    return fixed


def delete_fixed_charge(ctx: Ctx, fixed: FixedCharge) -> FixedCharge:
    now = ctx.now()
    fixed.deleted_at = now
    fixed.updated_at = now
    ctx.session.flush()
    return fixed
