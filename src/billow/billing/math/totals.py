"""An invoice's amounts in Lago's order (billing.md §4.3, §4.4).

Subscription invoice: fees → progressive-billing credit (§5.3) → coupons (§6.1) → taxes per fee
then invoice (§6.3) → credit notes (post-tax, oldest first) → prepaid credits (§6.5) →
``payment_status``. Identity, with every term ≥ 0:

    total = fees − progressive_billing_credit − coupons + taxes − credit_notes − prepaid_credit

Drafts (``finalizing=False``) take the progressive-billing credit and taxes but no coupons, no
credit notes and no wallets. Other kinds:

* ``in_advance_charge``: fees → coupons → taxes → credit notes → wallets;
* ``progressive_billing``: fees → progressive credit → coupons → taxes → credit notes → wallets;
* ``one_off``: fees → taxes;
* ``credit`` (wallet top-up): one untaxed ``credit`` fee, total = fees;
* ``advance_charges``: already-paid fees regrouped; their taxes are summed, not recomputed, and
  the invoice is paid.

``payment_status`` is ``succeeded`` when the total is 0, else ``pending``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from billow.billing.math.coupons import AppliedCoupon, CouponCredit, CouponOutcome, apply_coupons
from billow.billing.math.credit_notes import (
    AvailableCreditNote,
    CreditNoteConsumption,
    FeeAfterTax,
    apply_credit_notes,
)
from billow.billing.math.fees import FeeLine, exact
from billow.billing.math.progressive import (
    ProgressiveBillingCredit,
    ProgressiveBillingInvoice,
    apply_progressive_billing_credits,
)
from billow.billing.math.taxes import (
    FeeTaxes,
    InvoiceAppliedTax,
    InvoiceTaxes,
    aggregate_paid_fee_taxes,
    compute_fee_taxes,
    compute_invoice_taxes,
)
from billow.billing.math.wallets import Wallet, WalletConsumption, WalletFee, apply_wallets
from billow.core.money import ZERO

InvoiceKind = Literal[
    "subscription", "in_advance_charge", "progressive_billing", "one_off", "credit", "advance_charges"
]
PaymentStatus = Literal["pending", "succeeded"]


@dataclass(frozen=True, slots=True)
class _Steps:
    progressive_credit: bool
    coupons: bool
    credit_notes: bool
    wallets: bool


_STEPS: Mapping[str, _Steps] = {
    "subscription": _Steps(progressive_credit=True, coupons=True, credit_notes=True, wallets=True),
    "in_advance_charge": _Steps(progressive_credit=False, coupons=True, credit_notes=True, wallets=True),
    "progressive_billing": _Steps(progressive_credit=True, coupons=True, credit_notes=True, wallets=True),
    "one_off": _Steps(progressive_credit=False, coupons=False, credit_notes=False, wallets=False),
    "credit": _Steps(progressive_credit=False, coupons=False, credit_notes=False, wallets=False),
    "advance_charges": _Steps(progressive_credit=False, coupons=False, credit_notes=False, wallets=False),
}


@dataclass(frozen=True, slots=True)
class InvoiceInput:
    """Everything the amounts of one invoice depend on.

    ``progressive_billing_invoices`` holds, per subscription of the invoice, the latest
    progressive-billing invoice to credit (§5.3); ``credit_notes`` the customer's available
    finalized notes; ``wallets`` the customer's wallets. ``fee_target_wallet_codes`` maps a fee
    id to the wallet code its events target, when the organization routes usage to wallets.
    """

    kind: InvoiceKind
    currency: str
    fees: tuple[FeeLine, ...]
    finalizing: bool = True
    invoice_id: str | None = None
    progressive_billing_invoices: tuple[ProgressiveBillingInvoice, ...] = ()
    applied_coupons: tuple[AppliedCoupon, ...] = ()
    credit_notes: tuple[AvailableCreditNote, ...] = ()
    wallets: tuple[Wallet, ...] = ()
    fee_target_wallet_codes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ComputedFee:
    """A fee with everything the invoice took off it and the taxes it bears."""

    fee: FeeLine
    progressive_billing_credit_share: Decimal
    coupon_share: Decimal
    taxes: FeeTaxes
    precise_credit_notes_amount_cents: Decimal

    @property
    def total_amount_cents(self) -> int:
        """``amount_cents + taxes_amount_cents`` (fee API object)."""
        return self.fee.amount_cents + self.taxes.taxes_amount_cents


@dataclass(frozen=True, slots=True)
class InvoiceTotals:
    """The invoice amount fields of §4.4 and the records behind them."""

    fees_amount_cents: int
    progressive_billing_credit_amount_cents: int
    coupons_amount_cents: int
    sub_total_excluding_taxes_amount_cents: int
    taxes_amount_cents: int
    taxes_rate: Decimal
    sub_total_including_taxes_amount_cents: int
    credit_notes_amount_cents: int
    prepaid_credit_amount_cents: int
    total_amount_cents: int
    payment_status: PaymentStatus
    fees: tuple[ComputedFee, ...]
    applied_taxes: tuple[InvoiceAppliedTax, ...]
    progressive_billing_credits: tuple[ProgressiveBillingCredit, ...] = ()
    coupon_credits: tuple[CouponCredit, ...] = ()
    coupon_outcomes: tuple[CouponOutcome, ...] = ()
    credit_note_consumptions: tuple[CreditNoteConsumption, ...] = ()
    wallet_consumptions: tuple[WalletConsumption, ...] = ()


@exact
def compute_invoice(inp: InvoiceInput) -> InvoiceTotals:
    """Compute an invoice's amounts (§4.3) from its fees and the customer's credits."""
    steps = _STEPS[inp.kind]
    fees = list(inp.fees)
    fees_amount = sum(fee.amount_cents for fee in fees)
    sub_total = fees_amount

    pb_credits: tuple[ProgressiveBillingCredit, ...] = ()
    pb_shares: Mapping[str, Decimal] = {}
    pb_amount = 0
    if steps.progressive_credit and inp.progressive_billing_invoices:
        pb = apply_progressive_billing_credits(fees, inp.progressive_billing_invoices)
        fees, pb_credits, pb_shares = list(pb.fees), pb.credits, pb.fee_shares
        pb_amount = pb.progressive_billing_credit_amount_cents
        sub_total -= pb_amount

    coupon_credits: tuple[CouponCredit, ...] = ()
    coupon_outcomes: tuple[CouponOutcome, ...] = ()
    coupon_shares: Mapping[str, Decimal] = {}
    coupons_amount = 0
    if steps.coupons and inp.finalizing and inp.applied_coupons and fees_amount > 0:
        applied = apply_coupons(
            fees, inp.applied_coupons, currency=inp.currency, sub_total_excluding_taxes_amount_cents=sub_total
        )
        fees, coupon_credits, coupon_outcomes = list(applied.fees), applied.credits, applied.outcomes
        coupon_shares = applied.fee_coupon_shares
        coupons_amount = applied.coupons_amount_cents
        sub_total = applied.sub_total_excluding_taxes_amount_cents

    fee_taxes = [compute_fee_taxes(fee) for fee in fees]
    invoice_taxes: InvoiceTaxes
    if inp.kind == "credit":
        invoice_taxes = InvoiceTaxes(0, ZERO, ZERO, ())
    elif inp.kind == "advance_charges":
        invoice_taxes = aggregate_paid_fee_taxes(fees_amount, fee_taxes)
    else:
        invoice_taxes = compute_invoice_taxes(fees, sub_total)
    sub_total_including = sub_total + invoice_taxes.taxes_amount_cents
    total = sub_total_including

    cn_consumptions: tuple[CreditNoteConsumption, ...] = ()
    cn_spread: Mapping[str, Decimal] = {}
    cn_amount = 0
    if steps.credit_notes and inp.finalizing and inp.credit_notes:
        after_tax = [
            FeeAfterTax(
                fee_id=fee.id,
                amount_after_tax_cents=fee.sub_total_excluding_taxes_amount_cents
                + Decimal(ft.taxes_amount_cents),
            )
            for fee, ft in zip(fees, fee_taxes, strict=True)
        ]
        notes = apply_credit_notes(
            inp.credit_notes,
            total_amount_cents=total,
            currency=inp.currency,
            fees=after_tax,
            invoice_id=inp.invoice_id,
        )
        cn_consumptions, cn_spread = notes.consumptions, notes.fee_precise_credit_notes_amount_cents
        cn_amount = notes.credit_notes_amount_cents
        total -= cn_amount

    wallet_consumptions: tuple[WalletConsumption, ...] = ()
    prepaid = 0
    if steps.wallets and inp.finalizing and total > 0 and inp.wallets:
        wallet_fees = [
            WalletFee(
                fee_type=fee.fee_type,
                sub_total_excluding_taxes_amount_cents=fee.sub_total_excluding_taxes_amount_cents,
                taxes_precise_amount_cents=ft.taxes_precise_amount_cents,
                precise_credit_notes_amount_cents=cn_spread.get(fee.id, ZERO),
                billable_metric_id=fee.billable_metric_id,
                target_wallet_code=inp.fee_target_wallet_codes.get(fee.id),
            )
            for fee, ft in zip(fees, fee_taxes, strict=True)
        ]
        wallets = apply_wallets(inp.wallets, wallet_fees, total_amount_cents=total, currency=inp.currency)
        wallet_consumptions = wallets.consumptions
        prepaid = wallets.prepaid_credit_amount_cents
        total -= prepaid

    computed = tuple(
        ComputedFee(
            fee=fee,
            progressive_billing_credit_share=pb_shares.get(fee.id, ZERO),
            coupon_share=coupon_shares.get(fee.id, ZERO),
            taxes=ft,
            precise_credit_notes_amount_cents=cn_spread.get(fee.id, ZERO),
        )
        for fee, ft in zip(fees, fee_taxes, strict=True)
    )
    return InvoiceTotals(
        fees_amount_cents=fees_amount,
        progressive_billing_credit_amount_cents=pb_amount,
        coupons_amount_cents=coupons_amount,
        sub_total_excluding_taxes_amount_cents=sub_total,
        taxes_amount_cents=invoice_taxes.taxes_amount_cents,
        taxes_rate=invoice_taxes.taxes_rate,
        sub_total_including_taxes_amount_cents=sub_total_including,
        credit_notes_amount_cents=cn_amount,
        prepaid_credit_amount_cents=prepaid,
        total_amount_cents=total,
        payment_status="succeeded" if inp.kind == "advance_charges" or total == 0 else "pending",
        fees=computed,
        applied_taxes=invoice_taxes.applied_taxes,
        progressive_billing_credits=pb_credits,
        coupon_credits=coupon_credits,
        coupon_outcomes=coupon_outcomes,
        credit_note_consumptions=cn_consumptions,
        wallet_consumptions=wallet_consumptions,
    )
