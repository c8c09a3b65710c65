"""``cascade_updates``: a plan update reaching the plan's children (subscription overrides).

Lago runs these as background jobs; Billow runs them in the same transaction (a child plan never
lags its parent). What reaches a child, as in Lago:

* subscription fee: children still at the parent's old ``amount_cents`` take the new one;
* a charge created on the parent is created on every child (``parent_id`` = the new charge);
* an updated charge: its code reaches the children's copies; their properties (and pricing unit
  rate) follow only where they still equal the parent's old ones (an override is kept), and
  their ``pricing_group_keys`` / ``presentation_group_keys`` always follow; a child whose charge
  model differs from the parent's new one is left alone;
* a deleted charge is deleted from the children (Lago limits this to children with active or
  pending subscriptions; Billow, which has no subscriptions yet, deletes every copy);
* fixed charges alike (properties and units follow where they equal the old ones).

Charge filters do not cascade (Lago's filter dispatcher is not reproduced): a child keeps the
filters it was created with.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from billow.db.context import Ctx
from billow.pricing.plans.charges import create_charge, delete_charge
from billow.pricing.plans.fixed_charges import create_fixed_charge, delete_fixed_charge
from billow.pricing.plans.inputs import Raw
from billow.pricing.plans.models import Charge, FixedCharge, Plan

_GROUP_KEYS = ("pricing_group_keys", "presentation_group_keys")


@dataclass(frozen=True)
class Snapshot:
    charge_model: str
    properties: dict[str, Any]
    rate: Decimal | None = None
    units: Decimal | None = None


def children(ctx: Ctx, plan: Plan) -> list[Plan]:
    return list(
        ctx.session.scalars(
            select(Plan)
            .where(Plan.organization_id == ctx.org_id, Plan.parent_id == plan.id, Plan.deleted_at.is_(None))
            .order_by(Plan.created_at, Plan.id)
        )
    )


def has_children(ctx: Ctx, plan: Plan) -> bool:
    return bool(children(ctx, plan))


def charge_snapshot(charge: Charge) -> Snapshot:
    return Snapshot(charge.charge_model, dict(charge.properties), charge.pricing_unit_conversion_rate)


def fixed_charge_snapshot(fixed: FixedCharge) -> Snapshot:
    return Snapshot(fixed.charge_model, dict(fixed.properties), units=fixed.units)


def _copies(ctx: Ctx, model: type[Charge] | type[FixedCharge], parent_id: Any) -> list[Any]:
    return list(
        ctx.session.scalars(
            select(model).where(
                model.organization_id == ctx.org_id, model.parent_id == parent_id, model.deleted_at.is_(None)
            )
        )
    )


def amount_changed(ctx: Ctx, plan: Plan, old_amount: int) -> None:
    now = ctx.now()
    for child in children(ctx, plan):
        if child.amount_cents == old_amount:
            child.amount_cents = plan.amount_cents
            child.updated_at = now
    ctx.session.flush()


def charge_created(ctx: Ctx, plan: Plan, charge: Charge, raw: Raw) -> None:
    for child in children(ctx, plan):
        create_charge(ctx, child, {**raw, "code": charge.code}, parent_id=charge.id)


def charge_updated(ctx: Ctx, charge: Charge, before: Snapshot) -> None:
    now = ctx.now()
    for copy in _copies(ctx, Charge, charge.id):
        if copy.charge_model != charge.charge_model:
            continue
        copy.code = charge.code
        properties = dict(copy.properties)
        if copy.charge_model == before.charge_model and copy.properties == before.properties:
            properties = dict(charge.properties)
        for key in _GROUP_KEYS:
            if key in charge.properties:
                properties[key] = charge.properties[key]
            else:
                properties.pop(key, None)
        properties.pop("grouped_by", None)
        copy.properties = properties
        if copy.pricing_unit_id is not None and copy.pricing_unit_conversion_rate == before.rate:
            copy.pricing_unit_conversion_rate = charge.pricing_unit_conversion_rate
        copy.updated_at = now
    ctx.session.flush()


def charge_deleted(ctx: Ctx, charge: Charge) -> None:
    for copy in _copies(ctx, Charge, charge.id):
        delete_charge(ctx, copy)


def fixed_charge_created(ctx: Ctx, plan: Plan, fixed: FixedCharge, raw: Raw) -> None:
    for child in children(ctx, plan):
        create_fixed_charge(ctx, child, {**raw, "code": fixed.code}, parent_id=fixed.id)


def fixed_charge_updated(ctx: Ctx, fixed: FixedCharge, before: Snapshot) -> None:
    now = ctx.now()
    for copy in _copies(ctx, FixedCharge, fixed.id):
        if copy.charge_model != fixed.charge_model:
            continue
        copy.code = fixed.code
        if (copy.charge_model, copy.properties, copy.units) == (
            before.charge_model,
            before.properties,
            before.units,
        ):
            copy.properties = dict(fixed.properties)
            copy.units = fixed.units
        copy.updated_at = now
    ctx.session.flush()


def fixed_charge_deleted(ctx: Ctx, fixed: FixedCharge) -> None:
    for copy in _copies(ctx, FixedCharge, fixed.id):
        delete_fixed_charge(ctx, copy)
