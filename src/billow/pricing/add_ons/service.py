"""Add-ons: create, read, update, soft delete (by code), and their taxes.

Every check runs before the first write: field errors (422) first, then unknown tax codes (404
``tax_not_found``), as Lago answers them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billow.core.errors import ErrorCollector, NotFound, ValidationFailed
from billow.core.pagination import PageParams
from billow.core.validators import is_currency
from billow.db.context import Ctx
from billow.pricing import casting
from billow.pricing.add_ons.hooks import AddOnHooks
from billow.pricing.add_ons.models import AddOn, AddOnTax
from billow.pricing.add_ons.schemas import AddOnInput
from billow.pricing.taxes.models import Tax
from billow.pricing.taxes.service import resolve_tax_codes


@dataclass
class _State:
    name: str | None = None
    code: str | None = None
    invoice_display_name: str | None = None
    description: str | None = None
    amount_cents: int | casting.Invalid | None = None
    amount_currency: str | None = None


def _live(ctx: Ctx) -> Select[AddOn]:
    return select(AddOn).where(AddOn.organization_id == ctx.org_id, AddOn.deleted_at.is_(None))


def find_add_on(ctx: Ctx, code: str) -> AddOn | None:
    if "\x00" in code:  # PostgreSQL refuses NUL in text: no such code
        return None
    return ctx.session.scalar(_live(ctx).where(AddOn.code == code))


def get_add_on(ctx: Ctx, code: str) -> AddOn:
    add_on = find_add_on(ctx, code)
    if add_on is None:
        raise NotFound("add_on")
    return add_on


def taxes_by_add_on(session: Session, add_on_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Tax]]:
    """Live taxes of each add-on, in the order they were applied (one query)."""
    ids = list(add_on_ids)
    grouped: dict[uuid.UUID, list[Tax]] = {i: [] for i in ids}
    if not ids:
        return grouped
    rows = session.execute(
        select(AddOnTax.add_on_id, Tax)
        .join(Tax, Tax.id == AddOnTax.tax_id)
        .where(AddOnTax.add_on_id.in_(ids), Tax.deleted_at.is_(None))
        .order_by(AddOnTax.created_at, AddOnTax.id)
    ).all()
    for add_on_id, tax in rows:
        grouped[add_on_id].append(tax)
    return grouped


def add_on_taxes(ctx: Ctx, add_on: AddOn) -> list[Tax]:
    """The taxes of an add-on fee (first level of Lago's fee tax resolution for add-ons)."""
    return taxes_by_add_on(ctx.session, [add_on.id])[add_on.id]


def _apply(state: _State, data: AddOnInput, fields: set[str]) -> None:
    for name in ("name", "code", "invoice_display_name", "description", "amount_currency"):
        if name in fields:
            setattr(state, name, casting.text(getattr(data, name)))
    if "amount_cents" in fields:
        state.amount_cents = casting.integer(data.amount_cents)


def _code_taken(ctx: Ctx, code: str, exclude: AddOn | None) -> bool:
    stmt = _live(ctx).with_only_columns(AddOn.id).where(AddOn.code == code)
    if exclude is not None:
        stmt = stmt.where(AddOn.id != exclude.id)
    return ctx.session.scalar(stmt.limit(1)) is not None


def _validate(ctx: Ctx, state: _State, existing: AddOn | None) -> None:
    """Lago's model rules, in its order: name, code, amount_cents (> 0), amount_currency."""
    errors = ErrorCollector()
    if casting.is_blank(state.name):
        errors.add("name", "value_is_mandatory")
    if state.code is None or casting.is_blank(state.code):
        errors.add("code", "value_is_mandatory")
    elif _code_taken(ctx, state.code, existing):
        errors.add("code", "value_already_exist")
    if not isinstance(state.amount_cents, int):
        errors.add("amount_cents", casting.NOT_A_NUMBER)
    elif state.amount_cents <= 0:
        errors.add("amount_cents", "value_is_out_of_range")
    if state.amount_currency is None or not is_currency(state.amount_currency):
        errors.add("amount_currency", "value_is_invalid")
    errors.raise_if_any()


def _tax_codes(data: AddOnInput, fields: set[str]) -> list[str] | None:
    """``None``: leave the taxes as they are (absent, null, or not an array)."""
    return casting.string_list(data.tax_codes) if "tax_codes" in fields else None


def _flush(ctx: Ctx) -> None:
    try:
        with ctx.session.begin_nested():
            ctx.session.flush()
    except IntegrityError as exc:
        raise ValidationFailed({"code": ["value_already_exist"]}) from exc


def _set_taxes(ctx: Ctx, add_on: AddOn, taxes: Sequence[Tax]) -> None:
    """Replace the add-on's taxes: kept ones stay, others are removed, new ones added in order."""
    wanted = [t.id for t in taxes]
    current = set(ctx.session.scalars(select(AddOnTax.tax_id).where(AddOnTax.add_on_id == add_on.id)))
    stale = current - set(wanted)
    if stale:
        ctx.session.execute(
            delete(AddOnTax).where(AddOnTax.add_on_id == add_on.id, AddOnTax.tax_id.in_(stale))
        )
    now = ctx.now()
    for tax_id in wanted:
        if tax_id not in current:
            ctx.session.add(
                AddOnTax(
                    organization_id=ctx.org_id,
                    add_on_id=add_on.id,
                    tax_id=tax_id,
                    created_at=now,
                    updated_at=now,
                )
            )
    ctx.session.flush()


def create_add_on(ctx: Ctx, data: AddOnInput) -> AddOn:
    fields = set(data.model_fields_set)
    state = _State()
    _apply(state, data, fields)
    _validate(ctx, state, None)
    codes = _tax_codes(data, fields)
    taxes = resolve_tax_codes(ctx, codes) if codes else []
    assert isinstance(state.amount_cents, int)
    now = ctx.now()
    add_on = AddOn(
        organization_id=ctx.org_id,
        name=state.name,
        code=state.code,
        invoice_display_name=state.invoice_display_name,
        description=state.description,
        amount_cents=state.amount_cents,
        amount_currency=state.amount_currency,
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(add_on)
    _flush(ctx)
    if taxes:
        _set_taxes(ctx, add_on, taxes)
    return add_on


def update_add_on(ctx: Ctx, code: str, data: AddOnInput) -> AddOn:
    """Only sent fields change; ``tax_codes`` (when an array) replaces the taxes."""
    add_on = get_add_on(ctx, code)
    fields = set(data.model_fields_set)
    state = _State(
        name=add_on.name,
        code=add_on.code,
        invoice_display_name=add_on.invoice_display_name,
        description=add_on.description,
        amount_cents=add_on.amount_cents,
        amount_currency=add_on.amount_currency,
    )
    _apply(state, data, fields)
    _validate(ctx, state, add_on)
    codes = _tax_codes(data, fields)
    taxes = resolve_tax_codes(ctx, codes) if codes else []
    assert isinstance(state.amount_cents, int)
    add_on.name = state.name or ""
    add_on.code = state.code or ""
    add_on.invoice_display_name = state.invoice_display_name
    add_on.description = state.description
    add_on.amount_cents = state.amount_cents
    add_on.amount_currency = state.amount_currency or ""
    add_on.updated_at = ctx.now()
    _flush(ctx)
    if codes is not None:
        _set_taxes(ctx, add_on, taxes)
    return add_on


def delete_add_on(ctx: Ctx, code: str) -> AddOn:
    """Soft delete (frees the code); then, in the same transaction, ``AddOnHooks.on_delete``
    deletes the fixed charges on it (Lago's ``AddOns::DestroyService``). No webhook, as in Lago."""
    add_on = get_add_on(ctx, code)
    now = ctx.now()
    add_on.deleted_at = now
    add_on.updated_at = now
    ctx.session.flush()
    for discard in ctx.hooks.get(AddOnHooks).on_delete:
        discard(ctx, add_on.id)
    ctx.session.flush()
    return add_on


def list_add_ons(ctx: Ctx, page: PageParams) -> tuple[list[AddOn], int]:
    base = _live(ctx)
    total = ctx.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    items = ctx.session.scalars(
        base.order_by(AddOn.created_at.desc(), AddOn.id).offset(page.offset).limit(page.per_page)
    ).all()
    return list(items), total
