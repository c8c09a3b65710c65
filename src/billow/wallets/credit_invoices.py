"""The ``credit`` invoice of a paid top-up (billing.md §4.1, §6.5), built with billing's
models, fee writer and numbering.

One untaxed ``credit`` fee worth the transaction's money (units = credits, unit amount = the
wallet's rate). The invoice is finalized at once (number, ``invoice.paid_credit_added``), or
left ``open`` — no number, not visible — when the top-up requires a successful payment; it is
finalized when that payment succeeds (issuing and due dates: that day).
"""

from __future__ import annotations

from decimal import Decimal

from billow.billing.assembly import write_fees
from billow.billing.drafts import new_generating_invoice
from billow.billing.events import InvoiceEvent
from billow.billing.fees.drafts import FeeDraft
from billow.billing.finalization import number_and_finalize
from billow.billing.models import Invoice
from billow.billing.parties import customer_by_id, invoice_parties, parties_for
from billow.core.currencies import currency_exponent
from billow.db.context import Ctx
from billow.subscriptions.periods import local_date
from billow.wallets.models import Wallet, WalletTransaction
from billow.webhooks.emitter import emit


def bill_paid_credits(ctx: Ctx, wallet: Wallet, tx: WalletTransaction) -> Invoice:
    """Create (and finalize, or leave ``open``) the credit invoice of a purchased top-up. The
    caller sends ``invoice.paid_credit_added`` for a finalized one (after the transaction's
    ``wallet_transaction.created``)."""
    customer = customer_by_id(ctx, wallet.customer_id)
    if customer is None:
        raise LookupError(f"customer {wallet.customer_id} not found")
    parties = parties_for(ctx, customer, wallet.billing_entity_id)
    now = ctx.now()
    today = local_date(now, parties.timezone)
    invoice = new_generating_invoice(
        ctx,
        parties,
        invoice_type="credit",
        currency=wallet.currency,
        issuing_date=today,
        expected_finalization_date=today,
        now=now,
    )
    ctx.session.add(invoice)
    ctx.session.flush()
    tx.invoice_id = invoice.id
    unit_cents = wallet.rate_amount.scaleb(currency_exponent(wallet.currency))
    fee = FeeDraft(
        fee_type="credit",
        amount_currency=wallet.currency,
        amount_cents=tx.amount_cents,
        precise_amount_cents=Decimal(tx.amount_cents),
        properties={"wallet_transaction_id": str(tx.id)},
        units=tx.credit_amount,
        unit_amount_cents=int(unit_cents),
        precise_unit_amount=wallet.rate_amount,
        invoice_display_name=tx.name,
    )
    write_fees(ctx, invoice, [fee], finalizing=True, kind="credit")
    if tx.invoice_requires_successful_payment:
        invoice.status = "open"
        invoice.updated_at = now
        ctx.session.flush()
    else:
        number_and_finalize(ctx, invoice, parties, now=ctx.now())
    return invoice


def finalize_open_credit_invoice(ctx: Ctx, invoice: Invoice) -> None:
    """A payment-gated credit invoice was paid: it is issued today."""
    if invoice.status != "open":
        return
    parties = invoice_parties(ctx, invoice)
    today = local_date(ctx.now(), parties.timezone)
    invoice.issuing_date = today
    invoice.payment_due_date = today
    number_and_finalize(ctx, invoice, parties, now=ctx.now())
    emit(ctx, "invoice.paid_credit_added", InvoiceEvent(invoice, ctx.now()))
