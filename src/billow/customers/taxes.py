"""Taxes applied to a customer (``tax_codes`` of ``POST /customers``).

Codes resolve through the taxes service (404 ``tax_not_found`` for any unknown one); the links
are read back through it too, so a deleted tax leaves the customer's list, as in Lago.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from billow.customers.models import CustomerTax
from billow.db.context import Ctx
from billow.pricing.taxes.models import Tax
from billow.pricing.taxes.service import live_taxes_by_id, resolve_tax_codes


def resolve_customer_tax_codes(ctx: Ctx, codes: Sequence[str] | None) -> list[Tax] | None:
    """``None``: leave the customer's taxes as they are; else the taxes that replace them."""
    if codes is None:
        return None
    return resolve_tax_codes(ctx, codes) if codes else []


def taxes_by_customer(session: Session, customer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Tax]]:
    """Live taxes of each customer, in the order they were applied (two queries in all)."""
    ids = list(dict.fromkeys(customer_ids))
    grouped: dict[uuid.UUID, list[Tax]] = {i: [] for i in ids}
    if not ids:
        return grouped
    links = session.execute(
        select(CustomerTax.customer_id, CustomerTax.tax_id)
        .where(CustomerTax.customer_id.in_(ids))
        .order_by(CustomerTax.created_at, CustomerTax.id)
    ).all()
    taxes = live_taxes_by_id(session, (tax_id for _, tax_id in links))
    for customer_id, tax_id in links:
        tax = taxes.get(tax_id)
        if tax is not None:
            grouped[customer_id].append(tax)
    return grouped


# Built once (asked for every invoice; building a statement costs more than running it): the
# values are bound.
_TAX_IDS = (
    select(CustomerTax.tax_id)
    .where(CustomerTax.organization_id == bindparam("org"), CustomerTax.customer_id == bindparam("customer"))
    .order_by(CustomerTax.created_at, CustomerTax.id)
)


def customer_taxes(ctx: Ctx, customer_id: uuid.UUID) -> list[Tax]:
    """The customer's live taxes, in the order they were applied (for invoicing: the level between
    a fee's own taxes and the billing entity's defaults). Empty for another organization's customer."""
    tax_ids = ctx.session.scalars(_TAX_IDS, {"org": ctx.org_id, "customer": customer_id}).all()
    live = live_taxes_by_id(ctx.session, tax_ids)
    return [live[tax_id] for tax_id in tax_ids if tax_id in live]


def set_customer_taxes(ctx: Ctx, customer_id: uuid.UUID, taxes: Sequence[Tax]) -> None:
    """Replace the customer's taxes (Lago's ``Customers::ApplyTaxesService``): kept ones keep
    their place, the others are removed, new ones are added in the order given."""
    wanted = [t.id for t in taxes]
    scope = (CustomerTax.organization_id == ctx.org_id, CustomerTax.customer_id == customer_id)
    current = set(ctx.session.scalars(select(CustomerTax.tax_id).where(*scope)))
    stale = current - set(wanted)
    if stale:
        ctx.session.execute(delete(CustomerTax).where(*scope, CustomerTax.tax_id.in_(stale)))
    now = ctx.now()
    for tax_id in wanted:
        if tax_id not in current:
            ctx.session.add(
                CustomerTax(
                    organization_id=ctx.org_id,
                    customer_id=customer_id,
                    tax_id=tax_id,
                    created_at=now,
                    updated_at=now,
                )
            )
    ctx.session.flush()
