"""Pricing units: create, read, update (name, short name, description), delete (by code).

Lago manages them in its UI only (GraphQL); Billow serves them at ``/pricing_units`` with Lago's
model rules: ``name``, ``code``, ``short_name`` required, ``code`` unique per organization,
``short_name`` ≤ 3 characters, ``description`` ≤ 600. The code cannot change. A unit used by a
live charge cannot be deleted (405 ``attached_to_charges``); deleting is a soft delete (charges
deleted earlier keep pointing to it) that frees the code.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billow.core.errors import ErrorCollector, MethodNotAllowed, NotFound, ValidationFailed
from billow.core.pagination import PageParams
from billow.db.context import Ctx
from billow.pricing import casting
from billow.pricing.pricing_units.models import PricingUnit
from billow.pricing.pricing_units.schemas import PricingUnitInput

MAX_SHORT_NAME = 3
MAX_DESCRIPTION = 600


@dataclass
class _State:
    name: str | None = None
    code: str | None = None
    short_name: str | None = None
    description: str | None = None


def _scope(ctx: Ctx) -> Select[PricingUnit]:
    return select(PricingUnit).where(
        PricingUnit.organization_id == ctx.org_id, PricingUnit.deleted_at.is_(None)
    )


def find_pricing_unit(ctx: Ctx, code: str) -> PricingUnit | None:
    if "\x00" in code:
        return None
    return ctx.session.scalar(_scope(ctx).where(PricingUnit.code == code))


def get_pricing_unit(ctx: Ctx, code: str) -> PricingUnit:
    unit = find_pricing_unit(ctx, code)
    if unit is None:
        raise NotFound("pricing_unit")
    return unit


def pricing_units_by_ids(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, PricingUnit]:
    """Units by id, deleted ones included (for the charges priced in them)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    return {u.id: u for u in session.scalars(select(PricingUnit).where(PricingUnit.id.in_(wanted)))}


def _code_taken(ctx: Ctx, code: str, exclude: PricingUnit | None) -> bool:
    stmt = _scope(ctx).with_only_columns(PricingUnit.id).where(PricingUnit.code == code)
    if exclude is not None:
        stmt = stmt.where(PricingUnit.id != exclude.id)
    return ctx.session.scalar(stmt.limit(1)) is not None


def _validate(ctx: Ctx, state: _State, existing: PricingUnit | None) -> None:
    errors = ErrorCollector()
    for name in ("name", "code", "short_name"):
        if casting.is_blank(getattr(state, name)):
            errors.add(name, "value_is_mandatory")
    if state.code and not casting.is_blank(state.code) and _code_taken(ctx, state.code, existing):
        errors.add("code", "value_already_exist")
    if state.description is not None and len(state.description) > MAX_DESCRIPTION:
        errors.add("description", "value_is_too_long")
    if state.short_name is not None and len(state.short_name) > MAX_SHORT_NAME:
        errors.add("short_name", "value_is_too_long")
    errors.raise_if_any()


def _flush(ctx: Ctx) -> None:
    try:
        with ctx.session.begin_nested():
            ctx.session.flush()
    except IntegrityError as exc:
        raise ValidationFailed({"code": ["value_already_exist"]}) from exc


def create_pricing_unit(ctx: Ctx, data: PricingUnitInput) -> PricingUnit:
    state = _State(
        name=casting.text(data.name),
        code=casting.text(data.code),
        short_name=casting.text(data.short_name),
        description=casting.text(data.description),
    )
    _validate(ctx, state, None)
    now = ctx.now()
    unit = PricingUnit(
        organization_id=ctx.org_id,
        name=state.name,
        code=state.code,
        short_name=state.short_name,
        description=state.description,
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(unit)
    _flush(ctx)
    return unit


def update_pricing_unit(ctx: Ctx, code: str, data: PricingUnitInput) -> PricingUnit:
    """Only sent fields among name, short_name and description change (the code is fixed)."""
    unit = get_pricing_unit(ctx, code)
    fields = set(data.model_fields_set)
    state = _State(name=unit.name, code=unit.code, short_name=unit.short_name, description=unit.description)
    for name in ("name", "short_name", "description"):
        if name in fields:
            setattr(state, name, casting.text(getattr(data, name)))
    _validate(ctx, state, unit)
    unit.name = state.name or ""
    unit.short_name = state.short_name or ""
    unit.description = state.description
    unit.updated_at = ctx.now()
    ctx.session.flush()
    return unit


def delete_pricing_unit(ctx: Ctx, code: str, *, in_use: bool) -> PricingUnit:
    """Soft delete; ``in_use`` (a live charge is priced in it) refuses with 405."""
    unit = get_pricing_unit(ctx, code)
    if in_use:
        raise MethodNotAllowed("attached_to_charges")
    unit.deleted_at = ctx.now()
    unit.updated_at = unit.deleted_at
    ctx.session.flush()
    return unit


def list_pricing_units(ctx: Ctx, page: PageParams) -> tuple[list[PricingUnit], int]:
    """Newest first (Lago's default query order)."""
    base = _scope(ctx)
    total = ctx.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    items = ctx.session.scalars(
        base.order_by(PricingUnit.created_at.desc(), PricingUnit.id).offset(page.offset).limit(page.per_page)
    ).all()
    return list(items), total
