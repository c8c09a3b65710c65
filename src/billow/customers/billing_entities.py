"""Read-only look-ups of the organization's billing entities that customers need.

Kept here until ``organizations.service`` offers them (resolve by code, by ids).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from billow.core.errors import NotFound
from billow.db.context import Ctx
from billow.organizations.models import BillingEntity
from billow.organizations.service import default_billing_entity


def resolve_billing_entity(ctx: Ctx, code: str | None) -> BillingEntity:
    """The entity named by ``code``, else the default one; 404 ``billing_entity_not_found``."""
    if code is None or not code.strip():
        return default_billing_entity(ctx.session, ctx.org_id)
    entity = ctx.session.scalar(
        select(BillingEntity).where(BillingEntity.organization_id == ctx.org_id, BillingEntity.code == code)
    )
    if entity is None:
        raise NotFound("billing_entity")
    return entity


def billing_entity_ids_for_codes(ctx: Ctx, codes: Sequence[str]) -> list[uuid.UUID]:
    """Every code must exist in the organization, else 404 ``billing_entity_not_found``."""
    wanted = set(codes)
    rows = ctx.session.execute(
        select(BillingEntity.id, BillingEntity.code).where(
            BillingEntity.organization_id == ctx.org_id, BillingEntity.code.in_(wanted)
        )
    ).all()
    if len(rows) != len(wanted):
        raise NotFound("billing_entity")
    return [row[0] for row in rows]


def billing_entities_by_id(
    session: Session, org_id: uuid.UUID, ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, BillingEntity]:
    if not ids:
        return {}
    rows = session.scalars(
        select(BillingEntity).where(BillingEntity.organization_id == org_id, BillingEntity.id.in_(set(ids)))
    )
    return {entity.id: entity for entity in rows}
