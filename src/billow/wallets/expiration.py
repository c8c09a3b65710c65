"""Expiration (billing.md §6.5): the hourly tick terminates wallets whose ``expiration_at`` has
come, and recurring rules whose own ``expiration_at`` has.

An expired wallet's remaining credits are forfeited through a recorded outbound ``voided``
transaction (so the balance stays the sum of its settled transactions), then the wallet is
terminated with its rules (``wallet_transaction.created``, ``wallet.updated``,
``wallet.terminated``). One ``wallets.terminate_expired`` job per wallet, ever.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from billow.db.context import Ctx
from billow.jobs.queue import enqueue
from billow.jobs.registry import HandlerResult
from billow.wallets import ledger
from billow.wallets.credits import Credit, credit_from_cents
from billow.wallets.models import RecurringTransactionRule, Wallet
from billow.wallets.rules import terminate_rule
from billow.wallets.transactions import TopUp, void_credits
from billow.wallets.wallets import terminate_wallet
from billow.webhooks.emitter import emit

TERMINATE_EXPIRED_JOB = "wallets.terminate_expired"


def enqueue_expired(ctx: Ctx, hour: datetime) -> int:
    """Tick: a termination job per active wallet whose expiration has come; expired rules end."""
    rows = ctx.session.execute(
        select(Wallet.id, Wallet.organization_id).where(
            Wallet.status == "active", Wallet.expiration_at.is_not(None), Wallet.expiration_at <= hour
        )
    ).all()
    count = 0
    for wallet_id, org_id in rows:
        if enqueue(
            ctx,
            TERMINATE_EXPIRED_JOB,
            {"wallet_id": str(wallet_id)},
            unique_key=f"wallets:expire:{wallet_id}",
            organization_id=org_id,
        ):
            count += 1
    rules = ctx.session.scalars(
        select(RecurringTransactionRule).where(
            RecurringTransactionRule.status == "active",
            RecurringTransactionRule.expiration_at.is_not(None),
            RecurringTransactionRule.expiration_at <= hour,
        )
    ).all()
    for rule in rules:
        terminate_rule(ctx, rule)
    return count


def terminate_expired(ctx: Ctx, wallet_id: uuid.UUID) -> Wallet | None:
    wallet = ctx.session.scalar(
        select(Wallet).where(Wallet.id == wallet_id, Wallet.organization_id == ctx.org_id)
    )
    if wallet is None or wallet.status != "active":
        return wallet
    ledger.locked_wallet(ctx, wallet)
    if wallet.expiration_at is None or wallet.expiration_at > ctx.now():
        return wallet
    if wallet.balance_cents > 0:
        money = credit_from_cents(wallet.balance_cents, wallet.rate_amount, wallet.currency)
        remaining = Credit(
            credit_amount=wallet.credits_balance if wallet.credits_balance > 0 else money.credit_amount,
            amount=money.amount,
            amount_cents=wallet.balance_cents,
        )
        tx = void_credits(ctx, wallet, remaining.credit_amount, TopUp(), credit=remaining)
        if tx is not None:
            emit(ctx, "wallet_transaction.created", tx)
    return terminate_wallet(ctx, wallet)


def terminate_expired_handler() -> Callable[[Ctx, dict[str, Any]], HandlerResult]:
    def handler(ctx: Ctx, payload: dict[str, Any]) -> HandlerResult:
        terminate_expired(ctx, uuid.UUID(str(payload["wallet_id"])))
        return None

    return handler
