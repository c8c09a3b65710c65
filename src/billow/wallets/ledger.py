"""The only code that moves a wallet's balance.

Every move is one ``UPDATE wallets SET balance_cents = balance_cents ± x ... WHERE id = ? [AND
balance_cents >= x]`` whose row count is checked, taken while the wallet row is locked
(``lock_wallets``: ``SELECT … FOR UPDATE`` in id order on PostgreSQL; SQLite serializes writers
with ``BEGIN IMMEDIATE``). Two concurrent consumptions therefore see each other's result, and a
debit that would overdraw fails instead of going through (the ``balance_not_negative`` CHECK is
the last backstop). Credit columns follow from the locked row, ongoing balances shift by the same
amount until the next refresh recomputes them.

Every move is recorded by a settled transaction written by the caller, so ``balance_cents`` is
always ``Σ settled inbound − Σ settled outbound``. Inbound transactions keep what is left of them
(``remaining_amount_cents``); an outbound one consumes them in Lago's order (priority, granted
before purchased, oldest first) and records each ``WalletTransactionConsumption``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import case, select, update

from billow.core.errors import ValidationFailed
from billow.core.ids import new_id
from billow.db.context import Ctx
from billow.jobs.queue import enqueue
from billow.wallets.credits import credits_of_cents
from billow.wallets.models import Wallet, WalletTransaction, WalletTransactionConsumption
from billow.webhooks.emitter import emit

REFRESH_JOB = "wallets.refresh_ongoing_balance"


class InsufficientBalance(ValidationFailed):
    """A debit larger than the wallet's balance (raised instead of overdrawing)."""

    def __init__(self, field: str = "amount_cents") -> None:
        super().__init__({field: ["insufficient_credits"]})


def lock_wallets(ctx: Ctx, wallet_ids: Iterable[uuid.UUID]) -> None:
    """Lock the wallets' rows until the transaction ends (id order: no deadlock between two
    lockers of several wallets)."""
    ids = sorted(set(wallet_ids))
    if not ids or ctx.dialect != "postgresql":
        return
    ctx.session.execute(
        select(Wallet.id).where(Wallet.id.in_(ids)).order_by(Wallet.id).with_for_update()
    ).all()


def locked_wallet(ctx: Ctx, wallet: Wallet) -> Wallet:
    """``wallet`` locked and re-read."""
    lock_wallets(ctx, [wallet.id])
    ctx.session.refresh(wallet)
    return wallet


def request_refresh(ctx: Ctx, customer_id: uuid.UUID, cause: str) -> None:
    """Recompute the customer's ongoing balances after this transaction (one job per cause)."""
    enqueue(
        ctx,
        REFRESH_JOB,
        {"customer_id": str(customer_id)},
        unique_key=f"wallets:refresh:{customer_id}:{cause}",
    )


def _moved(ctx: Ctx, wallet: Wallet) -> None:
    """After a balance move: credit columns from the new row, ``wallet.updated``."""
    ctx.session.refresh(wallet)
    wallet.credits_ongoing_balance = credits_of_cents(
        wallet.ongoing_balance_cents, wallet.rate_amount, wallet.currency
    )
    ctx.session.flush()
    emit(ctx, "wallet.updated", wallet)


def increase(ctx: Ctx, wallet: Wallet, tx: WalletTransaction) -> None:
    """Add a settled inbound transaction to the (locked) wallet."""
    ctx.session.flush()
    now = ctx.now()
    credits = wallet.credits_balance + tx.credit_amount
    result = ctx.session.execute(
        update(Wallet)
        .where(Wallet.id == wallet.id, Wallet.organization_id == ctx.org_id)
        .values(
            balance_cents=Wallet.balance_cents + tx.amount_cents,
            ongoing_balance_cents=Wallet.ongoing_balance_cents + tx.amount_cents,
            credits_balance=credits,
            last_balance_sync_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise LookupError(f"wallet {wallet.id} not found")
    _moved(ctx, wallet)


def decrease(ctx: Ctx, wallet: Wallet, tx: WalletTransaction, *, field: str = "amount_cents") -> None:
    """Take a settled outbound transaction from the (locked) wallet; never overdraws."""
    ctx.session.flush()
    now = ctx.now()
    credits = wallet.credits_balance - tx.credit_amount
    consumed = wallet.consumed_credits + tx.credit_amount
    result = ctx.session.execute(
        update(Wallet)
        .where(
            Wallet.id == wallet.id,
            Wallet.organization_id == ctx.org_id,
            Wallet.balance_cents >= tx.amount_cents,
        )
        .values(
            balance_cents=Wallet.balance_cents - tx.amount_cents,
            ongoing_balance_cents=Wallet.ongoing_balance_cents - tx.amount_cents,
            consumed_amount_cents=Wallet.consumed_amount_cents + tx.amount_cents,
            credits_balance=credits,
            consumed_credits=consumed,
            last_balance_sync_at=now,
            last_consumed_credit_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise InsufficientBalance(field)
    _moved(ctx, wallet)


# --------------------------------------------------------------------------- traceability


def open_inbound(ctx: Ctx, tx: WalletTransaction) -> None:
    """A settled inbound transaction becomes spendable in full."""
    tx.remaining_amount_cents = tx.amount_cents


def _consume(ctx: Ctx, inbound_id: uuid.UUID, outbound: WalletTransaction, cents: int) -> None:
    result = ctx.session.execute(
        update(WalletTransaction)
        .where(WalletTransaction.id == inbound_id, WalletTransaction.remaining_amount_cents >= cents)
        .values(remaining_amount_cents=WalletTransaction.remaining_amount_cents - cents)
        .execution_options(synchronize_session="evaluate")
    )
    if getattr(result, "rowcount", 0) != 1:
        raise InsufficientBalance()
    now = ctx.now()
    ctx.session.add(
        WalletTransactionConsumption(
            id=new_id(),
            organization_id=ctx.org_id,
            inbound_wallet_transaction_id=inbound_id,
            outbound_wallet_transaction_id=outbound.id,
            consumed_amount_cents=cents,
            created_at=now,
            updated_at=now,
        )
    )


def track_consumption(ctx: Ctx, wallet: Wallet, outbound: WalletTransaction) -> None:
    """Spend ``outbound`` from the wallet's available inbound transactions, in consumption
    order. Whatever the inbound transactions cannot cover (balances older than the ledger)
    is simply not traced."""
    ctx.session.flush()
    granted_first = case((WalletTransaction.transaction_status == "granted", 0), else_=1)
    rows = ctx.session.execute(
        select(WalletTransaction.id, WalletTransaction.remaining_amount_cents)
        .where(
            WalletTransaction.wallet_id == wallet.id,
            WalletTransaction.transaction_type == "inbound",
            WalletTransaction.status == "settled",
            WalletTransaction.remaining_amount_cents > 0,
        )
        .order_by(
            WalletTransaction.priority,
            granted_first,
            WalletTransaction.created_at,
            WalletTransaction.id,
        )
    ).all()
    left = outbound.amount_cents
    for inbound_id, remaining in rows:
        if left <= 0:
            break
        take = min(int(remaining or 0), left)
        _consume(ctx, inbound_id, outbound, take)
        left -= take
    ctx.session.flush()


def consumed_split(ctx: Ctx, outbound_ids: Iterable[uuid.UUID]) -> tuple[int, int]:
    """``(granted, purchased)`` cents the outbound transactions took from each kind."""
    ids = list(outbound_ids)
    if not ids:
        return 0, 0
    rows = ctx.session.execute(
        select(WalletTransaction.transaction_status, WalletTransactionConsumption.consumed_amount_cents)
        .join(
            WalletTransaction,
            WalletTransaction.id == WalletTransactionConsumption.inbound_wallet_transaction_id,
        )
        .where(WalletTransactionConsumption.outbound_wallet_transaction_id.in_(ids))
    ).all()
    granted = sum(int(c) for s, c in rows if s == "granted")
    purchased = sum(int(c) for s, c in rows if s != "granted")
    return granted, purchased
