"""``clone_plan_with_overrides``: Lago's ``Plans::OverrideService`` (billing.md §1).

A subscription's ``plan_overrides`` clone its plan into a child plan (``parent_id`` = the plan,
same code, not counted for code uniqueness) that the subscription then points to:

* plan fields: ``amount_cents``, ``amount_currency``, ``name``, ``invoice_display_name``,
  ``description``, ``trial_period`` (checked as on a plan); other fields are copied;
* ``tax_codes``: the child's taxes (Lago copies no taxes otherwise: neither the plan's nor its
  charges' — a child without overrides falls back to the customer's / billing entity's taxes);
* every live charge is copied (``parent_id`` = the charge) with its filters and pricing unit;
  ``charges: [{id, ...}]`` overrides ``properties``, ``min_amount_cents``,
  ``invoice_display_name``, ``filters`` (replaced as on an update), ``tax_codes`` and
  ``applied_pricing_unit.conversion_rate`` of the charge with that id;
* every live fixed charge is copied; ``fixed_charges: [{id, ...}]`` overrides ``properties``,
  ``invoice_display_name``, ``units`` and ``tax_codes`` (a different ``charge_model`` is 403
  ``cannot_override_charge_model``);
* ``usage_thresholds``: the child's own thresholds (without, the parent's apply);
* ``minimum_commitment``: the child's own commitment (``amount_cents`` > 0).

Where Lago silently skips an invalid charge override, Billow refuses it with the charge's errors.
Nothing is emitted: Lago sends no ``plan.created`` for a child plan.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billow.core.errors import Forbidden, ValidationFailed
from billow.core.money import round_half_up
from billow.db.context import Ctx
from billow.pricing import casting
from billow.pricing.casting import Invalid
from billow.pricing.charge_models import normalize_properties, properties_error_details, validate_properties
from billow.pricing.plans.charges import conversion_rate
from billow.pricing.plans.commitments import create_commitment, replace_thresholds
from billow.pricing.plans.filters import copy_filters, replace_filters
from billow.pricing.plans.fixed_charges import UNITS_PLACES, fixed_properties
from billow.pricing.plans.inputs import Raw, as_dict, cents, cents_errors, dict_list
from billow.pricing.plans.models import Charge, FixedCharge, Plan
from billow.pricing.plans.plan_fields import PlanDraft, check_plan, store
from billow.pricing.plans.repository import live_charges, live_fixed_charges, metric_info
from billow.pricing.plans.taxes import apply_tax_codes

PLAN_FIELDS = (
    "amount_cents",
    "amount_currency",
    "description",
    "invoice_display_name",
    "name",
    "trial_period",
)


def _by_id(items: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    return {str(item["id"]).lower(): item for item in items or [] if item.get("id") is not None}


def _clone_plan(ctx: Ctx, plan: Plan, overrides: Raw) -> Plan:
    draft = PlanDraft.of(plan)
    fields = {name for name in PLAN_FIELDS if name in overrides}
    draft.apply(overrides, fields)
    check_plan(draft, lambda _code: False).raise_if_any()
    now = ctx.now()
    child = Plan(
        organization_id=plan.organization_id,
        parent_id=plan.id,
        pending_deletion=plan.pending_deletion,
        item_metadata=None,
        created_at=now,
        updated_at=now,
    )
    store(child, draft)
    ctx.session.add(child)
    ctx.session.flush()
    return child


def _charge_properties(charge: Charge, raw: Any, aggregation_type: str) -> dict[str, Any]:
    properties = normalize_properties(
        charge.charge_model, as_dict(raw), custom_agg=aggregation_type == "custom_agg"
    )
    errors = validate_properties(charge.charge_model, properties, aggregation_type=aggregation_type)
    details = properties_error_details(errors)
    if details:
        raise ValidationFailed(details)
    return properties


def _clone_charge(ctx: Ctx, child: Plan, charge: Charge, raw: Raw) -> Charge:
    metric = metric_info(ctx, charge.billable_metric_id)
    assert metric is not None
    now = ctx.now()
    copy = Charge(
        organization_id=charge.organization_id,
        plan_id=child.id,
        billable_metric_id=charge.billable_metric_id,
        parent_id=charge.id,
        code=charge.code,
        invoice_display_name=charge.invoice_display_name,
        charge_model=charge.charge_model,
        properties=dict(charge.properties),
        pay_in_advance=charge.pay_in_advance,
        prorated=charge.prorated,
        invoiceable=charge.invoiceable,
        regroup_paid_fees=charge.regroup_paid_fees,
        min_amount_cents=charge.min_amount_cents,
        accepts_target_wallet=charge.accepts_target_wallet,
        pricing_unit_id=charge.pricing_unit_id,
        pricing_unit_conversion_rate=charge.pricing_unit_conversion_rate,
        created_at=now,
        updated_at=now,
    )
    if "properties" in raw:
        copy.properties = _charge_properties(charge, raw.get("properties"), metric.aggregation_type)
    if "min_amount_cents" in raw:
        value = cents(raw.get("min_amount_cents"))
        errors = cents_errors(value, minimum=0)
        if not errors and copy.pay_in_advance and isinstance(value, int) and value > 0:
            errors = ["not_compatible_with_pay_in_advance"]
        if errors:
            raise ValidationFailed({"min_amount_cents": errors})
        assert isinstance(value, int)
        copy.min_amount_cents = value
    if "invoice_display_name" in raw:
        copy.invoice_display_name = casting.text(raw.get("invoice_display_name"))
    unit = as_dict(raw.get("applied_pricing_unit")) or {}
    if copy.pricing_unit_id is not None and casting.text(unit.get("conversion_rate")):
        copy.pricing_unit_conversion_rate = conversion_rate(unit.get("conversion_rate"))
    ctx.session.add(copy)
    ctx.session.flush()
    copy_filters(ctx, charge, copy)
    filters = dict_list(raw.get("filters"))
    if "filters" in raw and filters is not None:
        replace_filters(ctx, copy, metric, filters)
    codes = casting.string_list(raw.get("tax_codes"))
    if "tax_codes" in raw and codes is not None:
        apply_tax_codes(ctx, "charge", copy.id, codes)
    return copy


def _clone_fixed_charge(ctx: Ctx, child: Plan, fixed: FixedCharge, raw: Raw) -> FixedCharge:
    model = casting.text(raw.get("charge_model"))
    if model is not None and model != fixed.charge_model:
        raise Forbidden("cannot_override_charge_model")
    now = ctx.now()
    copy = FixedCharge(
        organization_id=fixed.organization_id,
        plan_id=child.id,
        add_on_id=fixed.add_on_id,
        parent_id=fixed.id,
        code=fixed.code,
        invoice_display_name=fixed.invoice_display_name,
        charge_model=fixed.charge_model,
        properties=dict(fixed.properties),
        pay_in_advance=fixed.pay_in_advance,
        prorated=fixed.prorated,
        units=fixed.units,
        created_at=now,
        updated_at=now,
    )
    if "properties" in raw:
        properties, errors = fixed_properties(fixed.charge_model, raw.get("properties"))
        if errors:
            raise ValidationFailed({"properties": errors})
        copy.properties = properties
    if "invoice_display_name" in raw:
        copy.invoice_display_name = casting.text(raw.get("invoice_display_name"))
    if "units" in raw:
        units = casting.decimal(raw.get("units"))
        if units is None or isinstance(units, Invalid):
            raise ValidationFailed({"units": [casting.NOT_A_NUMBER]})
        if units < 0:
            raise ValidationFailed({"units": ["value_is_out_of_range"]})
        copy.units = round_half_up(Decimal(units), UNITS_PLACES)
    ctx.session.add(copy)
    ctx.session.flush()
    codes = casting.string_list(raw.get("tax_codes"))
    if "tax_codes" in raw and codes is not None:
        apply_tax_codes(ctx, "fixed_charge", copy.id, codes)
    return copy


def clone_plan_with_overrides(ctx: Ctx, plan: Plan, overrides: Raw) -> Plan:
    """Create the child plan of ``plan`` that ``overrides`` (a subscription's ``plan_overrides``
    object) describe, and return it. Raises ``ValidationFailed`` / ``NotFound`` / ``Forbidden``
    (the caller's unit of work then rolls back)."""
    child = _clone_plan(ctx, plan, overrides)
    codes = casting.string_list(overrides.get("tax_codes"))
    if codes:
        apply_tax_codes(ctx, "plan", child.id, codes)
    charge_overrides = _by_id(dict_list(overrides.get("charges")))
    for charge in live_charges(ctx.session, [plan.id]):
        _clone_charge(ctx, child, charge, charge_overrides.get(str(charge.id), {}))
    fixed_overrides = _by_id(dict_list(overrides.get("fixed_charges")))
    for fixed in live_fixed_charges(ctx.session, [plan.id]):
        _clone_fixed_charge(ctx, child, fixed, fixed_overrides.get(str(fixed.id), {}))
    thresholds = dict_list(overrides.get("usage_thresholds"))
    if thresholds:
        replace_thresholds(ctx, child, thresholds)
    commitment = as_dict(overrides.get("minimum_commitment"))
    if commitment:
        create_commitment(ctx, child, commitment)
    return child
