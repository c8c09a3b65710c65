"""Property-based checks of the invoice math over random fees, coupons, taxes, progressive
credits, credit notes and wallets (exact ``Decimal`` arithmetic throughout).

"Σ per-fee coupon shares == coupons_amount_cents" is checked as Lago reports it: the shares are
5-dp decimals (``precise_coupons_amount_cents`` minus the progressive-billing part), the credit
is whole cents, so ``round_half_up(Σ shares) == coupons_amount_cents`` and the two never differ
by more than 0.00001 per (fee, coupon) pair.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billow.billing.math import (
    AppliedCoupon,
    AvailableCreditNote,
    CreditNoteItem,
    FeeLine,
    InvoiceInput,
    ProgressiveBillingFee,
    ProgressiveBillingInvoice,
    TaxRate,
    Wallet,
    WalletFee,
    apply_wallets,
    compute_credit_note,
    compute_invoice,
    precise_total_amount_cents,
)
from billow.billing.math.fees import FeeType
from billow.core.money import round_half_up

D = Decimal
T0 = datetime(2024, 1, 1, tzinfo=UTC)
TAX_POOL = (
    TaxRate("zero", D(0)),
    TaxRate("reduced", D("5.5")),
    TaxRate("vat10", D(10)),
    TaxRate("fr", D("19.6")),
    TaxRate("vat20", D(20)),
    TaxRate("vat24", D(24)),
)
FEE_TYPES: tuple[FeeType, ...] = ("charge", "charge", "subscription", "add_on", "fixed_charge", "commitment")
PLANS = ("p1", "p2")
METRICS = ("bm1", "bm2", "bm3")

taxes = st.lists(st.sampled_from(TAX_POOL), max_size=3, unique=True).map(tuple)


@st.composite
def fee_lines(draw: st.DrawFn) -> tuple[FeeLine, ...]:
    count = draw(st.integers(min_value=1, max_value=6))
    fees = []
    for index in range(count):
        fee_type = draw(st.sampled_from(FEE_TYPES))
        amount = draw(st.one_of(st.integers(0, 20), st.integers(0, 200_000)))
        fraction = draw(st.integers(-4999, 4999))
        precise = max(D(amount) + D(fraction) / 10_000, D(0))
        plan = draw(st.sampled_from(PLANS))
        fees.append(
            FeeLine(
                id=f"fee{index}",
                fee_type=fee_type,
                amount_cents=amount,
                precise_amount_cents=precise,
                taxes=draw(taxes),
                subscription_id=f"sub-{plan}",
                plan_id=plan,
                charge_id=f"charge{index}" if fee_type == "charge" else None,
                billable_metric_id=draw(st.sampled_from(METRICS)) if fee_type == "charge" else None,
            )
        )
    return tuple(fees)


@st.composite
def applied_coupons(draw: st.DrawFn) -> tuple[AppliedCoupon, ...]:
    coupons = []
    for index in range(draw(st.integers(0, 3))):
        percentage = draw(st.booleans())
        limit = draw(st.sampled_from(["none", "plan", "metric"]))
        frequency = draw(st.sampled_from(["once", "recurring", "forever"]))
        amount = draw(st.integers(1, 60_000))
        coupons.append(
            AppliedCoupon(
                id=f"coupon{index}",
                coupon_type="percentage" if percentage else "fixed_amount",
                frequency=frequency,
                created_at=T0 + timedelta(hours=draw(st.integers(0, 100))),
                amount_cents=amount,
                amount_currency=draw(st.sampled_from(["EUR", "EUR", "EUR", "USD"])),
                percentage_rate=D(draw(st.integers(1, 12_000))) / 100,
                frequency_duration_remaining=draw(st.integers(1, 5)) if frequency == "recurring" else None,
                remaining_amount_cents=draw(st.one_of(st.none(), st.integers(0, amount))),
                limited_plan_ids=frozenset({draw(st.sampled_from(PLANS))})
                if limit == "plan"
                else frozenset(),
                limited_billable_metric_ids=(
                    frozenset(draw(st.lists(st.sampled_from(METRICS), min_size=1, unique=True)))
                    if limit == "metric"
                    else frozenset()
                ),
            )
        )
    return tuple(coupons)


@st.composite
def progressive_invoices(draw: st.DrawFn, fees: tuple[FeeLine, ...]) -> tuple[ProgressiveBillingInvoice, ...]:
    """At most one earlier progressive invoice per subscription, billing part of its charges."""
    invoices = []
    for plan in PLANS:
        charges = [f for f in fees if f.fee_type == "charge" and f.plan_id == plan]
        if not charges or not draw(st.booleans()):
            continue
        pb_fees = tuple(
            ProgressiveBillingFee(
                charge_id=f.charge_id or "", amount_cents=draw(st.integers(0, f.amount_cents))
            )
            for f in charges
        )
        invoices.append(
            ProgressiveBillingInvoice(
                id=f"pb-{plan}",
                subscription_id=f"sub-{plan}",
                fees_amount_cents=sum(p.amount_cents for p in pb_fees),
                fees=pb_fees,
            )
        )
    return tuple(invoices)


credit_notes = st.lists(
    st.builds(
        AvailableCreditNote,
        id=st.uuids().map(str),
        balance_amount_cents=st.integers(0, 50_000),
        created_at=st.integers(0, 1000).map(lambda h: T0 + timedelta(hours=h)),
        currency=st.sampled_from(["EUR", "EUR", "USD"]),
    ),
    max_size=3,
).map(tuple)

wallets = st.lists(
    st.builds(
        Wallet,
        id=st.uuids().map(str),
        balance_cents=st.integers(0, 100_000),
        rate_amount=st.integers(1, 500).map(lambda r: D(r) / 100),
        currency=st.sampled_from(["EUR", "EUR", "USD"]),
        created_at=st.integers(0, 1000).map(lambda h: T0 + timedelta(hours=h)),
        priority=st.integers(1, 50),
        allowed_fee_types=st.frozensets(st.sampled_from(["charge", "subscription", "add_on"]), max_size=2),
        billable_metric_ids=st.frozensets(st.sampled_from(METRICS), max_size=2),
    ),
    max_size=3,
).map(tuple)


@st.composite
def invoice_inputs(draw: st.DrawFn) -> InvoiceInput:
    fees = draw(fee_lines())
    return InvoiceInput(
        kind=draw(
            st.sampled_from(["subscription", "subscription", "progressive_billing", "in_advance_charge"])
        ),
        currency="EUR",
        fees=fees,
        finalizing=draw(st.sampled_from([True, True, True, False])),
        progressive_billing_invoices=draw(progressive_invoices(fees)),
        applied_coupons=draw(applied_coupons()),
        credit_notes=draw(credit_notes),
        wallets=draw(wallets),
    )


@settings(max_examples=200, deadline=None)
@given(invoice_inputs())
def test_identity_and_non_negative_totals(inp: InvoiceInput) -> None:
    t = compute_invoice(inp)
    assert t.total_amount_cents == (
        t.fees_amount_cents
        - t.progressive_billing_credit_amount_cents
        - t.coupons_amount_cents
        + t.taxes_amount_cents
        - t.credit_notes_amount_cents
        - t.prepaid_credit_amount_cents
    )
    assert t.total_amount_cents >= 0
    assert t.sub_total_excluding_taxes_amount_cents >= 0
    assert (
        t.sub_total_including_taxes_amount_cents
        == t.sub_total_excluding_taxes_amount_cents + t.taxes_amount_cents
    )
    for amount in (t.progressive_billing_credit_amount_cents, t.coupons_amount_cents, t.taxes_amount_cents):
        assert amount >= 0
    assert t.payment_status == ("succeeded" if t.total_amount_cents == 0 else "pending")
    for computed in t.fees:
        assert D(0) <= computed.fee.precise_coupons_amount_cents <= computed.fee.amount_cents
    if not inp.finalizing:
        assert (t.coupons_amount_cents, t.credit_notes_amount_cents, t.prepaid_credit_amount_cents) == (
            0,
            0,
            0,
        )


@settings(max_examples=200, deadline=None)
@given(invoice_inputs())
def test_coupon_shares_add_up_to_the_coupons_amount(inp: InvoiceInput) -> None:
    t = compute_invoice(inp)
    shares = sum((f.coupon_share for f in t.fees), D(0))
    assert round_half_up(shares) == t.coupons_amount_cents
    pairs = len(t.fees) * max(len(t.coupon_credits), 1)
    assert abs(shares - t.coupons_amount_cents) <= D("0.00001") * pairs
    assert sum(c.amount_cents for c in t.coupon_credits) == t.coupons_amount_cents
    pb_shares = sum((f.progressive_billing_credit_share for f in t.fees), D(0))
    assert pb_shares == t.progressive_billing_credit_amount_cents


@settings(max_examples=200, deadline=None)
@given(invoice_inputs())
def test_fee_taxes_and_invoice_taxes_differ_by_at_most_one_cent_per_fee(inp: InvoiceInput) -> None:
    t = compute_invoice(inp)
    per_fee = sum(f.taxes.taxes_amount_cents for f in t.fees)
    assert abs(per_fee - t.taxes_amount_cents) <= len(t.fees)
    assert abs(sum(row.amount_cents for row in t.applied_taxes) - t.taxes_amount_cents) <= len(
        t.applied_taxes
    )


@settings(max_examples=200, deadline=None)
@given(invoice_inputs())
def test_credit_notes_and_wallets_never_overdraw(inp: InvoiceInput) -> None:
    t = compute_invoice(inp)
    balances = {n.id: n.balance_amount_cents for n in inp.credit_notes}
    for consumption in t.credit_note_consumptions:
        assert 0 < consumption.amount_cents <= balances[consumption.credit_note_id]
        assert (
            consumption.balance_amount_cents
            == balances[consumption.credit_note_id] - consumption.amount_cents
        )
    assert t.credit_notes_amount_cents <= t.sub_total_including_taxes_amount_cents
    wallet_balances = {w.id: w for w in inp.wallets}
    for consumption in t.wallet_consumptions:
        wallet = wallet_balances[consumption.wallet_id]
        assert 0 < consumption.amount_cents <= wallet.balance_cents
        assert consumption.balance_cents >= 0
        assert consumption.credit_amount * wallet.rate_amount * 100 <= consumption.amount_cents
    before_wallets = t.sub_total_including_taxes_amount_cents - t.credit_notes_amount_cents
    assert t.prepaid_credit_amount_cents <= before_wallets


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 100_000),
            st.integers(0, 99_999),
            st.integers(0, 1_000_000),
            taxes,
        ),
        min_size=1,
        max_size=4,
    ),
    st.integers(0, 2),
    st.integers(0, 100),
)
def test_credit_note_total_is_rounded_subtotal_plus_rounded_taxes(
    rows: list[tuple[int, int, int, tuple[TaxRate, ...]]], split: int, share: int
) -> None:
    items = []
    for index, (amount, coupon_part, item_part, fee_taxes) in enumerate(rows):
        coupons = D(coupon_part) / 100_000 * amount
        fee = FeeLine(
            id=f"fee{index}",
            fee_type="charge",
            amount_cents=amount,
            taxes=fee_taxes,
            precise_coupons_amount_cents=round_half_up(coupons, 5),
        )
        items.append(CreditNoteItem(fee, round_half_up(D(item_part) / 1_000_000 * amount, 5)))
    total = precise_total_amount_cents(items)
    first = total * share // 100
    amounts = {0: (total, 0, 0), 1: (first, total - first, 0), 2: (0, first, total - first)}[split]
    note = compute_credit_note(
        items, credit_amount_cents=amounts[0], refund_amount_cents=amounts[1], offset_amount_cents=amounts[2]
    )
    assert note.total_amount_cents == note.sub_total_excluding_taxes_amount_cents + note.taxes_amount_cents
    assert (
        note.total_amount_cents
        == note.credit_amount_cents + note.refund_amount_cents + note.offset_amount_cents
    )
    assert abs(note.total_amount_cents - total) <= 1
    assert note.balance_amount_cents == note.credit_amount_cents


@settings(max_examples=200, deadline=None)
@given(
    wallets,
    st.lists(
        st.builds(
            WalletFee,
            fee_type=st.sampled_from(["charge", "subscription", "add_on"]),
            sub_total_excluding_taxes_amount_cents=st.integers(0, 10_000_000).map(lambda c: D(c) / 100),
            taxes_precise_amount_cents=st.integers(0, 1_000_000).map(lambda c: D(c) / 1000),
            billable_metric_id=st.sampled_from(METRICS),
        ),
        max_size=5,
    ),
    st.integers(0, 200_000),
)
def test_wallet_consumption_never_exceeds_balance_nor_total(
    all_wallets: tuple[Wallet, ...], fees: list[WalletFee], total: int
) -> None:
    result = apply_wallets(all_wallets, fees, total_amount_cents=total, currency="EUR")
    assert result.prepaid_credit_amount_cents <= total
    by_id = {w.id: w for w in all_wallets}
    for consumption in result.consumptions:
        assert consumption.amount_cents <= by_id[consumption.wallet_id].balance_cents
        assert by_id[consumption.wallet_id].currency == "EUR"
    caps = sum((bucket.cap for bucket in result.buckets), D(0))
    assert result.prepaid_credit_amount_cents <= max(caps, D(0))
