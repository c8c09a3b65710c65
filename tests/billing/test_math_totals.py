"""Whole invoices in Lago's order (billing.md §4.3, §4.4) and the worked examples of §8."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from billow.billing.math import (
    AppliedCoupon,
    AvailableCreditNote,
    FeeLine,
    InvoiceInput,
    InvoiceTotals,
    ProgressiveBillingFee,
    ProgressiveBillingInvoice,
    TaxRate,
    Wallet,
    compute_invoice,
)
from billow.billing.math.fees import FeeType
from billow.billing.math.totals import InvoiceKind

D = Decimal
T0 = datetime(2024, 1, 1, tzinfo=UTC)
VAT20 = (TaxRate("vat20", D(20)),)


def fee(
    fee_id: str, amount: int, fee_type: FeeType = "charge", taxes: tuple[TaxRate, ...] = VAT20
) -> FeeLine:
    return FeeLine(
        id=fee_id,
        fee_type=fee_type,
        amount_cents=amount,
        taxes=taxes,
        subscription_id="sub",
        plan_id="plan",
        charge_id=f"charge-{fee_id}" if fee_type == "charge" else None,
        billable_metric_id="bm" if fee_type == "charge" else None,
    )


def note(note_id: str, balance: int, day: int = 0) -> AvailableCreditNote:
    return AvailableCreditNote(
        id=note_id, balance_amount_cents=balance, created_at=T0 + timedelta(days=day), currency="EUR"
    )


def invoice(
    fees: tuple[FeeLine, ...],
    *,
    kind: InvoiceKind = "subscription",
    notes: tuple[AvailableCreditNote, ...] = (),
    finalizing: bool = True,
    progressive_billing_invoices: tuple[ProgressiveBillingInvoice, ...] = (),
    applied_coupons: tuple[AppliedCoupon, ...] = (),
    wallets: tuple[Wallet, ...] = (),
) -> InvoiceTotals:
    return compute_invoice(
        InvoiceInput(
            kind=kind,
            currency="EUR",
            fees=fees,
            credit_notes=notes,
            finalizing=finalizing,
            progressive_billing_invoices=progressive_billing_invoices,
            applied_coupons=applied_coupons,
            wallets=wallets,
        )
    )


def assert_identity(totals: InvoiceTotals) -> None:
    assert totals.total_amount_cents == (
        totals.fees_amount_cents
        - totals.progressive_billing_credit_amount_cents
        - totals.coupons_amount_cents
        + totals.taxes_amount_cents
        - totals.credit_notes_amount_cents
        - totals.prepaid_credit_amount_cents
    )
    assert totals.total_amount_cents >= 0


def test_ex1_arrears_termination() -> None:
    totals = invoice((fee("sub", 194, "subscription"),), finalizing=False)
    assert (totals.taxes_amount_cents, totals.total_amount_cents) == (39, 233)


def test_ex8_termination_invoice_consumes_the_credit_note() -> None:
    usage = (fee("usage", 207, taxes=()),)
    totals = invoice(usage, notes=(note("cn", 1700),))
    assert (totals.fees_amount_cents, totals.credit_notes_amount_cents, totals.total_amount_cents) == (
        207,
        207,
        0,
    )
    assert totals.credit_note_consumptions[0].balance_amount_cents == 1493
    assert totals.payment_status == "succeeded"
    assert_identity(totals)
    draft = invoice(usage, notes=(note("cn", 1700),), finalizing=False)
    assert (draft.credit_notes_amount_cents, draft.total_amount_cents) == (0, 207)
    adjusted = invoice((fee("usage", 1500, taxes=()),), notes=(note("cn", 1700),))
    assert (adjusted.credit_notes_amount_cents, adjusted.total_amount_cents) == (1500, 0)
    assert adjusted.credit_note_consumptions[0].balance_amount_cents == 200


def test_ex9_first_invoice_and_termination() -> None:
    first = invoice((fee("sub", 548, "subscription"),), finalizing=False)
    assert first.total_amount_cents == 658
    termination = invoice((fee("usage", 600),), notes=(note("cn", 426),))
    assert (termination.sub_total_including_taxes_amount_cents, termination.total_amount_cents) == (720, 294)


def test_ex10_spending_minimum_termination_invoice() -> None:
    fees = (fee("usage", 800), fee("true_up", 93))
    draft = invoice(fees, finalizing=False)
    assert [f.taxes.taxes_amount_cents for f in draft.fees] == [160, 19]
    assert (draft.fees_amount_cents, draft.taxes_amount_cents, draft.total_amount_cents) == (893, 179, 1072)
    final = invoice(fees, notes=(note("cn", 643),))
    assert final.total_amount_cents == 429
    filters = (fee("usa", 0), fee("europe", 2000), fee("default", 5000), fee("true_up", 1929))
    variant = invoice(filters, notes=(note("cn", 643),))
    assert (variant.fees_amount_cents, variant.taxes_amount_cents, variant.total_amount_cents) == (
        8929,
        1786,
        10072,
    )


def test_ex15_termination_invoices() -> None:
    usage = (fee("usage", 5000),)
    assert invoice(usage, notes=(note("cn", 3000),)).total_amount_cents == 3000  # credit
    assert invoice(usage, notes=(note("cn", 1500),)).total_amount_cents == 4500  # refund 1500 / credit 1500
    assert invoice(usage).total_amount_cents == 6000  # skip
    same_day = invoice(usage, notes=(note("cn", 8572),))
    assert same_day.total_amount_cents == 0
    assert same_day.credit_note_consumptions[0].balance_amount_cents == 2572
    arrears = invoice((fee("sub", 5000, "subscription"), fee("usage", 5000)))
    assert (arrears.taxes_amount_cents, arrears.total_amount_cents) == (2000, 12000)


def test_ex2_same_day_termination_invoice_is_zero() -> None:
    totals = invoice((), notes=(note("cn", 4285),))
    assert (totals.total_amount_cents, totals.payment_status, totals.credit_note_consumptions) == (
        0,
        "succeeded",
        (),
    )


def test_drafts_take_progressive_credit_and_taxes_only() -> None:
    pb = ProgressiveBillingInvoice(
        id="pb",
        subscription_id="sub",
        fees_amount_cents=100,
        fees=(ProgressiveBillingFee("charge-usage", 100),),
    )
    coupon = AppliedCoupon(
        id="c",
        coupon_type="fixed_amount",
        frequency="forever",
        created_at=T0,
        amount_cents=50,
        amount_currency="EUR",
    )
    wallet = Wallet(id="w", balance_cents=10_000, rate_amount=D(1), currency="EUR", created_at=T0)
    fees = (fee("usage", 1000),)
    draft = invoice(
        fees,
        notes=(note("cn", 100),),
        finalizing=False,
        progressive_billing_invoices=(pb,),
        applied_coupons=(coupon,),
        wallets=(wallet,),
    )
    assert draft.progressive_billing_credit_amount_cents == 100
    assert (
        draft.coupons_amount_cents,
        draft.credit_notes_amount_cents,
        draft.prepaid_credit_amount_cents,
    ) == (0, 0, 0)
    assert draft.taxes_amount_cents == 180
    assert draft.total_amount_cents == 1080
    final = invoice(
        fees,
        notes=(note("cn", 100),),
        progressive_billing_invoices=(pb,),
        applied_coupons=(coupon,),
        wallets=(wallet,),
    )
    assert final.coupons_amount_cents == 50
    assert final.sub_total_excluding_taxes_amount_cents == 850
    assert final.taxes_amount_cents == 170
    assert final.credit_notes_amount_cents == 100
    assert final.prepaid_credit_amount_cents == 920
    assert final.total_amount_cents == 0
    assert_identity(final)


def test_one_off_invoice_is_fees_then_taxes() -> None:
    coupon = AppliedCoupon(
        id="c",
        coupon_type="fixed_amount",
        frequency="forever",
        created_at=T0,
        amount_cents=50,
        amount_currency="EUR",
    )
    wallet = Wallet(id="w", balance_cents=10_000, rate_amount=D(1), currency="EUR", created_at=T0)
    totals = invoice(
        (fee("addon", 1000, "add_on"),),
        kind="one_off",
        notes=(note("cn", 100),),
        applied_coupons=(coupon,),
        wallets=(wallet,),
    )
    assert (
        totals.coupons_amount_cents,
        totals.credit_notes_amount_cents,
        totals.prepaid_credit_amount_cents,
    ) == (0, 0, 0)
    assert (totals.taxes_amount_cents, totals.total_amount_cents, totals.payment_status) == (
        200,
        1200,
        "pending",
    )


def test_credit_invoice_is_untaxed() -> None:
    totals = invoice((fee("credit", 1000, "credit"),), kind="credit", notes=(note("cn", 100),))
    assert (totals.taxes_amount_cents, totals.total_amount_cents, totals.applied_taxes) == (0, 1000, ())


def test_in_advance_charge_invoice_has_no_progressive_credit() -> None:
    pb = ProgressiveBillingInvoice(
        id="pb",
        subscription_id="sub",
        fees_amount_cents=100,
        fees=(ProgressiveBillingFee("charge-usage", 100),),
    )
    totals = invoice((fee("usage", 1000),), kind="in_advance_charge", progressive_billing_invoices=(pb,))
    assert (totals.progressive_billing_credit_amount_cents, totals.total_amount_cents) == (0, 1200)


def test_advance_charges_invoice_sums_paid_fee_taxes() -> None:
    totals = invoice(
        (fee("a", 5, taxes=(TaxRate("t", D(10)),)), fee("b", 5, taxes=(TaxRate("t", D(10)),))),
        kind="advance_charges",
    )
    assert (totals.taxes_amount_cents, totals.total_amount_cents, totals.payment_status) == (
        2,
        12,
        "succeeded",
    )
    assert totals.taxes_rate == D(20)


def test_per_fee_taxes_and_invoice_taxes_differ_by_a_cent() -> None:
    totals = invoice((fee("a", 5, taxes=(TaxRate("t", D(10)),)), fee("b", 5, taxes=(TaxRate("t", D(10)),))))
    assert sum(f.taxes.taxes_amount_cents for f in totals.fees) == 2
    assert totals.taxes_amount_cents == 1
    assert [f.total_amount_cents for f in totals.fees] == [6, 6]
    assert totals.total_amount_cents == 11
