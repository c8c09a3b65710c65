"""What the wallets package does when billing voids an invoice (``InvoiceVoidHooks.on_voided``,
wired by ``billow.runtime.build_hooks``; billing.md §4.9, Lago's ``WalletTransactions::RecreditService``).

Unless the void generates credit notes, every prepaid credit the invoice consumed (its outbound
``invoiced`` transactions) comes back to its wallet, if the wallet is still active, as a settled
inbound ``granted`` transaction of the same credits, and the wallet's consumed credits are reset
by as much. ``wallet_transaction.created`` and ``wallet.updated`` are sent as for any grant.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from billow.billing.models import Invoice
from billow.db.context import Ctx
from billow.wallets.models import Wallet, WalletTransaction
from billow.wallets.transactions import TopUp, create_transactions


def recredit_voided_invoice(ctx: Ctx, invoice: Invoice, generated_credit_notes: bool) -> None:
    if generated_credit_notes:
        return
    consumed = list(
        ctx.session.scalars(
            select(WalletTransaction)
            .where(
                WalletTransaction.organization_id == ctx.org_id,
                WalletTransaction.invoice_id == invoice.id,
                WalletTransaction.transaction_type == "outbound",
                WalletTransaction.transaction_status == "invoiced",
            )
            .order_by(WalletTransaction.created_at, WalletTransaction.id)
        )
    )
    for outbound in consumed:
        wallet = ctx.session.get(Wallet, outbound.wallet_id)
        if wallet is None or wallet.organization_id != ctx.org_id or wallet.status != "active":
            continue
        create_transactions(
            ctx, wallet, TopUp(granted_credits=outbound.credit_amount, voided_invoice_id=invoice.id)
        )
        ctx.session.refresh(wallet)
        wallet.consumed_credits = max(wallet.consumed_credits - outbound.credit_amount, Decimal(0))
        wallet.consumed_amount_cents = max(wallet.consumed_amount_cents - outbound.amount_cents, 0)
        wallet.updated_at = ctx.now()
        ctx.session.flush()
