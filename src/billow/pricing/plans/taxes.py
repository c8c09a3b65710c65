"""Taxes applied to a plan, a charge, a fixed charge or a minimum commitment (one link table).

Codes resolve through the taxes service (404 ``tax_not_found`` for any unknown code); deleted
taxes disappear from every listing, as Lago reads live taxes only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from billow.db.context import Ctx
from billow.pricing.plans.models import PlanItemTax
from billow.pricing.taxes.models import Tax
from billow.pricing.taxes.service import resolve_tax_codes


def taxes_by_owner(
    session: Session, owner_type: str, owner_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[Tax]]:
    """Live taxes of each owner, in the order they were applied (one query)."""
    ids = list(dict.fromkeys(owner_ids))
    grouped: dict[uuid.UUID, list[Tax]] = {i: [] for i in ids}
    if not ids:
        return grouped
    rows = session.execute(
        select(PlanItemTax.owner_id, Tax)
        .join(Tax, Tax.id == PlanItemTax.tax_id)
        .where(
            PlanItemTax.owner_type == owner_type,
            PlanItemTax.owner_id.in_(ids),
            Tax.deleted_at.is_(None),
        )
        .order_by(PlanItemTax.created_at, PlanItemTax.id)
    ).all()
    for owner_id, tax in rows:
        grouped[owner_id].append(tax)
    return grouped


def owner_taxes(session: Session, owner_type: str, owner_id: uuid.UUID) -> list[Tax]:
    return taxes_by_owner(session, owner_type, [owner_id])[owner_id]


def resolve_codes(ctx: Ctx, codes: Sequence[str]) -> list[Tax]:
    """The live taxes named by ``codes`` (404 ``tax_not_found`` for any unknown)."""
    return resolve_tax_codes(ctx, codes) if codes else []


def set_taxes(ctx: Ctx, owner_type: str, owner_id: uuid.UUID, taxes: Sequence[Tax]) -> None:
    """Replace an owner's taxes: kept ones keep their place, others go, new ones are added in order."""
    wanted = [t.id for t in taxes]
    current = set(
        ctx.session.scalars(
            select(PlanItemTax.tax_id).where(
                PlanItemTax.organization_id == ctx.org_id,
                PlanItemTax.owner_type == owner_type,
                PlanItemTax.owner_id == owner_id,
            )
        )
    )
    stale = current - set(wanted)
    if stale:
        ctx.session.execute(
            delete(PlanItemTax).where(
                PlanItemTax.organization_id == ctx.org_id,
                PlanItemTax.owner_type == owner_type,
                PlanItemTax.owner_id == owner_id,
                PlanItemTax.tax_id.in_(stale),
            )
        )
    now = ctx.now()
    for tax_id in wanted:
        if tax_id not in current:
            ctx.session.add(
                PlanItemTax(
                    organization_id=ctx.org_id,
                    owner_type=owner_type,
                    owner_id=owner_id,
                    tax_id=tax_id,
                    created_at=now,
                    updated_at=now,
                )
            )
    ctx.session.flush()


def apply_tax_codes(ctx: Ctx, owner_type: str, owner_id: uuid.UUID, codes: Sequence[str]) -> None:
    """Lago's ``ApplyTaxesService``: every code must name a live tax, then the list replaces."""
    set_taxes(ctx, owner_type, owner_id, resolve_codes(ctx, codes))


def drop_taxes(ctx: Ctx, owner_type: str, owner_ids: Iterable[uuid.UUID]) -> None:
    ids = list(owner_ids)
    if ids:
        ctx.session.execute(
            delete(PlanItemTax).where(
                PlanItemTax.organization_id == ctx.org_id,
                PlanItemTax.owner_type == owner_type,
                PlanItemTax.owner_id.in_(ids),
            )
        )
