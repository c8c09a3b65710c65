"""Top-ups, grants and voids (``POST /wallet_transactions``, a wallet's initial credits, the
recurring rules), and the settlement of purchased credits by their invoice's payment.

* granted credits: inbound ``granted``, settled at once, balance increased;
* paid credits: inbound ``purchased``, ``pending``, billed on a ``credit`` invoice; spendable
  only once that invoice's payment succeeds (``settled``; ``failed`` when the payment fails);
* voided credits: outbound ``voided``, settled at once, balance decreased.

Each created transaction sends ``wallet_transaction.created``; each balance move ``wallet.updated``
(:mod:`billow.wallets.ledger`); settling or failing sends ``wallet_transaction.updated``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from billow.billing.events import InvoiceEvent
from billow.billing.models import Invoice
from billow.core.errors import ErrorCollector, ValidationFailed
from billow.core.ids import new_id, parse_uuid
from billow.db.context import Ctx
from billow.pricing import casting
from billow.pricing.casting import Invalid
from billow.wallets import ledger
from billow.wallets.credit_invoices import bill_paid_credits, finalize_open_credit_invoice
from billow.wallets.credits import Credit, credit_of, floor_credits, rounds_to_zero
from billow.wallets.models import Wallet, WalletTransaction
from billow.wallets.queries import transactions_of_invoice
from billow.wallets.schemas import WalletTransactionInput
from billow.wallets.validation import credits_value, metadata_error, metadata_pairs
from billow.webhooks.emitter import emit

MAX_TOP_UP_METADATA = 15
NAME_MAX = 255


@dataclass(frozen=True)
class TopUp:
    """What to add to (or void from) a wallet in one go; credit amounts already validated."""

    paid_credits: Decimal | None = None
    granted_credits: Decimal | None = None
    voided_credits: Decimal | None = None
    source: str = "manual"
    invoice_requires_successful_payment: bool | None = None
    metadata: list[dict[str, Any]] = field(default_factory=list)
    name: str | None = None
    priority: int = 50
    ignore_paid_top_up_limits: bool = False
    purchase_order_number: str | None = None
    # A re-credit of the prepaid credits a voided invoice consumed (``invoice_void``).
    voided_invoice_id: uuid.UUID | None = None


def paid_limit_error(wallet: Wallet, credits: Decimal, *, ignore: bool) -> str | None:
    """Lago's paid top-up limits: ``amount_below_minimum`` / ``amount_above_maximum``."""
    if credits <= 0:
        return "invalid_amount"
    if ignore:
        return None
    minimum, maximum = wallet.paid_top_up_min_amount_cents, wallet.paid_top_up_max_amount_cents
    if minimum is None and maximum is None:
        return None
    cents = credit_of(floor_credits(credits), wallet.rate_amount, wallet.currency).amount_cents
    if minimum is not None and cents < minimum:
        return "amount_below_minimum"
    if maximum is not None and cents > maximum:
        return "amount_above_maximum"
    return None


def _transaction(
    ctx: Ctx,
    wallet: Wallet,
    credit: Credit,
    topup: TopUp,
    *,
    transaction_type: str,
    transaction_status: str,
    status: str,
) -> WalletTransaction:
    now = ctx.now()
    requires_payment = topup.invoice_requires_successful_payment
    tx = WalletTransaction(
        id=new_id(),
        organization_id=ctx.org_id,
        wallet_id=wallet.id,
        transaction_type=transaction_type,
        status=status,
        transaction_status=transaction_status,
        source=topup.source,
        amount=credit.amount,
        amount_cents=credit.amount_cents,
        credit_amount=credit.credit_amount,
        priority=topup.priority,
        name=topup.name,
        transaction_metadata=list(topup.metadata),
        invoice_requires_successful_payment=(
            wallet.invoice_requires_successful_payment if requires_payment is None else requires_payment
        ),
        purchase_order_number=topup.purchase_order_number,
        settled_at=now if status == "settled" else None,
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(tx)
    ctx.session.flush()
    return tx


def _purchase(ctx: Ctx, wallet: Wallet, credits: Decimal, topup: TopUp) -> WalletTransaction | None:
    if credits == 0:
        return None
    credit = credit_of(credits, wallet.rate_amount, wallet.currency)
    tx = _transaction(
        ctx,
        wallet,
        credit,
        topup,
        transaction_type="inbound",
        transaction_status="purchased",
        status="pending",
    )
    bill_paid_credits(ctx, wallet, tx)
    ctx.session.flush()
    return tx


def _grant(ctx: Ctx, wallet: Wallet, credits: Decimal, topup: TopUp) -> WalletTransaction | None:
    if credits == 0:
        return None
    credit = credit_of(credits, wallet.rate_amount, wallet.currency)
    tx = _transaction(
        ctx, wallet, credit, topup, transaction_type="inbound", transaction_status="granted", status="settled"
    )
    tx.voided_invoice_id = topup.voided_invoice_id
    ledger.open_inbound(ctx, tx)
    ledger.increase(ctx, wallet, tx)
    return tx


def void_credits(
    ctx: Ctx, wallet: Wallet, credits: Decimal, topup: TopUp, *, credit: Credit | None = None
) -> WalletTransaction | None:
    """Take ``credits`` (their money, or exactly ``credit``) out of the locked wallet."""
    if credits == 0:
        return None
    if credit is None:
        credit = credit_of(credits, wallet.rate_amount, wallet.currency, invoiceable=False)
    tx = _transaction(
        ctx, wallet, credit, topup, transaction_type="outbound", transaction_status="voided", status="settled"
    )
    ledger.track_consumption(ctx, wallet, tx)
    ledger.decrease(ctx, wallet, tx, field="voided_credits")
    return tx


def create_transactions(ctx: Ctx, wallet: Wallet, topup: TopUp) -> list[WalletTransaction]:
    """Paid, then granted, then voided credits (each only when positive)."""
    ledger.locked_wallet(ctx, wallet)
    if topup.paid_credits is not None and topup.paid_credits > 0:
        error = paid_limit_error(wallet, topup.paid_credits, ignore=topup.ignore_paid_top_up_limits)
        if error is not None:
            raise ValidationFailed.field("paid_credits", error)
    created: list[WalletTransaction | None] = []
    if topup.paid_credits is not None:
        created.append(_purchase(ctx, wallet, floor_credits(topup.paid_credits), topup))
    if topup.granted_credits is not None:
        created.append(_grant(ctx, wallet, floor_credits(topup.granted_credits), topup))
    if topup.voided_credits is not None:
        created.append(void_credits(ctx, wallet, floor_credits(topup.voided_credits), topup))
    transactions = [tx for tx in created if tx is not None]
    for tx in transactions:
        emit(ctx, "wallet_transaction.created", tx)
        invoice = ctx.session.get(Invoice, tx.invoice_id) if tx.invoice_id else None
        if invoice is not None and invoice.status == "finalized":
            emit(ctx, "invoice.paid_credit_added", InvoiceEvent(invoice, ctx.now()))
    if transactions:
        ledger.request_refresh(ctx, wallet.customer_id, f"tx:{transactions[0].id}")
    return transactions


# --------------------------------------------------------------------------- API input


def _credits_field(errors: ErrorCollector, name: str, raw: Any, wallet: Wallet | None) -> Decimal | None:
    value = credits_value(raw)
    if isinstance(value, Invalid):
        errors.add(name, f"invalid_{name}")
        errors.add(name, "invalid_amount")
        return None
    counted = value is not None and wallet is not None and name != "voided_credits"
    if counted and wallet is not None and rounds_to_zero(value, wallet.rate_amount, wallet.currency):
        errors.add(name, "amount_rounds_to_zero")
    return value


def _wallet_of(ctx: Ctx, errors: ErrorCollector, raw: Any) -> Wallet | None:
    parsed = parse_uuid(str(raw)) if isinstance(raw, str) else None
    wallet = (
        ctx.session.scalar(select(Wallet).where(Wallet.id == parsed, Wallet.organization_id == ctx.org_id))
        if parsed is not None
        else None
    )
    if wallet is None:
        errors.add("wallet_id", "wallet_not_found")
    elif wallet.status == "terminated":
        errors.add("wallet_id", "wallet_is_terminated")
        return None
    return wallet


def parse_top_up(ctx: Ctx, data: WalletTransactionInput) -> tuple[Wallet, TopUp]:
    """Lago's ``WalletTransactions::ValidateService`` (every failure at once, 422)."""
    errors = ErrorCollector()
    wallet = _wallet_of(ctx, errors, data.wallet_id)
    paid = _credits_field(errors, "paid_credits", data.paid_credits, wallet)
    granted = _credits_field(errors, "granted_credits", data.granted_credits, wallet)
    voided = _credits_field(errors, "voided_credits", data.voided_credits, wallet)
    if wallet is not None and voided is not None and voided > wallet.credits_balance:
        errors.add("voided_credits", "insufficient_credits")
    metadata = [] if data.metadata == {} else data.metadata
    code = metadata_error(metadata, max_keys=MAX_TOP_UP_METADATA)
    if code is not None:
        errors.add("metadata", code)
    name = data.name
    if name is not None and name != "":
        if not isinstance(name, str):
            errors.add("name", "invalid_value")
        elif len(name) > NAME_MAX:
            errors.add("name", "too_long")
    priority = casting.integer(data.priority) if data.priority is not None else 50
    if not isinstance(priority, int) or not 1 <= priority <= 50:
        errors.add("priority", "value_is_invalid")
    errors.raise_if_any()
    assert wallet is not None and isinstance(priority, int)
    requires = casting.boolean(data.invoice_requires_successful_payment)
    return wallet, TopUp(
        paid_credits=paid,
        granted_credits=granted,
        voided_credits=voided,
        invoice_requires_successful_payment=requires,
        metadata=metadata_pairs(metadata),
        name=name if isinstance(name, str) and name else None,
        priority=priority,
        ignore_paid_top_up_limits=bool(casting.boolean(data.ignore_paid_top_up_limits)),
        purchase_order_number=casting.text(data.purchase_order_number),
    )


# --------------------------------------------------------------------------- settlement


def settle_purchase(ctx: Ctx, tx: WalletTransaction) -> None:
    """The credit invoice was paid: the credits become spendable."""
    if tx.status == "settled":
        return
    wallet = ctx.session.get(Wallet, tx.wallet_id)
    assert wallet is not None
    ledger.locked_wallet(ctx, wallet)
    now = ctx.now()
    tx.status, tx.settled_at, tx.updated_at = "settled", now, now
    ledger.open_inbound(ctx, tx)
    ledger.increase(ctx, wallet, tx)
    emit(ctx, "wallet_transaction.updated", tx)
    ledger.request_refresh(ctx, wallet.customer_id, f"settle:{tx.id}")


def fail_purchase(ctx: Ctx, tx: WalletTransaction) -> None:
    """The credit invoice's payment failed (a settled top-up stays settled: void it instead)."""
    if tx.status != "pending":
        return
    now = ctx.now()
    tx.status, tx.failed_at, tx.updated_at = "failed", now, now
    ctx.session.flush()
    emit(ctx, "wallet_transaction.updated", tx)


def on_payment_status_change(ctx: Ctx, invoice: Invoice, previous: str) -> None:
    """``PaymentStatusHooks`` callback: a credit invoice's payment decides its top-up."""
    if invoice.invoice_type != "credit" or invoice.payment_status == previous:
        return
    for tx in transactions_of_invoice(ctx, invoice.id, "purchased"):
        if invoice.payment_status == "succeeded":
            settle_purchase(ctx, tx)
        elif invoice.payment_status == "failed":
            fail_purchase(ctx, tx)
    if invoice.payment_status == "succeeded":
        finalize_open_credit_invoice(ctx, invoice)
