"""The customer and billing entities an invoice involves.

``entity`` issues the invoice (numbering, prefix); ``settings_entity`` is the customer's own
billing entity, whose settings (timezone, grace period, net payment term, zero-amount rule,
default taxes) apply when the customer has none — Lago's ``customer.applicable_*``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from billow.billing.models import Invoice
from billow.customers.models import Customer, CustomerTax
from billow.db.context import Ctx
from billow.db.one_of import one_of
from billow.db.prefetch import MISSING, take
from billow.organizations.models import BillingEntity
from billow.subscriptions.facts import timezone_of


@dataclass(frozen=True)
class InvoiceParties:
    customer: Customer
    entity: BillingEntity
    settings_entity: BillingEntity
    customer_has_taxes: bool | None = None
    """Whether the customer has taxes of its own, when read with it (``None``: not known)."""

    @property
    def timezone(self) -> str:
        return timezone_of(self.customer, self.settings_entity)


def _entity(ctx: Ctx, entity_id: uuid.UUID) -> BillingEntity:
    entity = ctx.session.get(BillingEntity, entity_id)
    if entity is None or entity.organization_id != ctx.org_id:
        raise LookupError(f"billing entity {entity_id} not found")
    return entity


def customer_by_id(ctx: Ctx, customer_id: uuid.UUID) -> Customer | None:
    customer = ctx.session.get(Customer, customer_id)
    if customer is None or customer.organization_id != ctx.org_id:
        return None
    return customer


@dataclass(frozen=True)
class LoadedCustomer:
    customer: Customer
    settings_entity: BillingEntity
    """The customer's own billing entity."""
    has_taxes: bool


# Built once: the values are bound.
_CUSTOMERS_AND_ENTITIES = (
    select(
        Customer,
        BillingEntity,
        select(CustomerTax.id).where(CustomerTax.customer_id == Customer.id).exists().label("has_taxes"),
    )
    .join(BillingEntity, BillingEntity.id == Customer.billing_entity_id)
    .where(Customer.organization_id == bindparam("org"))
)
_CUSTOMER_AND_ENTITY = _CUSTOMERS_AND_ENTITIES.where(Customer.id == bindparam("id"))
_MANY_CUSTOMERS_AND_ENTITIES = _CUSTOMERS_AND_ENTITIES.where(one_of(Customer.id, key="ids"))
PREFETCHED_CUSTOMER = "billing.customer_and_entity"


def customer_and_entity(ctx: Ctx, customer_id: uuid.UUID) -> LoadedCustomer | None:
    """The customer with its own billing entity and whether it has taxes of its own, in one
    read (for ``parties_for(loaded=…)``); prefetched for a group of billing jobs."""
    found = take(ctx, PREFETCHED_CUSTOMER, customer_id)
    if found is not MISSING:
        return found  # type: ignore[no-any-return]
    row = ctx.session.execute(_CUSTOMER_AND_ENTITY, {"id": customer_id, "org": ctx.org_id}).first()
    return LoadedCustomer(row[0], row[1], bool(row[2])) if row is not None else None


def prefetch_customers_and_entities(
    ctx: Ctx, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, LoadedCustomer]:
    """:func:`customer_and_entity` of every one of ``customer_ids``, in one read; returns what
    was found."""
    if not customer_ids or ctx.prefetched is None:
        return {}
    rows = ctx.session.execute(_MANY_CUSTOMERS_AND_ENTITIES, {"ids": list(customer_ids), "org": ctx.org_id})
    found = {row[0].id: LoadedCustomer(row[0], row[1], bool(row[2])) for row in rows}
    for customer_id in customer_ids:
        ctx.prefetched.put(PREFETCHED_CUSTOMER, customer_id, found.get(customer_id))
    return found


def parties_for(
    ctx: Ctx, customer: Customer, entity_id: uuid.UUID | None, *, loaded: LoadedCustomer | None = None
) -> InvoiceParties:
    """``loaded``: what :func:`customer_and_entity` read of ``customer``, when the caller has it."""
    if loaded is not None and loaded.customer is customer:
        settings = loaded.settings_entity
        has_taxes: bool | None = loaded.has_taxes
    else:
        settings, has_taxes = _entity(ctx, customer.billing_entity_id), None
    entity = settings if entity_id is None or entity_id == settings.id else _entity(ctx, entity_id)
    return InvoiceParties(customer, entity, settings, has_taxes)


def invoice_parties(ctx: Ctx, invoice: Invoice) -> InvoiceParties:
    customer = customer_by_id(ctx, invoice.customer_id)
    if customer is None:
        raise LookupError(f"customer {invoice.customer_id} not found")
    return parties_for(ctx, customer, invoice.billing_entity_id)
