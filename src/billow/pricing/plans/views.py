"""A plan's charges and fixed charges with what they point to, loaded in a few queries.

Used by the serializers and by the packages that bill plans (subscriptions, billing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from billow.metering.models import BillableMetric
from billow.pricing.add_ons.models import AddOn
from billow.pricing.plans.models import Charge, ChargeFilter, FixedCharge
from billow.pricing.plans.repository import add_ons_by_ids, live_filters, metrics_by_ids
from billow.pricing.plans.taxes import taxes_by_owner
from billow.pricing.pricing_units.models import PricingUnit
from billow.pricing.pricing_units.service import pricing_units_by_ids
from billow.pricing.taxes.models import Tax


@dataclass(frozen=True)
class ChargeView:
    """A charge, its metric (even if deleted since), live filters (oldest first), pricing unit
    (``None`` unless it prices in one) and live taxes (in the order applied)."""

    charge: Charge
    metric: BillableMetric
    filters: list[ChargeFilter]
    pricing_unit: PricingUnit | None
    taxes: list[Tax]


@dataclass(frozen=True)
class FixedChargeView:
    fixed_charge: FixedCharge
    add_on: AddOn
    taxes: list[Tax]


def charge_views(session: Session, charges: Sequence[Charge]) -> list[ChargeView]:
    """Four queries whatever the number of charges."""
    if not charges:
        return []
    metrics = metrics_by_ids(session, [c.billable_metric_id for c in charges])
    filters = live_filters(session, [c.id for c in charges])
    units = pricing_units_by_ids(session, [c.pricing_unit_id for c in charges if c.pricing_unit_id])
    taxes = taxes_by_owner(session, "charge", [c.id for c in charges])
    return [
        ChargeView(
            charge=c,
            metric=metrics[c.billable_metric_id],
            filters=filters[c.id],
            pricing_unit=units.get(c.pricing_unit_id) if c.pricing_unit_id else None,
            taxes=taxes[c.id],
        )
        for c in charges
    ]


def fixed_charge_views(session: Session, fixed_charges: Sequence[FixedCharge]) -> list[FixedChargeView]:
    if not fixed_charges:
        return []
    add_ons = add_ons_by_ids(session, [f.add_on_id for f in fixed_charges])
    taxes = taxes_by_owner(session, "fixed_charge", [f.id for f in fixed_charges])
    return [FixedChargeView(f, add_ons[f.add_on_id], taxes[f.id]) for f in fixed_charges]
