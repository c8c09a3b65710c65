"""Pure invoice math (billing.md §4.3–§6.5): plain frozen dataclasses in and out, exact
``Decimal`` cents, Lago's half-up rounding points. No database, no web code.

Modules:

* :mod:`.fees` — the fee line, tax rate and storage rounding shared by the others;
* :mod:`.taxes` — tax resolution precedence, fee and invoice taxes;
* :mod:`.progressive` — usage-threshold crossing and the progressive-billing credit;
* :mod:`.coupons` — coupons applied to an invoice and their lifecycle;
* :mod:`.credit_notes` — credit-note amounts, estimate, caps, validation, consumption;
* :mod:`.termination` — the automatic credit note of a terminated pay-in-advance subscription;
* :mod:`.wallets` — prepaid credits paying an invoice, ongoing balance;
* :mod:`.commitments` — minimum commitment and spending-minimum true-ups;
* :mod:`.totals` — the whole invoice in Lago's order.
"""

from __future__ import annotations

from billow.billing.math.commitments import (
    BilledFee,
    CommitmentTrueUp,
    SpendingMinimumTrueUp,
    minimum_commitment_true_up,
    prorated_commitment_amount_cents,
    spending_minimum_true_up,
)
from billow.billing.math.coupons import (
    AppliedCoupon,
    CouponCredit,
    CouponOutcome,
    CouponsResult,
    apply_coupons,
    coupon_amount,
    order_applied_coupons,
)
from billow.billing.math.credit_notes import (
    AvailableCreditNote,
    CreditableInvoice,
    CreditNoteAmounts,
    CreditNoteAppliedTax,
    CreditNoteConsumption,
    CreditNoteEstimate,
    CreditNoteItem,
    CreditNotesApplication,
    CreditNoteTaxes,
    FeeAfterTax,
    apply_credit_notes,
    compute_credit_note,
    credit_note_taxes,
    estimate_credit_note,
    fee_creditable_amount_cents,
    fee_total_amount_cents,
    invoice_creditable_amount_cents,
    invoice_offsettable_amount_cents,
    invoice_refundable_amount_cents,
    precise_total_amount_cents,
    validate_credit_note,
)
from billow.billing.math.fees import FeeLine, FeeType, GroupedBy, TaxRate, grouping
from billow.billing.math.progressive import (
    LifetimeUsage,
    ProgressiveBillingCredit,
    ProgressiveBillingCredits,
    ProgressiveBillingFee,
    ProgressiveBillingInvoice,
    UsageThreshold,
    apply_progressive_billing_credits,
    passed_usage_thresholds,
    to_credit_amount_cents,
)
from billow.billing.math.taxes import (
    FeeAppliedTax,
    FeeTaxes,
    InvoiceAppliedTax,
    InvoiceTaxes,
    TaxSources,
    aggregate_paid_fee_taxes,
    compute_fee_taxes,
    compute_invoice_taxes,
    resolve_fee_taxes,
)
from billow.billing.math.termination import (
    TerminationCreditInput,
    TerminationCreditNote,
    termination_credit_note,
)
from billow.billing.math.totals import ComputedFee, InvoiceInput, InvoiceKind, InvoiceTotals, compute_invoice
from billow.billing.math.wallets import (
    FeeBucket,
    OngoingBalance,
    Wallet,
    WalletConsumption,
    WalletFee,
    WalletsApplication,
    apply_wallets,
    credits_for_amount,
    fee_buckets,
    ongoing_balance,
)

__all__ = [
    "AppliedCoupon",
    "AvailableCreditNote",
    "BilledFee",
    "CommitmentTrueUp",
    "ComputedFee",
    "CouponCredit",
    "CouponOutcome",
    "CouponsResult",
    "CreditNoteAmounts",
    "CreditNoteAppliedTax",
    "CreditNoteConsumption",
    "CreditNoteEstimate",
    "CreditNoteItem",
    "CreditNoteTaxes",
    "CreditNotesApplication",
    "CreditableInvoice",
    "FeeAfterTax",
    "FeeAppliedTax",
    "FeeBucket",
    "FeeLine",
    "FeeTaxes",
    "FeeType",
    "GroupedBy",
    "InvoiceAppliedTax",
    "InvoiceInput",
    "InvoiceKind",
    "InvoiceTaxes",
    "InvoiceTotals",
    "LifetimeUsage",
    "OngoingBalance",
    "ProgressiveBillingCredit",
    "ProgressiveBillingCredits",
    "ProgressiveBillingFee",
    "ProgressiveBillingInvoice",
    "SpendingMinimumTrueUp",
    "TaxRate",
    "TaxSources",
    "TerminationCreditInput",
    "TerminationCreditNote",
    "UsageThreshold",
    "Wallet",
    "WalletConsumption",
    "WalletFee",
    "WalletsApplication",
    "aggregate_paid_fee_taxes",
    "apply_coupons",
    "apply_credit_notes",
    "apply_progressive_billing_credits",
    "apply_wallets",
    "compute_credit_note",
    "compute_fee_taxes",
    "compute_invoice",
    "compute_invoice_taxes",
    "coupon_amount",
    "credit_note_taxes",
    "credits_for_amount",
    "estimate_credit_note",
    "fee_buckets",
    "fee_creditable_amount_cents",
    "fee_total_amount_cents",
    "grouping",
    "invoice_creditable_amount_cents",
    "invoice_offsettable_amount_cents",
    "invoice_refundable_amount_cents",
    "minimum_commitment_true_up",
    "ongoing_balance",
    "order_applied_coupons",
    "passed_usage_thresholds",
    "precise_total_amount_cents",
    "prorated_commitment_amount_cents",
    "resolve_fee_taxes",
    "spending_minimum_true_up",
    "termination_credit_note",
    "to_credit_amount_cents",
    "validate_credit_note",
]
