"""Projected usage (metering.md §4.2; Lago's ``Fees::ProjectionService``).

The current usage's fees, each re-priced at the end of the period: the period ratio is
``r = days(period start, now) / days(period start, period end)`` in the customer's timezone
(days counted inclusively, so today counts; 1 once the period is over, 0 before it starts), and
each fee's charge model projects the very input it priced (``ChargeModel.project``: projected
units ``round(units / r, 2)``; standard prices them, graduated walks its tiers, volume picks the
tier, package counts packages, the other models scale the current amount by ``1 / r``).
Recurring metrics project to their current values. Cents round half-up (pricing units: their
double rounding). Every entry (charge, filter, group) sums the projections of its own fees, and
``projected_amount_cents`` at the top sums the charges.

Billow has no premium gating: the route always answers (Lago: 403 ``projected_usage_not_enabled``
without the premium flag). Deliberate difference: Lago projects a charge with filters from its
filter fees only (its default bucket always projects to 0); Billow projects every bucket.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any

from billow.billing.fees.drafts import FeeDraft
from billow.billing.usage.current import CustomerUsage
from billow.billing.usage.serializers import ChargesUsage, ProjectedNumbers, UsageFee
from billow.core.currencies import currency_exponent
from billow.core.money import DECIMAL_CONTEXT, ZERO, round_half_up
from billow.core.timefmt import iso_date, iso_z
from billow.pricing.charge_models import ChargeModel, build_charge_model_registry, convert_pricing_unit_amount
from billow.pricing.plans.views import ChargeView
from billow.subscriptions.periods import day_count


def period_ratio(start: datetime, end: datetime, now: datetime, timezone: str) -> Decimal:
    """Share of the period elapsed, today included (0 before it starts, 1 once it ended)."""
    if now >= end:
        return Decimal(1)
    if now < start:
        return ZERO
    total = day_count(start, end, timezone)
    if total <= 0:
        return Decimal(1)
    with localcontext(DECIMAL_CONTEXT):
        ratio = Decimal(day_count(start, now, timezone)) / Decimal(total)
    return min(max(ratio, ZERO), Decimal(1))


class Projection:
    """Projects fee drafts of one current usage (memoized per fee)."""

    def __init__(self, usage: CustomerUsage, now: datetime) -> None:
        bounds = usage.bounds
        self.ratio = period_ratio(bounds.from_datetime, bounds.to_datetime, now, usage.timezone)
        self.views: dict[object, ChargeView] = {v.charge.id: v for v in usage.views}
        self.models = build_charge_model_registry()
        self.exponent = currency_exponent(usage.currency)
        self._cache: dict[int, ProjectedNumbers] = {}

    def _one(self, fee: FeeDraft) -> ProjectedNumbers:
        view = self.views.get(fee.charge_id)
        pricing_unit = (fee.pricing_unit_details or {}).get("amount_cents")
        if view is None or view.metric.recurring:
            return ProjectedNumbers(fee.units, fee.amount_cents, pricing_unit)
        if fee.charge_input is None or not (ZERO < self.ratio <= 1):
            return ProjectedNumbers(ZERO, 0, 0 if pricing_unit is not None else None)
        model: ChargeModel = self.models[view.charge.charge_model]
        projected = model.project(fee.charge_input, self.ratio)
        rate = view.charge.pricing_unit_conversion_rate
        if view.pricing_unit is not None and rate is not None:
            conv = convert_pricing_unit_amount(projected.amount, ZERO, Decimal(rate), self.exponent)
            return ProjectedNumbers(projected.units, conv.amount_cents, conv.pricing_unit_amount_cents)
        with localcontext(DECIMAL_CONTEXT):
            cents = int(round_half_up(projected.amount, self.exponent).scaleb(self.exponent))
        return ProjectedNumbers(projected.units, cents, None)

    def fee(self, fee: FeeDraft) -> ProjectedNumbers:
        key = id(fee)
        if key not in self._cache:
            self._cache[key] = self._one(fee)
        return self._cache[key]

    def __call__(self, fees: Sequence[UsageFee]) -> ProjectedNumbers:
        parts = [self.fee(f) for f in fees if isinstance(f, FeeDraft)]
        units = sum((p.units for p in parts), ZERO)
        cents = sum(p.amount_cents for p in parts)
        pu = [p.pricing_unit_amount_cents for p in parts if p.pricing_unit_amount_cents is not None]
        return ProjectedNumbers(units, cents, sum(pu) if pu else None)


def projected_payload(usage: CustomerUsage, now: datetime) -> dict[str, Any]:
    """``CustomerProjectedUsageObject``."""
    projection = Projection(usage, now)
    charges = ChargesUsage(usage.catalog(), projection).payload(usage.fees)
    return {
        "from_datetime": iso_z(usage.bounds.charges_from_datetime),
        "to_datetime": iso_z(usage.bounds.charges_to_datetime),
        "issuing_date": iso_date(usage.issuing_date),
        "currency": usage.currency,
        "amount_cents": usage.amount_cents,
        "projected_amount_cents": sum(c["projected_amount_cents"] for c in charges),
        "total_amount_cents": usage.total_amount_cents,
        "taxes_amount_cents": usage.taxes_amount_cents,
        "lago_invoice_id": None,
        "charges_usage": charges,
    }
