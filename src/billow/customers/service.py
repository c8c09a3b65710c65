"""Customers: upsert by ``external_id`` (``POST /customers``), read, soft delete, and their taxes.

Every check runs before the first write, so a refused input stores nothing and queues nothing.
What depends on packages built on customers (is the currency locked, what deleting a customer
terminates) goes through ``CustomerHooks``, wired at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select, text

from billow.core.errors import NotFound, ValidationFailed
from billow.customers.billing_entities import resolve_billing_entity
from billow.customers.hooks import CustomerHooks
from billow.customers.metadata import MetadataPlan, apply_metadata, load_metadata, plan_metadata
from billow.customers.models import Customer
from billow.customers.schemas import CustomerInput
from billow.customers.taxes import customer_taxes as customer_taxes
from billow.customers.taxes import resolve_customer_tax_codes, set_customer_taxes
from billow.customers.validation import (
    check_columns,
    column_changes,
    precheck,
    provider_refusal,
    sections_conflict,
)
from billow.db.context import Ctx
from billow.organizations.service import default_billing_entity
from billow.pricing.taxes.models import Tax
from billow.webhooks.emitter import emit


@dataclass(frozen=True)
class UpsertResult:
    customer: Customer
    created: bool


def _live(ctx: Ctx) -> Select[Customer]:
    return select(Customer).where(Customer.organization_id == ctx.org_id, Customer.deleted_at.is_(None))


def find_customer(ctx: Ctx, external_id: str, *, for_update: bool = False) -> Customer | None:
    stmt = _live(ctx).where(Customer.external_id == external_id)
    if for_update:
        stmt = stmt.with_for_update()
    return ctx.session.scalar(stmt)


def get_customer(ctx: Ctx, external_id: str) -> Customer:
    customer = find_customer(ctx, external_id)
    if customer is None:
        raise NotFound("customer")
    return customer


def _lock_customer_numbering(ctx: Ctx) -> None:
    """Serialize customer creation per organization for the rest of the transaction.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: every write transaction already
    holds the database write lock (``BEGIN IMMEDIATE``).
    """
    if ctx.dialect == "postgresql":
        ctx.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"customers:{ctx.org_id}"}
        )


def _next_sequential_id(ctx: Ctx) -> int:
    """Gapless per organization, counting deleted customers (their numbers are never reused)."""
    current = ctx.session.scalar(
        select(func.max(Customer.sequential_id)).where(Customer.organization_id == ctx.org_id)
    )
    return int(current or 0) + 1


def currency_locked(ctx: Ctx, customer: Customer) -> bool:
    """True once the customer has subscriptions, invoices, fixed-amount coupons or wallets (Lago's
    ``Customer#editable?`` negated), as the packages owning those answer through ``CustomerHooks``."""
    return any(holds(ctx, customer.id) for holds in ctx.hooks.get(CustomerHooks).currency_holders)


def _check_currency(ctx: Ctx, customer: Customer | None, changes: dict[str, Any]) -> None:
    """Lago's ``UpdateCurrencyService`` on a customer update: another currency (``null`` too) on a
    locked customer is 422 ``currency: currencies_does_not_match``."""
    if customer is None or "currency" not in changes:
        return
    if changes["currency"] != customer.currency and currency_locked(ctx, customer):
        raise ValidationFailed.field("currency", "currencies_does_not_match")


def assign_currency(ctx: Ctx, customer: Customer, currency: str) -> None:
    """The customer starts using something priced in ``currency`` (a plan): a customer without
    currency takes it; otherwise it must be the customer's (Lago's ``UpdateCurrencyService``:
    422 ``currency: currencies_does_not_match``). Sends no webhook."""
    if customer.currency == currency:
        return
    if customer.currency is not None or currency_locked(ctx, customer):
        raise ValidationFailed.field("currency", "currencies_does_not_match")
    customer.currency = currency
    customer.updated_at = ctx.now()
    ctx.session.flush()


def _check_taxes(ctx: Ctx, data: CustomerInput) -> list[Tax] | None:
    """The taxes replacing the customer's when ``tax_codes`` is sent (404 ``tax_not_found``)."""
    return resolve_customer_tax_codes(ctx, data.tax_codes if "tax_codes" in data.model_fields_set else None)


def _plan_metadata(ctx: Ctx, data: CustomerInput, customer: Customer | None) -> MetadataPlan | None:
    if data.metadata is None:
        return None
    existing = load_metadata(ctx, customer.id) if customer is not None else []
    return plan_metadata(data.metadata, existing)


def upsert_customer(ctx: Ctx, data: CustomerInput) -> UpsertResult:
    sent = data.model_fields_set
    entity = resolve_billing_entity(ctx, data.billing_entity_code)
    precheck(data).raise_if_any()

    external_id = data.external_id.replace("\x00", "") if data.external_id is not None else None
    customer: Customer | None = None
    if external_id is not None and external_id.strip():
        customer = find_customer(ctx, external_id, for_update=True)
        if customer is None:
            _lock_customer_numbering(ctx)
            customer = find_customer(ctx, external_id, for_update=True)
    is_new = customer is None

    changes = column_changes(data, is_new=is_new)
    if is_new or "billing_entity_code" in sent:
        changes["billing_entity_id"] = entity.id
    check_columns(changes, external_id=external_id, is_new=is_new).raise_if_any()
    _check_currency(ctx, customer, changes)
    taxes = _check_taxes(ctx, data)
    if sections_conflict(data):
        raise ValidationFailed.field(
            "invoice_custom_sections", "skip_sections_and_selected_ids_sent_together"
        )
    metadata_plan = _plan_metadata(ctx, data, customer)
    refusal = provider_refusal(data)
    if refusal is not None:
        raise ValidationFailed.field("base", refusal)

    if customer is None:
        assert external_id is not None
        customer = _create(ctx, external_id, changes)
    else:
        _update(ctx, customer, changes)
    if taxes is not None:
        set_customer_taxes(ctx, customer.id, taxes)
    if metadata_plan is not None:
        apply_metadata(ctx, customer, metadata_plan)
    ctx.session.flush()
    emit(ctx, "customer.created" if is_new else "customer.updated", customer)
    return UpsertResult(customer, is_new)


def _create(ctx: Ctx, external_id: str, changes: dict[str, Any]) -> Customer:
    now = ctx.now()
    sequential_id = _next_sequential_id(ctx)
    prefix = default_billing_entity(ctx.session, ctx.org_id).document_number_prefix
    customer = Customer(
        organization_id=ctx.org_id,
        external_id=external_id,
        sequential_id=sequential_id,
        slug=f"{prefix}-{sequential_id:03d}",
        account_type="customer",
        finalize_zero_amount_invoice="inherit",
        skip_invoice_custom_sections=False,
        created_at=now,
        updated_at=now,
    )
    for column, value in changes.items():
        setattr(customer, column, value)
    ctx.session.add(customer)
    ctx.session.flush()
    return customer


def _update(ctx: Ctx, customer: Customer, changes: dict[str, Any]) -> None:
    """Only sent fields change; ``updated_at`` moves only when a column really changed."""
    changed = False
    for column, value in changes.items():
        if getattr(customer, column) != value:
            setattr(customer, column, value)
            changed = True
    if changed:
        customer.updated_at = ctx.now()
    ctx.session.flush()


def delete_customer(ctx: Ctx, external_id: str) -> Customer:
    """Soft delete: the customer leaves every list and its external_id is free again. Then, in the
    same transaction, the ``CustomerHooks.on_delete`` callbacks end what it had (Lago runs its
    ``TerminateRelationsService`` right after the discard): active subscriptions terminated with
    their termination invoices queued, pending ones canceled, applied coupons terminated, each
    package sending its own webhooks."""
    customer = find_customer(ctx, external_id, for_update=True)
    if customer is None:
        raise NotFound("customer")
    now = ctx.now()
    customer.deleted_at = now
    customer.updated_at = now
    ctx.session.flush()
    for terminate in ctx.hooks.get(CustomerHooks).on_delete:
        terminate(ctx, customer.id)
    ctx.session.flush()
    return customer
