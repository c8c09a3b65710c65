"""Plain fee drafts: what the fee computation returns before anything is persisted.

The same drafts serve invoices (persisted as ``Fee`` rows) and, later, the usage APIs (current
usage computes charge drafts for the current period and never stores them).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from billow.billing.math import TaxRate
from billow.core.money import ZERO
from billow.pricing.charge_models import ChargeInput

FEE_PRECISION = Decimal("1e-15")
"""Lago keeps ``precise_*`` fee amounts in ``numeric(40, 15)`` columns."""


@dataclass
class FeeDraft:
    fee_type: str
    amount_currency: str
    amount_cents: int
    precise_amount_cents: Decimal
    properties: dict[str, Any]
    subscription_id: uuid.UUID | None = None
    units: Decimal = Decimal(1)
    unit_amount_cents: int = 0
    precise_unit_amount: Decimal = ZERO
    total_aggregated_units: Decimal | None = None
    events_count: int | None = None
    charge_id: uuid.UUID | None = None
    charge_filter_id: uuid.UUID | None = None
    fixed_charge_id: uuid.UUID | None = None
    add_on_id: uuid.UUID | None = None
    billable_metric_id: uuid.UUID | None = None
    invoice_display_name: str | None = None
    description: str | None = None
    grouped_by: dict[str, Any] = field(default_factory=dict)
    amount_details: dict[str, Any] = field(default_factory=dict)
    pricing_unit_details: dict[str, Any] | None = None
    pay_in_advance: bool = False
    invoiceable: bool = True
    taxes: tuple[TaxRate, ...] = ()
    true_up_parent: FeeDraft | None = None
    # Pay-in-advance fees: the event that caused the fee, and the key that makes it once-only.
    pay_in_advance_event_id: uuid.UUID | None = None
    pay_in_advance_event_transaction_id: str | None = None
    idempotency_key: str | None = None
    charge_input: ChargeInput | None = None
    """What the charge model priced (usage charge fees): projected usage re-prices it."""

    @property
    def is_zero(self) -> bool:
        """Lago drops such fees from invoices (no units, no amount, no events)."""
        return self.units == 0 and self.amount_cents == 0 and not self.events_count


class TaxLike(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def rate(self) -> Decimal: ...


def tax_rates(taxes: Iterable[TaxLike]) -> tuple[TaxRate, ...]:
    """Snapshots of tax rows as the invoice math takes them."""
    return tuple(TaxRate(code=t.code, rate=Decimal(t.rate), name=t.name, tax_id=str(t.id)) for t in taxes)
