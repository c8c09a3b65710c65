"""Ongoing balances: what each active wallet will have once unbilled usage is invoiced
(billing.md §6.5).

Ongoing usage = the current period's usage charge fees of every active subscription, taxes
included (pay-in-advance charges are billed already), plus the customer's draft invoices
(fees + taxes − coupons), shared among the wallets by :mod:`billow.wallets.allocation`.
``ongoing_balance = balance − ongoing usage`` (``billow.billing.math.ongoing_balance``).

A refresh runs as the job ``wallets.refresh_ongoing_balance`` (one per customer): queued after
every balance move, and by :mod:`billow.wallets.triggers` (events, finalized invoices, daily). It sends no
``wallet.updated``; ``wallet.depleted_ongoing_balance`` fires once when the ongoing balance
reaches 0 or less (again only after it went back above 0). Threshold rules are evaluated after
each refresh.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from billow.billing.fees.compute import current_usage_charge_fees
from billow.billing.fees.engine import FeeEngine
from billow.billing.math import FeeLine, compute_fee_taxes, ongoing_balance
from billow.billing.models import Fee, Invoice
from billow.core.money import ZERO
from billow.db.context import Ctx
from billow.jobs.registry import HandlerResult
from billow.pricing.plans.models import Charge
from billow.subscriptions.models import Subscription
from billow.wallets import ledger
from billow.wallets.allocation import UsageAmount, allocate_ongoing_usage
from billow.wallets.consumption import metric_targets, wallet_view
from billow.wallets.models import RecurringTransactionRule, Wallet
from billow.wallets.queries import active_wallets
from billow.wallets.recurring import top_up_below_threshold
from billow.webhooks.emitter import emit


def _current_usage(ctx: Ctx, engine: FeeEngine, customer_id: uuid.UUID, now: datetime) -> list[UsageAmount]:
    subscriptions = ctx.session.scalars(
        select(Subscription).where(
            Subscription.organization_id == ctx.org_id,
            Subscription.customer_id == customer_id,
            Subscription.status == "active",
        )
    ).all()
    amounts: list[UsageAmount] = []
    for subscription in subscriptions:
        _, drafts = current_usage_charge_fees(ctx, engine, subscription, now)
        for index, draft in enumerate(drafts):
            if draft.pay_in_advance or draft.amount_cents == 0:
                continue
            line = FeeLine(
                id=str(index),
                fee_type="charge",
                amount_cents=draft.amount_cents,
                precise_amount_cents=draft.precise_amount_cents,
                taxes=draft.taxes,
            )
            taxes = compute_fee_taxes(line).taxes_amount_cents
            amounts.append(
                UsageAmount(
                    fee_type=draft.fee_type,
                    billable_metric_id=str(draft.billable_metric_id) if draft.billable_metric_id else None,
                    currency=draft.amount_currency,
                    amount_cents=ZERO + draft.amount_cents + taxes,
                )
            )
    return amounts


def _draft_invoices(ctx: Ctx, customer_id: uuid.UUID) -> list[UsageAmount]:
    rows = ctx.session.execute(
        select(Fee, Charge.billable_metric_id)
        .join(Invoice, Invoice.id == Fee.invoice_id)
        .outerjoin(Charge, Charge.id == Fee.charge_id)
        .where(
            Invoice.organization_id == ctx.org_id,
            Invoice.customer_id == customer_id,
            Invoice.status == "draft",
            Invoice.total_amount_cents != 0,
            Fee.deleted_at.is_(None),
        )
    ).all()
    return [
        UsageAmount(
            fee_type=fee.fee_type,
            billable_metric_id=str(fee.billable_metric_id or metric_id)
            if (fee.billable_metric_id or metric_id)
            else None,
            currency=fee.amount_currency,
            amount_cents=fee.amount_cents + fee.taxes_amount_cents - fee.precise_coupons_amount_cents,
        )
        for fee, metric_id in rows
    ]


def _threshold_wallet_ids(ctx: Ctx, wallet_ids: list[uuid.UUID]) -> frozenset[str]:
    now = ctx.now()
    rules = ctx.session.scalars(
        select(RecurringTransactionRule).where(
            RecurringTransactionRule.wallet_id.in_(wallet_ids),
            RecurringTransactionRule.status == "active",
            RecurringTransactionRule.trigger == "threshold",
        )
    ).all()
    return frozenset(str(r.wallet_id) for r in rules if r.expiration_at is None or r.expiration_at > now)


def _store(ctx: Ctx, wallet: Wallet, usage_cents: int) -> bool:
    """Write the wallet's ongoing balances; True when they (or its balance, since the last
    refresh) changed — only then do threshold rules look at it."""
    now = ctx.now()
    synced = wallet.last_ongoing_balance_sync_at
    moved = wallet.last_balance_sync_at is not None and (
        synced is None or wallet.last_balance_sync_at >= synced
    )
    view = wallet_view(wallet, frozenset())
    balance = ongoing_balance(view, usage_cents)
    changed = (
        wallet.ongoing_usage_balance_cents != balance.ongoing_usage_balance_cents
        or wallet.ongoing_balance_cents != balance.ongoing_balance_cents
    )
    wallet.ongoing_usage_balance_cents = balance.ongoing_usage_balance_cents
    wallet.ongoing_balance_cents = balance.ongoing_balance_cents
    wallet.credits_ongoing_usage_balance = balance.credits_ongoing_usage_balance
    wallet.credits_ongoing_balance = balance.credits_ongoing_balance
    wallet.last_ongoing_balance_sync_at = now
    if changed:
        wallet.updated_at = now
    depleted_now = not wallet.depleted_ongoing_balance and balance.depleted
    if depleted_now:
        wallet.depleted_ongoing_balance = True
    elif wallet.depleted_ongoing_balance and not balance.depleted:
        wallet.depleted_ongoing_balance = False
    ctx.session.flush()
    if depleted_now:
        emit(ctx, "wallet.depleted_ongoing_balance", wallet)
    return changed or moved


def refresh_customer_wallets(ctx: Ctx, engine: FeeEngine, customer_id: uuid.UUID) -> list[Wallet]:
    """Recompute the ongoing balances of the customer's active wallets, then their thresholds."""
    if not active_wallets(ctx, customer_id):
        return []
    now = ctx.now()
    amounts = _current_usage(ctx, engine, customer_id, now) + _draft_invoices(ctx, customer_id)
    wallets = active_wallets(ctx, customer_id)
    ids = [w.id for w in wallets]
    ledger.lock_wallets(ctx, ids)
    for wallet in wallets:
        ctx.session.refresh(wallet)
    targets = metric_targets(ctx, ids)
    views = [wallet_view(w, targets[w.id]) for w in wallets]
    allocations = allocate_ongoing_usage(views, amounts, _threshold_wallet_ids(ctx, ids))
    changed = {wallet.id: _store(ctx, wallet, allocations.get(str(wallet.id), 0)) for wallet in wallets}
    for wallet in wallets:
        top_up_below_threshold(ctx, wallet, state_changed=changed[wallet.id])
    return wallets


def refresh_handler(engine: FeeEngine) -> Callable[[Ctx, dict[str, Any]], HandlerResult]:
    def handler(ctx: Ctx, payload: dict[str, Any]) -> HandlerResult:
        refresh_customer_wallets(ctx, engine, uuid.UUID(str(payload["customer_id"])))
        return None

    return handler
