"""Look-ups and lists of wallets and wallet transactions, always scoped to the organization."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, select

from billow.core.errors import NotFound, ValidationFailed
from billow.core.ids import parse_uuid
from billow.core.pagination import PageParams
from billow.customers.billing_entities import billing_entity_ids_for_codes
from billow.customers.models import Customer
from billow.customers.service import get_customer
from billow.db.context import Ctx
from billow.db.pages import page_of
from billow.wallets.models import (
    STATUSES,
    TRANSACTION_STATUSES,
    TRANSACTION_TYPES,
    RecurringTransactionRule,
    Wallet,
    WalletTransaction,
    WalletTransactionConsumption,
)


def _wallets(ctx: Ctx) -> Select[Wallet]:
    return select(Wallet).where(Wallet.organization_id == ctx.org_id)


def find_wallet(ctx: Ctx, lago_id: str, *, for_update: bool = False) -> Wallet:
    parsed = parse_uuid(lago_id)
    stmt = _wallets(ctx).where(Wallet.id == parsed)
    if for_update and ctx.dialect == "postgresql":
        stmt = stmt.with_for_update()
    wallet = ctx.session.scalar(stmt) if parsed is not None else None
    if wallet is None:
        raise NotFound("wallet")
    return wallet


def find_customer_wallet(ctx: Ctx, external_customer_id: str, code: str) -> Wallet:
    """``/customers/{id}/wallets/{code}``: the active wallet with that code, else the most recent
    terminated one (Lago orders by status, active first)."""
    customer = get_customer(ctx, external_customer_id)
    wallet = ctx.session.scalar(
        _wallets(ctx)
        .where(Wallet.customer_id == customer.id, Wallet.code == code)
        .order_by(Wallet.status, Wallet.created_at.desc(), Wallet.id)
        .limit(1)
    )
    if wallet is None:
        raise NotFound("wallet")
    return wallet


def active_wallets(ctx: Ctx, customer_id: uuid.UUID) -> list[Wallet]:
    """The customer's active wallets in application order (priority, then age)."""
    return list(
        ctx.session.scalars(
            _wallets(ctx)
            .where(Wallet.customer_id == customer_id, Wallet.status == "active")
            .order_by(Wallet.priority, Wallet.created_at, Wallet.id)
        )
    )


def code_taken(ctx: Ctx, customer_id: uuid.UUID, code: str, exclude: uuid.UUID | None = None) -> bool:
    stmt = _wallets(ctx).where(
        Wallet.customer_id == customer_id, Wallet.code == code, Wallet.status == "active"
    )
    if exclude is not None:
        stmt = stmt.where(Wallet.id != exclude)
    return ctx.session.scalar(stmt.limit(1)) is not None


def active_rules(ctx: Ctx, wallet_id: uuid.UUID) -> list[RecurringTransactionRule]:
    now = ctx.now()
    rules = ctx.session.scalars(
        select(RecurringTransactionRule)
        .where(
            RecurringTransactionRule.wallet_id == wallet_id,
            RecurringTransactionRule.organization_id == ctx.org_id,
            RecurringTransactionRule.status == "active",
        )
        .order_by(RecurringTransactionRule.created_at, RecurringTransactionRule.id)
    )
    return [r for r in rules if r.expiration_at is None or r.expiration_at > now]


@dataclass
class WalletFilters:
    external_customer_id: str | None = None
    currency: str | None = None
    billing_entity_codes: list[str] | None = None


def list_wallets(ctx: Ctx, filters: WalletFilters, page: PageParams) -> tuple[list[Wallet], int]:
    stmt = _wallets(ctx)
    if filters.external_customer_id is not None:
        customer = get_customer(ctx, filters.external_customer_id)
        stmt = stmt.where(Wallet.customer_id == customer.id)
    if filters.currency:
        stmt = stmt.where(Wallet.currency == filters.currency)
    if filters.billing_entity_codes:
        entity_ids = billing_entity_ids_for_codes(ctx, filters.billing_entity_codes)
        stmt = stmt.join(Customer, Customer.id == Wallet.customer_id).where(
            func.coalesce(Wallet.billing_entity_id, Customer.billing_entity_id).in_(entity_ids)
        )
    return page_of(ctx.session, stmt, page, Wallet.created_at.desc(), Wallet.id)


def find_transaction(ctx: Ctx, lago_id: str) -> WalletTransaction:
    parsed = parse_uuid(lago_id)
    tx = (
        ctx.session.scalar(
            select(WalletTransaction).where(
                WalletTransaction.id == parsed, WalletTransaction.organization_id == ctx.org_id
            )
        )
        if parsed is not None
        else None
    )
    if tx is None:
        raise NotFound("wallet_transaction")
    return tx


@dataclass
class TransactionFilters:
    status: str | None = None
    transaction_type: str | None = None
    transaction_status: str | None = None


def list_transactions(
    ctx: Ctx, wallet_id: str, filters: TransactionFilters, page: PageParams
) -> tuple[list[WalletTransaction], int]:
    """Unknown filter values are ignored, as Lago does."""
    wallet = find_wallet(ctx, wallet_id)
    stmt = select(WalletTransaction).where(
        WalletTransaction.wallet_id == wallet.id, WalletTransaction.organization_id == ctx.org_id
    )
    if filters.status in STATUSES:
        stmt = stmt.where(WalletTransaction.status == filters.status)
    if filters.transaction_type in TRANSACTION_TYPES:
        stmt = stmt.where(WalletTransaction.transaction_type == filters.transaction_type)
    if filters.transaction_status in TRANSACTION_STATUSES:
        stmt = stmt.where(WalletTransaction.transaction_status == filters.transaction_status)
    return page_of(ctx.session, stmt, page, WalletTransaction.created_at.desc(), WalletTransaction.id)


def list_consumptions(
    ctx: Ctx, lago_id: str, direction: str, page: PageParams
) -> tuple[list[tuple[WalletTransactionConsumption, WalletTransaction]], int]:
    """``consumptions`` of an inbound transaction (with the outbound ones that spent it) or
    ``fundings`` of an outbound one (with the inbound ones that paid it)."""
    tx = find_transaction(ctx, lago_id)
    expected = "inbound" if direction == "consumptions" else "outbound"
    if tx.transaction_type != expected:
        raise ValidationFailed({"transaction_type": ["invalid_transaction_type"]})
    own, other = (
        (
            WalletTransactionConsumption.inbound_wallet_transaction_id,
            WalletTransactionConsumption.outbound_wallet_transaction_id,
        )
        if direction == "consumptions"
        else (
            WalletTransactionConsumption.outbound_wallet_transaction_id,
            WalletTransactionConsumption.inbound_wallet_transaction_id,
        )
    )
    stmt = (
        select(WalletTransactionConsumption, WalletTransaction)
        .join(WalletTransaction, WalletTransaction.id == other)
        .where(own == tx.id, WalletTransactionConsumption.organization_id == ctx.org_id)
    )
    total = int(ctx.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = ctx.session.execute(
        stmt.order_by(WalletTransactionConsumption.created_at.desc(), WalletTransactionConsumption.id)
        .offset(page.offset)
        .limit(page.per_page)
    ).all()
    return [(c, t) for c, t in rows], total


def transactions_of_invoice(ctx: Ctx, invoice_id: uuid.UUID, status: str) -> Sequence[WalletTransaction]:
    return ctx.session.scalars(
        select(WalletTransaction).where(
            WalletTransaction.organization_id == ctx.org_id,
            WalletTransaction.invoice_id == invoice_id,
            WalletTransaction.transaction_status == status,
        )
    ).all()
