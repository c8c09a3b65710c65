"""Taxes: create, read, update, soft delete (by code); the organization's default taxes.

Every check runs before the first write, so a refused input stores nothing. Other packages
(customers, plans, charges, add-ons, invoicing) use ``resolve_tax_codes`` and
``organization_taxes`` / ``billing_entity_taxes``; a deleted tax leaves every one of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billow.core.errors import ErrorCollector, NotFound, ValidationFailed
from billow.core.pagination import PageParams
from billow.db.context import Ctx
from billow.organizations.service import default_billing_entity
from billow.pricing import casting
from billow.pricing.taxes.models import BillingEntityTax, Tax
from billow.pricing.taxes.schemas import TaxInput
from billow.pricing.taxes.serializers import AppliedEntity, entities_by_tax


@dataclass
class _State:
    """A tax's fields after the request's changes, before validation."""

    name: str | None = None
    code: str | None = None
    description: str | None = None
    rate: Decimal | casting.Invalid | None = None


def _live(ctx: Ctx) -> Select[Tax]:
    return select(Tax).where(Tax.organization_id == ctx.org_id, Tax.deleted_at.is_(None))


def find_tax(ctx: Ctx, code: str) -> Tax | None:
    if "\x00" in code:  # PostgreSQL refuses NUL in text: no such code
        return None
    return ctx.session.scalar(_live(ctx).where(Tax.code == code))


def get_tax(ctx: Ctx, code: str) -> Tax:
    tax = find_tax(ctx, code)
    if tax is None:
        raise NotFound("tax")
    return tax


def resolve_tax_codes(ctx: Ctx, codes: Sequence[str]) -> list[Tax]:
    """The live taxes named by ``codes`` (duplicates dropped, order kept); any unknown code → 404
    ``tax_not_found``."""
    wanted = list(dict.fromkeys(codes))
    if not wanted:
        return []
    found = {t.code: t for t in ctx.session.scalars(_live(ctx).where(Tax.code.in_(wanted)))}
    if len(found) != len(wanted):
        raise NotFound("tax")
    return [found[c] for c in wanted]


def live_taxes_by_id(session: Session, tax_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Tax]:
    """The live taxes among ``tax_ids`` (deleted ones are absent), in one query: for packages that
    keep their own links to taxes (customers) and read them back."""
    ids = set(tax_ids)
    if not ids:
        return {}
    rows = session.scalars(select(Tax).where(Tax.id.in_(ids), Tax.deleted_at.is_(None)))
    return {tax.id: tax for tax in rows}


def billing_entity_taxes(ctx: Ctx, billing_entity_id: uuid.UUID) -> list[Tax]:
    """Default taxes of a billing entity (the last level of Lago's fee tax resolution)."""
    return list(
        ctx.session.scalars(
            _live(ctx)
            .join(BillingEntityTax, BillingEntityTax.tax_id == Tax.id)
            .where(
                BillingEntityTax.organization_id == ctx.org_id,
                BillingEntityTax.billing_entity_id == billing_entity_id,
            )
            .order_by(Tax.created_at, Tax.id)
        )
    )


def organization_taxes(ctx: Ctx) -> list[Tax]:
    """Taxes ``applied_to_organization``: those of the default billing entity."""
    return billing_entity_taxes(ctx, default_billing_entity(ctx.session, ctx.org_id).id)


def tax_entities(ctx: Ctx, tax: Tax) -> list[AppliedEntity]:
    return entities_by_tax(ctx.session, [tax.id])[tax.id]


def _apply(state: _State, data: TaxInput, fields: set[str]) -> None:
    if "name" in fields:
        state.name = casting.text(data.name)
    if "code" in fields:
        state.code = casting.text(data.code)
    if "description" in fields:
        state.description = casting.text(data.description)
    if "rate" in fields:
        state.rate = casting.decimal(data.rate)


def _code_taken(ctx: Ctx, code: str, exclude: Tax | None) -> bool:
    """Lago's uniqueness check on taxes ignores the soft delete: a deleted tax keeps its code."""
    stmt = select(Tax.id).where(Tax.organization_id == ctx.org_id, Tax.code == code)
    if exclude is not None:
        stmt = stmt.where(Tax.id != exclude.id)
    return ctx.session.scalar(stmt.limit(1)) is not None


def _validate(ctx: Ctx, state: _State, existing: Tax | None) -> None:
    """The model's rules on the final state (Lago's order: name, rate, code).

    Divergences, on purpose: Lago stores an unparseable rate as 0.0 and accepts negative rates;
    Billow answers ``value_is_invalid`` / ``value_is_out_of_range``.
    """
    errors = ErrorCollector()
    if casting.is_blank(state.name):
        errors.add("name", "value_is_mandatory")
    if state.rate is None:
        errors.add("rate", "value_is_mandatory")
    elif not isinstance(state.rate, Decimal):
        errors.add("rate", "value_is_invalid")
    elif state.rate < 0:
        errors.add("rate", "value_is_out_of_range")
    if state.code is None or casting.is_blank(state.code):
        errors.add("code", "value_is_mandatory")
    elif _code_taken(ctx, state.code, existing):
        errors.add("code", "value_already_exist")
    errors.raise_if_any()


def _flush(ctx: Ctx) -> None:
    """Flush in a savepoint: losing a race on the unique code is a 422, not a 500."""
    try:
        with ctx.session.begin_nested():
            ctx.session.flush()
    except IntegrityError as exc:
        raise ValidationFailed({"code": ["value_already_exist"]}) from exc


def _set_default_entity(ctx: Ctx, tax: Tax, applied: bool) -> None:
    entity = default_billing_entity(ctx.session, ctx.org_id)
    current = ctx.session.scalar(
        select(BillingEntityTax).where(
            BillingEntityTax.billing_entity_id == entity.id, BillingEntityTax.tax_id == tax.id
        )
    )
    if applied and current is None:
        now = ctx.now()
        ctx.session.add(
            BillingEntityTax(
                organization_id=ctx.org_id,
                billing_entity_id=entity.id,
                tax_id=tax.id,
                created_at=now,
                updated_at=now,
            )
        )
    elif not applied and current is not None:
        ctx.session.delete(current)
    ctx.session.flush()


def create_tax(ctx: Ctx, data: TaxInput) -> Tax:
    fields = set(data.model_fields_set)
    state = _State()
    _apply(state, data, fields)
    _validate(ctx, state, None)
    assert isinstance(state.rate, Decimal)
    now = ctx.now()
    tax = Tax(
        organization_id=ctx.org_id,
        name=state.name,
        code=state.code,
        description=state.description,
        rate=state.rate,
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(tax)
    _flush(ctx)
    if casting.boolean(data.applied_to_organization):
        _set_default_entity(ctx, tax, True)
    return tax


def update_tax(ctx: Ctx, code: str, data: TaxInput) -> Tax:
    """Only sent fields change. Hook: draft invoices of the customers it applies to are to be
    flagged for refresh once invoices exist (Lago's ``ready_to_be_refreshed``)."""
    tax = get_tax(ctx, code)
    fields = set(data.model_fields_set)
    state = _State(name=tax.name, code=tax.code, description=tax.description, rate=tax.rate)
    _apply(state, data, fields)
    _validate(ctx, state, tax)
    assert isinstance(state.rate, Decimal)
    tax.name = state.name or ""
    tax.code = state.code or ""
    tax.description = state.description
    tax.rate = state.rate
    tax.updated_at = ctx.now()
    _flush(ctx)
    if "applied_to_organization" in fields:
        _set_default_entity(ctx, tax, bool(casting.boolean(data.applied_to_organization)))
    return tax


def delete_tax(ctx: Ctx, code: str) -> tuple[Tax, list[AppliedEntity]]:
    """Soft delete; the tax leaves every billing entity. Returns the tax and the entities it was
    applied to (Lago answers with the tax as it was before the removal).

    Taxes of add-ons, customers, plans and charges are read through live taxes only, so the
    deleted tax disappears from them too. Hook: draft invoices to flag for refresh.
    """
    tax = get_tax(ctx, code)
    entities = tax_entities(ctx, tax)
    now = ctx.now()
    ctx.session.execute(
        delete(BillingEntityTax).where(
            BillingEntityTax.organization_id == ctx.org_id, BillingEntityTax.tax_id == tax.id
        )
    )
    tax.deleted_at = now
    tax.updated_at = now
    ctx.session.flush()
    return tax, entities


def list_taxes(ctx: Ctx, page: PageParams) -> tuple[list[Tax], int]:
    """Ordered by name, then newest first (Lago's ``TaxesQuery``)."""
    base = _live(ctx)
    total = ctx.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    items = ctx.session.scalars(
        base.order_by(Tax.name, Tax.created_at.desc(), Tax.id).offset(page.offset).limit(page.per_page)
    ).all()
    return list(items), total
