"""Which taxes a fee gets (billing.md §6.3), through :func:`billow.billing.math.resolve_fee_taxes`.

Levels: the fee's own item taxes (charge, fixed charge, commitment) → plan taxes → customer
taxes → billing-entity default taxes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from billow.billing.catalog import billing_entity_tax_rates, plan_tax_rates
from billow.billing.fees.drafts import TaxLike, tax_rates
from billow.billing.math import FeeType, TaxRate, TaxSources, resolve_fee_taxes
from billow.customers.taxes import customer_taxes
from billow.db.context import Ctx


class TaxResolver:
    """Resolves a fee's taxes, caching the plan and billing-entity levels for one computation."""

    def __init__(
        self,
        ctx: Ctx,
        billing_entity_id: uuid.UUID,
        customer_id: uuid.UUID,
        *,
        customer_has_taxes: bool | None = None,
    ) -> None:
        """``customer_has_taxes``: known when the customer was read (``False``: its level is not
        read at all)."""
        self._ctx = ctx
        self._entity_id = billing_entity_id
        self._customer_id = customer_id
        self._plans: dict[uuid.UUID, tuple[TaxRate, ...]] = {}
        self._entity: tuple[TaxRate, ...] | None = None
        self._customer: tuple[TaxRate, ...] | None = None if customer_has_taxes is not False else ()

    def _plan(self, plan_id: uuid.UUID) -> tuple[TaxRate, ...]:
        if plan_id not in self._plans:
            self._plans[plan_id] = plan_tax_rates(self._ctx, plan_id)
        return self._plans[plan_id]

    def _defaults(self) -> tuple[TaxRate, ...]:
        if self._entity is None:
            self._entity = billing_entity_tax_rates(self._ctx, self._entity_id)
        return self._entity

    def _customer_taxes(self) -> tuple[TaxRate, ...]:
        if self._customer is None:
            self._customer = tax_rates(customer_taxes(self._ctx, self._customer_id))
        return self._customer

    def for_fee(
        self, fee_type: FeeType, plan_id: uuid.UUID, own: Sequence[TaxLike] = ()
    ) -> tuple[TaxRate, ...]:
        # Levels are loaded lazily, top down: a level below the first non-empty one is never read.
        item = tax_rates(own)
        plan = () if item else self._plan(plan_id)
        customer = () if item or plan else self._customer_taxes()
        defaults = () if item or plan or customer else self._defaults()
        sources = TaxSources(item=item, plan=plan, customer=customer, billing_entity=defaults)
        return resolve_fee_taxes(fee_type, sources)
