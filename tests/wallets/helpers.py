"""Wallet test helpers: wallets and top-ups through the public API, the ledger invariant, and
the queued wallet webhooks."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from billow.runtime import Runtime
from billow.wallets.models import Wallet, WalletTransaction, WalletTransactionConsumption
from billow.webhooks.models import Webhook
from tests.pricing.helpers import ok


def create_wallet(api: Any, customer_id: str = "cus_1", **fields: Any) -> dict[str, Any]:
    body = {"external_customer_id": customer_id, "rate_amount": "1", "currency": "EUR", **fields}
    return ok(api.post("/wallets", {"wallet": body}))["wallet"]


def get_wallet(api: Any, lago_id: str) -> dict[str, Any]:
    return ok(api.get(f"/wallets/{lago_id}"))["wallet"]


def top_up(api: Any, wallet_id: str, **fields: Any) -> list[dict[str, Any]]:
    body = {"wallet_id": wallet_id, **fields}
    return ok(api.post("/wallet_transactions", {"wallet_transaction": body}))["wallet_transactions"]


def transactions(api: Any, wallet_id: str, **params: Any) -> list[dict[str, Any]]:
    return ok(api.get(f"/wallets/{wallet_id}/wallet_transactions", per_page=1000, **params))[
        "wallet_transactions"
    ]


def assert_ledger(runtime: Runtime) -> None:
    """Every wallet: ``balance == Σ settled inbound − Σ settled outbound`` (cents and credits),
    never negative, and every inbound's remaining amount equals what its consumptions left."""
    with runtime.db.session() as session:
        for wallet in session.scalars(select(Wallet)):
            rows = session.execute(
                select(
                    WalletTransaction.transaction_type,
                    WalletTransaction.amount_cents,
                    WalletTransaction.credit_amount,
                ).where(WalletTransaction.wallet_id == wallet.id, WalletTransaction.status == "settled")
            ).all()
            cents = sum(c if t == "inbound" else -c for t, c, _ in rows)
            credits = sum((cr if t == "inbound" else -cr for t, _, cr in rows), Decimal(0))
            assert wallet.balance_cents == cents, (wallet.code, wallet.balance_cents, cents)
            assert wallet.credits_balance == credits, (wallet.code, wallet.credits_balance, credits)
            assert wallet.balance_cents >= 0
            inbound = session.scalars(
                select(WalletTransaction).where(
                    WalletTransaction.wallet_id == wallet.id,
                    WalletTransaction.transaction_type == "inbound",
                    WalletTransaction.status == "settled",
                )
            ).all()
            for tx in inbound:
                spent = session.scalar(
                    select(
                        func.coalesce(func.sum(WalletTransactionConsumption.consumed_amount_cents), 0)
                    ).where(WalletTransactionConsumption.inbound_wallet_transaction_id == tx.id)
                )
                assert tx.remaining_amount_cents == tx.amount_cents - int(spent or 0)


def wallet_webhooks(runtime: Runtime, *types: str) -> list[tuple[str, dict[str, Any]]]:
    """Queued webhooks ``(type, object)`` in order (only the given types, when any)."""
    with runtime.db.session() as session:
        rows = session.execute(
            select(Webhook.webhook_type, Webhook.object_type, Webhook.payload).order_by(
                Webhook.created_at, Webhook.id
            )
        ).all()
    found = []
    for webhook_type, object_type, payload in rows:
        if types and webhook_type not in types:
            continue
        found.append((webhook_type, json.loads(payload)[object_type]))
    return found


def webhook_counts(runtime: Runtime, *types: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for webhook_type, _ in wallet_webhooks(runtime, *types):
        counts[webhook_type] = counts.get(webhook_type, 0) + 1
    return counts


def wallet_row(runtime: Runtime, lago_id: str) -> Wallet:
    with runtime.db.session() as session:
        wallet = session.get(Wallet, uuid.UUID(lago_id))
        assert wallet is not None
        session.expunge(wallet)
        return wallet


def ledger_invariant(request: Any) -> Iterator[None]:
    """Body of the autouse fixtures of the wallet test directories: after each test that has a
    runtime, :func:`assert_ledger` on every wallet of every organization. The runtime is
    requested at set-up, so it is torn down after the check."""
    runtime = request.getfixturevalue("runtime") if "runtime" in request.fixturenames else None
    yield
    if runtime is not None:
        assert_ledger(runtime)
