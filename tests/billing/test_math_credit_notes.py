"""Credit notes (billing.md §6.4): amounts, estimate, caps, validation, termination notes and
their consumption by later invoices."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from billow.billing.math import (
    AvailableCreditNote,
    CreditableInvoice,
    CreditNoteItem,
    FeeAfterTax,
    FeeLine,
    TaxRate,
    TerminationCreditInput,
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
    termination_credit_note,
    validate_credit_note,
)
from billow.billing.math.termination import OnTermination, unused_days, used_days

D = Decimal
T20 = (TaxRate("vat20", D(20)),)
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def sub_fee(amount: int, taxes: tuple[TaxRate, ...] = T20, coupons: str = "0") -> FeeLine:
    return FeeLine(
        id="fee",
        fee_type="subscription",
        amount_cents=amount,
        taxes=taxes,
        precise_coupons_amount_cents=D(coupons),
    )


def termination(
    plan: int,
    duration: int,
    start: date,
    end: date,
    terminated: date,
    fee_amount: int,
    *,
    taxes: tuple[TaxRate, ...] = T20,
    upgrade: bool = False,
    trial_end: date | None = None,
    on_termination: OnTermination = "credit",
    invoice_total_incl: int = 0,
    paid: int = 0,
    fee_taxes_precise: str = "0",
    credited: int = 0,
) -> tuple[int, int, int, int, int, int]:
    note = termination_credit_note(
        TerminationCreditInput(
            fee=sub_fee(fee_amount, taxes),
            plan_amount_cents=plan,
            period_duration_days=duration,
            period_start_date=start,
            period_end_date=end,
            termination_date=terminated,
            upgrade=upgrade,
            trial_end_date=trial_end,
            on_termination=on_termination,
            invoice_sub_total_including_taxes_amount_cents=invoice_total_incl,
            invoice_total_paid_amount_cents=paid,
            fee_taxes_precise_amount_cents=D(fee_taxes_precise),
            credited_amount_cents=credited,
        )
    )
    assert note is not None
    a = note.amounts
    return (
        a.sub_total_excluding_taxes_amount_cents,
        a.taxes_amount_cents,
        a.total_amount_cents,
        a.credit_amount_cents,
        a.refund_amount_cents,
        a.offset_amount_cents,
    )


# --- §6.4.3 automatic termination / upgrade notes -----------------------------------------------


def test_ex2_same_day_termination_forced_to_subtotal_plus_taxes() -> None:
    # 20 unused days of 28 at 5000: 3571.43 + 714.29 = 4285.71 → 4286, nudged to 3571 + 714
    assert termination(5000, 28, date(2023, 2, 8), date(2023, 2, 28), date(2023, 2, 8), 3750) == (
        3571,
        714,
        4285,
        4285,
        0,
        0,
    )


def test_ex2_anniversary_variant() -> None:
    assert termination(5000, 28, date(2023, 2, 8), date(2023, 3, 7), date(2023, 2, 8), 5000) == (
        4821,
        964,
        5785,
        5785,
        0,
        0,
    )


def test_ex2_los_angeles_variant_credits_21_days() -> None:
    assert termination(5000, 28, date(2023, 2, 7), date(2023, 2, 28), date(2023, 2, 7), 3929)[2] == 4500


def test_ex9_draft_termination_note() -> None:
    assert termination(1000, 31, date(2022, 12, 15), date(2022, 12, 31), date(2022, 12, 20), 548)[:3] == (
        355,
        71,
        426,
    )


def test_ex10_note_on_the_february_invoice() -> None:
    assert termination(5000, 28, date(2023, 2, 1), date(2023, 2, 28), date(2023, 2, 25), 5000)[:3] == (
        536,
        107,
        643,
    )


def test_ex8_and_ex6_untaxed_notes() -> None:
    feb = (date(2024, 2, 1), date(2024, 2, 29))
    assert termination(2900, 29, *feb, date(2024, 2, 12), 2900, taxes=())[2] == 1700
    # an upgrade credits the upgrade day too: 18 days
    assert termination(2900, 29, *feb, date(2024, 2, 12), 2900, taxes=(), upgrade=True)[2] == 1800


def test_ex4_upgrade_credits_one_day() -> None:
    assert (
        termination(
            1000, 31, date(2023, 8, 29), date(2023, 9, 28), date(2023, 9, 28), 1000, taxes=(), upgrade=True
        )[2]
        == 32
    )


def test_ex20_trial_counts_from_the_trial_end() -> None:
    # plan 3500, trial ends 03-11 (billed 21/31 = 2371); terminated the same day → 2371
    result = termination(
        3500,
        31,
        date(2024, 3, 1),
        date(2024, 3, 31),
        date(2024, 3, 11),
        2371,
        taxes=(),
        trial_end=date(2024, 3, 11),
    )
    assert result[2] == 2371


def test_ex15_credit_refund_offset_and_same_day() -> None:
    args = (10000, 28, date(2025, 2, 8), date(2025, 2, 28), date(2025, 2, 21), 7500)
    assert termination(*args) == (2500, 500, 3000, 3000, 0, 0)
    refund = termination(
        *args, on_termination="refund", invoice_total_incl=9000, paid=7500, fee_taxes_precise="1500"
    )
    assert refund == (2500, 500, 3000, 1500, 1500, 0)
    offset = termination(
        *args, on_termination="offset", invoice_total_incl=9000, paid=7500, fee_taxes_precise="1500"
    )
    assert offset == (2500, 500, 3000, 0, 1500, 1500)
    same_day = (10000, 28, date(2025, 2, 8), date(2025, 2, 28), date(2025, 2, 8), 7500)
    assert termination(*same_day) == (7143, 1429, 8572, 8572, 0, 0)


def test_refund_is_zero_when_the_paid_share_is_used_up() -> None:
    args = (10000, 28, date(2025, 2, 8), date(2025, 2, 28), date(2025, 2, 21), 7500)
    result = termination(
        *args, on_termination="refund", invoice_total_incl=9000, paid=3000, fee_taxes_precise="1500"
    )
    assert result[3:] == (3000, 0, 0)


def test_unused_amount_is_capped_by_the_fee_and_earlier_notes() -> None:
    args = (10000, 28, date(2025, 2, 1), date(2025, 2, 28), date(2025, 2, 1), 500)
    assert termination(*args, taxes=())[2] == 500  # 27 days are worth more than the 500 fee
    assert termination(*args, taxes=(), credited=200)[2] == 300


def test_no_note_when_nothing_is_unused_skip_or_voided() -> None:
    base = TerminationCreditInput(
        fee=sub_fee(1000),
        plan_amount_cents=1000,
        period_duration_days=30,
        period_start_date=date(2024, 4, 1),
        period_end_date=date(2024, 4, 30),
        termination_date=date(2024, 4, 30),
    )
    assert termination_credit_note(base) is None
    from dataclasses import replace

    mid = replace(base, termination_date=date(2024, 4, 10))
    assert termination_credit_note(mid) is not None
    assert termination_credit_note(replace(mid, on_termination="skip")) is None
    assert termination_credit_note(replace(mid, invoice_voided=True)) is None
    assert termination_credit_note(replace(mid, fee=sub_fee(0))) is None
    assert termination_credit_note(replace(mid, credited_amount_cents=1000)) is None
    with pytest.raises(ValueError):
        termination_credit_note(replace(mid, upgrade=True, on_termination="refund"))


def test_day_counts() -> None:
    base = TerminationCreditInput(
        fee=sub_fee(1000),
        plan_amount_cents=1000,
        period_duration_days=30,
        period_start_date=date(2024, 4, 1),
        period_end_date=date(2024, 4, 30),
        termination_date=date(2024, 4, 10),
    )
    from dataclasses import replace

    assert (unused_days(base), used_days(base)) == (20, 10)
    assert unused_days(replace(base, upgrade=True)) == 21
    assert unused_days(replace(base, trial_end_date=date(2024, 4, 15))) == 16
    assert unused_days(replace(base, trial_end_date=date(2024, 5, 15))) == 0
    assert used_days(replace(base, trial_end_date=date(2024, 4, 5))) == 6


# --- §6.4.2 amounts -------------------------------------------------------------------------------


def test_coupon_adjustment_and_taxes_of_items() -> None:
    plan2 = FeeLine(
        id="plan2",
        fee_type="subscription",
        amount_cents=39900,
        taxes=(TaxRate("a", D(10)), TaxRate("b", D(10))),
        precise_coupons_amount_cents=D(25000),
    )
    taxes = credit_note_taxes([CreditNoteItem(plan2, D(26260))])
    assert taxes.coupons_adjustment_amount_cents == 16454
    assert taxes.precise_coupons_adjustment_amount_cents == D("16453.63409")
    assert taxes.sub_total_excluding_taxes_amount_cents == 9806
    assert taxes.precise_taxes_amount_cents == D("1961.27318")
    assert [row.amount_cents for row in taxes.applied_taxes] == [981, 981]
    assert [row.base_amount_cents for row in taxes.applied_taxes] == [9806, 9806]
    assert taxes.taxes_rate == D(20)


def test_taxable_base_rate_scales_the_base() -> None:
    item = CreditNoteItem(sub_fee(1000), D(1000))
    taxes = credit_note_taxes([item], {"vat20": D("0.5")})
    assert taxes.precise_taxes_amount_cents == D(100)
    assert taxes.applied_taxes[0].base_amount_cents == 500


def test_total_is_nudged_onto_credit_then_refund_then_offset() -> None:
    item = [CreditNoteItem(sub_fee(7500), D("7142.85714"))]
    assert precise_total_amount_cents(item) == 8571
    credit = compute_credit_note(item, credit_amount_cents=8571)
    assert (credit.total_amount_cents, credit.credit_amount_cents, credit.balance_amount_cents) == (
        8572,
        8572,
        8572,
    )
    refund = compute_credit_note(item, refund_amount_cents=8571)
    assert (refund.total_amount_cents, refund.refund_amount_cents, refund.credit_amount_cents) == (
        8572,
        8572,
        0,
    )
    offset = compute_credit_note(item, offset_amount_cents=8571)
    assert (offset.total_amount_cents, offset.offset_amount_cents) == (8572, 8572)
    split = compute_credit_note(item, credit_amount_cents=4000, refund_amount_cents=4571)
    assert (split.credit_amount_cents, split.refund_amount_cents, split.total_amount_cents) == (
        4001,
        4571,
        8572,
    )
    down = compute_credit_note([CreditNoteItem(sub_fee(3750), D("3571.42857"))], credit_amount_cents=4286)
    assert down.total_amount_cents == 4285


def test_exhausting_note_absorbs_prior_tax_rounding() -> None:
    item = [CreditNoteItem(sub_fee(1000), D(1000))]
    plain = compute_credit_note(item, credit_amount_cents=1200)
    assert plain.precise_taxes_amount_cents == D(200)
    # earlier notes rounded their taxes up by 0.6 cent in total
    absorbing = compute_credit_note(
        item, credit_amount_cents=1199, exhausts_invoice=True, prior_taxes_rounding_adjustment=D("0.6")
    )
    assert absorbing.precise_taxes_amount_cents == D("199.4")
    assert absorbing.taxes_amount_cents == 199
    assert absorbing.total_amount_cents == 1199


# --- estimate -------------------------------------------------------------------------------------


def ex14_invoice(paid: int = 1200) -> CreditableInvoice:
    plan1 = FeeLine(id="plan1", fee_type="subscription", amount_cents=17900, taxes=(TaxRate("t", D(10)),))
    plan2 = FeeLine(
        id="plan2",
        fee_type="subscription",
        amount_cents=39900,
        taxes=(TaxRate("a", D(10)), TaxRate("b", D(10))),
        precise_coupons_amount_cents=D(25000),
    )
    return CreditableInvoice(
        fees=(plan1, plan2),
        fees_amount_cents=57800,
        total_amount_cents=37570,
        coupons_amount_cents=25000,
        total_paid_amount_cents=paid,
    )


def test_ex14_estimate_on_the_full_fees() -> None:
    invoice = ex14_invoice()
    items = [CreditNoteItem(fee, D(fee.amount_cents)) for fee in invoice.fees]
    estimate = estimate_credit_note(items, refundable_amount_cents=invoice_refundable_amount_cents(invoice))
    assert estimate.sub_total_excluding_taxes_amount_cents == 32800
    assert estimate.taxes_amount_cents == 4770
    assert estimate.coupons_adjustment_amount_cents == 25000
    assert estimate.max_creditable_amount_cents == 37570
    assert estimate.max_refundable_amount_cents == 1200


def test_ex14_estimate_on_part_of_the_plan2_fee() -> None:
    invoice = ex14_invoice()
    estimate = estimate_credit_note(
        [CreditNoteItem(invoice.fees[1], D(26260))],
        refundable_amount_cents=invoice_refundable_amount_cents(invoice),
    )
    assert estimate.coupons_adjustment_amount_cents == 16454
    assert estimate.sub_total_excluding_taxes_amount_cents == 9806
    assert estimate.taxes_amount_cents == 1961
    assert estimate.max_creditable_amount_cents == 11767  # round(11767.64) = 11768, minus the cent
    assert estimate.taxes_rate == D(20)
    assert estimate.max_refundable_amount_cents == 1200
    refund = compute_credit_note([CreditNoteItem(invoice.fees[1], D(26260))], refund_amount_cents=11767)
    assert (refund.sub_total_excluding_taxes_amount_cents, refund.taxes_amount_cents) == (9806, 1961)
    assert refund.refund_amount_cents == refund.total_amount_cents == 11767


def test_estimate_lowers_taxes_when_the_total_falls_short() -> None:
    # fee 1000 with 0.5 of coupon, 10 %: sub-total round(999.5) = 1000, taxes round(99.95) = 100,
    # max creditable round(1099.45) = 1099 → Lago's estimate lowers the taxes to 99
    fee = FeeLine(
        id="f",
        fee_type="charge",
        amount_cents=1000,
        taxes=(TaxRate("t", D(10)),),
        precise_coupons_amount_cents=D("0.5"),
    )
    items = [CreditNoteItem(fee, D(1000))]
    estimate = estimate_credit_note(items, refundable_amount_cents=10**6)
    assert estimate.sub_total_excluding_taxes_amount_cents == 1000
    assert (estimate.max_creditable_amount_cents, estimate.taxes_amount_cents) == (1099, 99)
    assert estimate.max_refundable_amount_cents == 1099
    # a created note moves the total up instead
    created = compute_credit_note(items, credit_amount_cents=1099)
    assert (created.total_amount_cents, created.taxes_amount_cents) == (1100, 100)


def test_estimate_lowers_the_total_when_it_exceeds() -> None:
    estimate = estimate_credit_note([CreditNoteItem(sub_fee(3750), D(3571))], refundable_amount_cents=0)
    # 3571 + 714.2 = 4285.2 → 4285: consistent
    assert (estimate.max_creditable_amount_cents, estimate.max_refundable_amount_cents) == (4285, 0)


def test_estimate_on_a_credit_invoice_only_refunds() -> None:
    credit_fee = FeeLine(id="c", fee_type="credit", amount_cents=1000)
    estimate = estimate_credit_note(
        [CreditNoteItem(credit_fee, D(1000))], refundable_amount_cents=600, credit_invoice=True
    )
    assert estimate.max_creditable_amount_cents == 0
    assert estimate.max_refundable_amount_cents == 600


# --- caps and validation -------------------------------------------------------------------------


def test_invoice_caps() -> None:
    invoice = ex14_invoice()
    # Σ creditable 57800 − coupons 25000 + round(Σ (fee − its pro-rata coupon share) × rate)
    assert invoice_creditable_amount_cents(invoice) == D(38344)
    assert invoice_refundable_amount_cents(invoice) == D(1200)
    assert invoice_offsettable_amount_cents(invoice) == D(37570 - 1200)
    assert fee_total_amount_cents(invoice) == 57800 + 1790 + 7980
    from dataclasses import replace

    assert invoice_creditable_amount_cents(replace(invoice, draft=True)) == 0
    assert invoice_refundable_amount_cents(replace(invoice, refunded_amount_cents=1000)) == D(200)
    unpaid_settled = replace(invoice, total_paid_amount_cents=37570)
    assert invoice_refundable_amount_cents(unpaid_settled) == 0
    assert invoice_refundable_amount_cents(replace(unpaid_settled, payment_succeeded=True)) == D(37570)
    partly = replace(invoice, fee_credited_amount_cents={"plan1": 17900})
    assert fee_creditable_amount_cents(partly, invoice.fees[0]) == 0


def test_credit_invoice_caps() -> None:
    fee = FeeLine(id="c", fee_type="credit", amount_cents=1000)
    invoice = CreditableInvoice(
        fees=(fee,),
        fees_amount_cents=1000,
        total_amount_cents=1000,
        total_paid_amount_cents=1000,
        payment_succeeded=True,
        credit_invoice=True,
        wallet_creditable_amount_cents=700,
    )
    assert invoice_creditable_amount_cents(invoice) == 0
    assert invoice_refundable_amount_cents(invoice) == D(700)
    assert fee_creditable_amount_cents(invoice, fee) == 700


def test_validation() -> None:
    invoice = ex14_invoice()
    item = [CreditNoteItem(invoice.fees[1], D(26260))]
    assert validate_credit_note(invoice, item, credit_amount_cents=11767, refund_amount_cents=0) == {}
    assert validate_credit_note(invoice, item, credit_amount_cents=10567, refund_amount_cents=1200) == {}
    assert validate_credit_note(invoice, item, credit_amount_cents=11000, refund_amount_cents=0) == {
        "base": ["does_not_match_item_amounts"]
    }
    errors = validate_credit_note(invoice, item, credit_amount_cents=10000, refund_amount_cents=1767)
    assert errors == {"refund_amount_cents": ["higher_than_remaining_invoice_amount"]}
    too_big = [CreditNoteItem(invoice.fees[1], D(40000))]
    assert "amount_cents" in validate_credit_note(
        invoice, too_big, credit_amount_cents=1, refund_amount_cents=0
    )
    assert validate_credit_note(invoice, [], credit_amount_cents=0, refund_amount_cents=0)["base"] == [
        "total_amount_must_be_positive"
    ]


# --- consumption by a later invoice (§4.3 step 7) -------------------------------------------------


def test_notes_are_consumed_oldest_first_and_stop_at_zero() -> None:
    notes = [
        AvailableCreditNote(
            id="new", balance_amount_cents=500, created_at=T0 + timedelta(days=2), currency="EUR"
        ),
        AvailableCreditNote(id="old", balance_amount_cents=300, created_at=T0, currency="EUR"),
        AvailableCreditNote(id="usd", balance_amount_cents=900, created_at=T0, currency="USD"),
        AvailableCreditNote(
            id="own", balance_amount_cents=900, created_at=T0, currency="EUR", invoice_id="inv"
        ),
        AvailableCreditNote(
            id="later", balance_amount_cents=900, created_at=T0 + timedelta(days=9), currency="EUR"
        ),
    ]
    result = apply_credit_notes(notes, total_amount_cents=600, currency="EUR", invoice_id="inv")
    assert [(c.credit_note_id, c.amount_cents, c.balance_amount_cents) for c in result.consumptions] == [
        ("old", 300, 0),
        ("new", 300, 200),
    ]
    assert result.consumptions[0].consumed and not result.consumptions[1].consumed
    assert result.credit_notes_amount_cents == 600


def test_credit_notes_are_spread_on_fees_after_tax() -> None:
    notes = [AvailableCreditNote(id="n", balance_amount_cents=100, created_at=T0, currency="EUR")]
    fees = [FeeAfterTax("a", D(120)), FeeAfterTax("b", D(240))]
    result = apply_credit_notes(notes, total_amount_cents=360, currency="EUR", fees=fees)
    assert dict(result.fee_precise_credit_notes_amount_cents) == {"a": D("33.33333"), "b": D("66.66667")}
