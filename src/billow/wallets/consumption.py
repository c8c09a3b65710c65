"""Prepaid credits paying an invoice: the ``wallets`` adjustment source (billing.md §4.3 step 8,
§6.5), registered through ``billow.billing.adjustments.InvoiceAdjustmentHooks``.

``collect`` — finalizing invoices of the kinds wallets pay (never drafts): the customer's active
wallets in the invoice's currency with a positive balance, **locked** (``FOR UPDATE``) and
re-read, with their metric limits, for ``billow.billing.math.apply_wallets`` (priority, then age;
``applies_to``; never more than the total).

``persist`` — one outbound ``invoiced`` settled transaction per wallet used, taken from the
wallet by a guarded ``UPDATE`` (:mod:`billow.wallets.ledger`: a concurrent finalization waits for
the lock and sees the lower balance, so two never overspend), traced to the inbound credits it
spends; ``prepaid_granted/purchased_credit_amount_cents`` from that trace;
``wallet_transaction.created`` and ``wallet.updated``; the customer's ongoing balances are
recomputed after the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, bindparam, select

from billow.billing.adjustments import AdjustmentRequest
from billow.billing.math import InvoiceTotals
from billow.billing.math import Wallet as WalletView
from billow.core.ids import new_id
from billow.core.money import cents_to_amount
from billow.db.context import Ctx
from billow.db.one_of import one_of
from billow.db.prefetch import known_absent, prefetch_flags
from billow.wallets import ledger
from billow.wallets.flags import REFRESH_FLAG
from billow.wallets.models import Wallet, WalletTarget, WalletTransaction
from billow.webhooks.emitter import emit

PAID_BY_WALLETS = frozenset({"subscription", "in_advance_charge", "progressive_billing"})


def wallet_view(wallet: Wallet, metric_ids: frozenset[str]) -> WalletView:
    return WalletView(
        id=str(wallet.id),
        balance_cents=wallet.balance_cents,
        rate_amount=wallet.rate_amount,
        currency=wallet.currency,
        created_at=wallet.created_at,
        priority=wallet.priority,
        code=wallet.code,
        active=wallet.status == "active",
        allowed_fee_types=frozenset(wallet.allowed_fee_types or ()),
        billable_metric_ids=metric_ids,
    )


def metric_targets(ctx: Ctx, wallet_ids: list[uuid.UUID]) -> dict[uuid.UUID, frozenset[str]]:
    rows = ctx.session.execute(
        select(WalletTarget.wallet_id, WalletTarget.billable_metric_id).where(
            WalletTarget.wallet_id.in_(wallet_ids)
        )
    ).all()
    targets: dict[uuid.UUID, set[str]] = {i: set() for i in wallet_ids}
    for wallet_id, metric_id in rows:
        targets[wallet_id].add(str(metric_id))
    return {i: frozenset(v) for i, v in targets.items()}


# Built once (asked for every invoice; building a statement costs more than running it): the
# values are bound.
def _paying_where(org: Any, customer: Any, currency: Any) -> tuple[ColumnElement[bool], ...]:
    return (
        Wallet.organization_id == org,
        Wallet.customer_id == customer,
        Wallet.status == "active",
        Wallet.currency == currency,
        Wallet.balance_cents > 0,
    )


WALLETS_FLAG = "wallets.active"


def prefetch_wallet_flags(ctx: Ctx, customer_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """``BillingPrefetchHooks``: which customers have an active wallet (any currency or balance),
    for the wallets source's presence and for the refresh after finalization."""
    having = select(Wallet.customer_id).where(
        Wallet.organization_id == ctx.org_id,
        one_of(Wallet.customer_id, customer_ids),
        Wallet.status == "active",
    )
    return prefetch_flags(ctx, (WALLETS_FLAG, REFRESH_FLAG), customer_ids, having)


_PAYING_WALLETS = select(Wallet.id).where(
    *_paying_where(bindparam("org"), bindparam("customer"), bindparam("currency"))
)


class WalletsSource:
    """The ``wallets`` adjustment source (wired in ``billow.runtime.build_hooks``)."""

    name = "wallets"

    def presence(self, ctx: Ctx, request: AdjustmentRequest) -> ColumnElement[bool] | bool:
        if not request.finalizing or request.kind not in PAID_BY_WALLETS:
            return False
        invoice = request.invoice
        if known_absent(ctx, WALLETS_FLAG, invoice.customer_id):
            return False
        paying = _paying_where(ctx.org_id, invoice.customer_id, invoice.currency)
        return select(Wallet.id).where(*paying).exists()

    def collect(self, ctx: Ctx, request: AdjustmentRequest) -> Mapping[str, Any]:
        invoice = request.invoice
        if not request.finalizing or request.kind not in PAID_BY_WALLETS:
            return {}
        params = {"org": ctx.org_id, "customer": invoice.customer_id, "currency": invoice.currency}
        ids = list(ctx.session.scalars(_PAYING_WALLETS, params))
        if not ids:
            return {}
        ledger.lock_wallets(ctx, ids)
        wallets = ctx.session.scalars(
            select(Wallet).where(Wallet.id.in_(ids)).execution_options(populate_existing=True)
        ).all()
        targets = metric_targets(ctx, ids)
        return {"wallets": tuple(wallet_view(w, targets[w.id]) for w in wallets)}

    def persist(self, ctx: Ctx, request: AdjustmentRequest, totals: InvoiceTotals) -> None:
        if not totals.wallet_consumptions:
            return
        invoice = request.invoice
        now = ctx.now()
        outbound: list[WalletTransaction] = []
        for consumption in totals.wallet_consumptions:
            wallet = ctx.session.get(Wallet, uuid.UUID(consumption.wallet_id))
            assert wallet is not None
            tx = WalletTransaction(
                id=new_id(),
                organization_id=ctx.org_id,
                wallet_id=wallet.id,
                invoice_id=invoice.id,
                transaction_type="outbound",
                status="settled",
                transaction_status="invoiced",
                source="manual",
                amount=cents_to_amount(consumption.amount_cents, wallet.currency),
                amount_cents=consumption.amount_cents,
                credit_amount=consumption.credit_amount,
                priority=50,
                transaction_metadata=[],
                invoice_requires_successful_payment=False,
                settled_at=now,
                created_at=now,
                updated_at=now,
            )
            ctx.session.add(tx)
            ctx.session.flush()
            ledger.track_consumption(ctx, wallet, tx)
            ledger.decrease(ctx, wallet, tx)
            outbound.append(tx)
        granted, purchased = ledger.consumed_split(ctx, [tx.id for tx in outbound])
        invoice.prepaid_granted_credit_amount_cents = granted or None
        invoice.prepaid_purchased_credit_amount_cents = purchased or None
        ctx.session.flush()
        for tx in outbound:
            emit(ctx, "wallet_transaction.created", tx)
        ledger.request_refresh(ctx, invoice.customer_id, f"invoice:{invoice.id}")
