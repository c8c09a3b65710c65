"""``charges_usage`` entries (``CustomerChargeUsageObject`` and its projected twin).

Works on computed fee drafts (current and projected usage) and on stored fees (past usage)
alike: fees are grouped by charge in the order given, then, inside a charge, by charge filter
(only when the charge has filters: one entry per filter and one default entry with ``values``
and ``invoice_display_name`` null) and by pricing group (``grouped_usage``, only when a fee is
grouped; each group has its own ``filters``). Numbers are sums over the grouped fees: units and
total aggregated units as decimal strings, events and cents as integers; ``pricing_unit_details``
sums the pricing-unit cents when the first fee prices in a pricing unit.

``presentation_breakdowns`` are always empty: the aggregation engine does not compute
presentation groups yet.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from billow.core.money import ZERO, decimal_str
from billow.metering.models import BillableMetric
from billow.pricing.plans.filters import values_dict
from billow.pricing.plans.models import Charge, ChargeFilter


class UsageFee(Protocol):
    """What an entry reads of a fee (``FeeDraft`` and ``Fee`` both have it)."""

    @property
    def charge_id(self) -> uuid.UUID | None: ...
    @property
    def charge_filter_id(self) -> uuid.UUID | None: ...
    @property
    def grouped_by(self) -> dict[str, Any]: ...
    @property
    def units(self) -> Decimal: ...
    @property
    def total_aggregated_units(self) -> Decimal | None: ...
    @property
    def events_count(self) -> int | None: ...
    @property
    def amount_cents(self) -> int: ...
    @property
    def amount_currency(self) -> str: ...
    @property
    def pricing_unit_details(self) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class ProjectedNumbers:
    units: Decimal
    amount_cents: int
    pricing_unit_amount_cents: int | None = None


Projector = Callable[[Sequence[UsageFee]], ProjectedNumbers]
"""Projected numbers of a list of fees (projected usage only)."""


@dataclass(frozen=True)
class Catalog:
    """The charges, metrics and charge filters the fees point to; ``filtered``: the charges that
    have filters (their entries list them)."""

    charges: Mapping[uuid.UUID, Charge]
    metrics: Mapping[uuid.UUID, BillableMetric]
    filters: Mapping[uuid.UUID, ChargeFilter]
    filtered: frozenset[uuid.UUID]


def _group_key(grouped_by: Mapping[str, Any]) -> tuple[tuple[str, str | None], ...]:
    return tuple(sorted(((k, None if v is None else str(v)) for k, v in grouped_by.items()), key=str))


def _grouped(fees: Sequence[UsageFee], key: Callable[[UsageFee], Any]) -> list[list[UsageFee]]:
    groups: dict[Any, list[UsageFee]] = {}
    for fee in fees:
        groups.setdefault(key(fee), []).append(fee)
    return list(groups.values())


def _pricing_unit(fees: Sequence[UsageFee], projector: Projector | None) -> dict[str, Any] | None:
    first = fees[0].pricing_unit_details
    if not first:
        return None
    details: dict[str, Any] = {
        "amount_cents": sum(int((f.pricing_unit_details or {}).get("amount_cents", 0)) for f in fees)
    }
    if projector is not None:
        details["projected_amount_cents"] = projector(fees).pricing_unit_amount_cents
    details["short_name"] = first.get("short_name")
    details["conversion_rate"] = first.get("conversion_rate")
    return details


def _numbers(fees: Sequence[UsageFee], projector: Projector | None, currency: bool) -> dict[str, Any]:
    units = sum((f.units for f in fees), ZERO)
    data: dict[str, Any] = {"units": decimal_str(units)}
    if projector is None:
        total = sum((f.total_aggregated_units or ZERO for f in fees), ZERO)
        data["total_aggregated_units"] = decimal_str(total)
    data["events_count"] = sum(int(f.events_count or 0) for f in fees)
    data["amount_cents"] = sum(f.amount_cents for f in fees)
    if currency:
        data["amount_currency"] = fees[0].amount_currency
    if projector is not None:
        projected = projector(fees)
        data["projected_units"] = decimal_str(projected.units)
        data["projected_amount_cents"] = projected.amount_cents
        data["projected_presentation_breakdowns"] = []
    data["pricing_unit_details"] = _pricing_unit(fees, projector)
    return data


class ChargesUsage:
    """Builds ``charges_usage`` for one catalog (and a projector for projected usage)."""

    def __init__(self, catalog: Catalog, projector: Projector | None = None) -> None:
        self.catalog = catalog
        self.projector = projector

    def _filters(self, fees: Sequence[UsageFee]) -> list[dict[str, Any]]:
        if fees[0].charge_id not in self.catalog.filtered:
            return []
        entries = []
        for group in _grouped(fees, lambda f: f.charge_filter_id):
            row = self.catalog.filters.get(group[0].charge_filter_id) if group[0].charge_filter_id else None
            entry = _numbers(group, self.projector, currency=False)
            entry["invoice_display_name"] = row.invoice_display_name if row is not None else None
            entry["values"] = values_dict(row.values) if row is not None else None
            entry["presentation_breakdowns"] = []
            entries.append(entry)
        return entries

    def _grouped_usage(self, fees: Sequence[UsageFee]) -> list[dict[str, Any]]:
        if not any(f.grouped_by for f in fees):
            return []
        entries = []
        for group in _grouped(fees, lambda f: _group_key(f.grouped_by)):
            entry = _numbers(group, self.projector, currency=False)
            entry["grouped_by"] = dict(group[0].grouped_by)
            entry["filters"] = self._filters(group)
            entry["presentation_breakdowns"] = []
            entries.append(entry)
        return entries

    def _charge(self, fees: Sequence[UsageFee]) -> dict[str, Any]:
        charge = self.catalog.charges[fees[0].charge_id]  # type: ignore[index]
        metric = self.catalog.metrics[charge.billable_metric_id]
        entry = _numbers(fees, self.projector, currency=True)
        charge_json: dict[str, Any] = {"lago_id": str(charge.id)}
        if self.projector is None:
            charge_json["code"] = charge.code
        charge_json["charge_model"] = charge.charge_model
        charge_json["invoice_display_name"] = charge.invoice_display_name
        entry["charge"] = charge_json
        entry["billable_metric"] = {
            "lago_id": str(metric.id),
            "name": metric.name,
            "code": metric.code,
            "aggregation_type": metric.aggregation_type,
        }
        entry["filters"] = self._filters(fees)
        entry["grouped_usage"] = self._grouped_usage(fees)
        entry["presentation_breakdowns"] = []
        if self.projector is not None:
            entry["projected_presentation_breakdowns"] = []
        return entry

    def payload(self, fees: Sequence[UsageFee]) -> list[dict[str, Any]]:
        """One entry per charge, in the order the charges first appear in ``fees``."""
        charge_fees = [f for f in fees if f.charge_id is not None]
        return [self._charge(group) for group in _grouped(charge_fees, lambda f: f.charge_id)]
