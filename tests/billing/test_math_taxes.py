"""Tax resolution precedence (billing.md §6.3) and the fee / invoice rounding points (§4.6)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billow.billing.math import (
    FeeLine,
    TaxRate,
    TaxSources,
    aggregate_paid_fee_taxes,
    compute_fee_taxes,
    compute_invoice_taxes,
    resolve_fee_taxes,
)
from billow.billing.math.fees import FeeType

D = Decimal
VAT10 = TaxRate("vat10", D(10))
VAT20 = TaxRate("vat20", D(20))
REDUCED = TaxRate("reduced", D("5.5"))
LOCAL = TaxRate("local", D(2))

SOURCES = TaxSources(
    explicit=(LOCAL,),
    item=(REDUCED,),
    plan=(VAT20,),
    customer=(VAT10,),
    billing_entity=(TaxRate("default", D(19)),),
)


def fee(fee_id: str, amount: int, *taxes: TaxRate, coupons: str = "0", precise: str | None = None) -> FeeLine:
    return FeeLine(
        id=fee_id,
        fee_type="charge",
        amount_cents=amount,
        precise_amount_cents=None if precise is None else D(precise),
        taxes=taxes,
        precise_coupons_amount_cents=D(coupons),
    )


def test_explicit_codes_win_over_every_level() -> None:
    assert resolve_fee_taxes("add_on", SOURCES) == (LOCAL,)


@pytest.mark.parametrize("fee_type", ["add_on", "charge", "fixed_charge", "commitment"])
def test_item_taxes_come_next_for_items(fee_type: FeeType) -> None:
    sources = TaxSources(item=(REDUCED,), plan=(VAT20,), customer=(VAT10,))
    assert resolve_fee_taxes(fee_type, sources) == (REDUCED,)


def test_subscription_fee_has_no_item_level() -> None:
    sources = TaxSources(item=(REDUCED,), plan=(VAT20,), customer=(VAT10,))
    assert resolve_fee_taxes("subscription", sources) == (VAT20,)


@pytest.mark.parametrize("fee_type", ["charge", "subscription", "commitment", "fixed_charge"])
def test_plan_taxes_when_the_item_has_none(fee_type: FeeType) -> None:
    assert resolve_fee_taxes(fee_type, TaxSources(plan=(VAT20, VAT10), customer=(REDUCED,))) == (VAT20, VAT10)


def test_add_on_skips_plan_taxes() -> None:
    assert resolve_fee_taxes("add_on", TaxSources(plan=(VAT20,), customer=(VAT10,))) == (VAT10,)


def test_customer_then_billing_entity() -> None:
    assert resolve_fee_taxes("charge", TaxSources(customer=(VAT10,), billing_entity=(VAT20,))) == (VAT10,)
    assert resolve_fee_taxes("charge", TaxSources(billing_entity=(VAT20,))) == (VAT20,)
    assert resolve_fee_taxes("charge", TaxSources()) == ()


def test_empty_explicit_codes_fall_through() -> None:
    assert resolve_fee_taxes("add_on", TaxSources(explicit=(), item=(REDUCED,))) == (REDUCED,)


def test_credit_fees_are_never_taxed() -> None:
    assert resolve_fee_taxes("credit", SOURCES) == ()
    credit = FeeLine(id="c", fee_type="credit", amount_cents=1000, taxes=(VAT20,))
    assert compute_fee_taxes(credit).taxes_amount_cents == 0
    assert compute_invoice_taxes([credit], 1000).applied_taxes == ()


def test_fee_tax_base_is_rounded_amount_minus_unrounded_coupons() -> None:
    # Ex13 first fee: 1000 − 676.47059 at 10 % = 32.352941 → 32
    taxes = compute_fee_taxes(fee("f", 1000, VAT10, coupons="676.47059", precise="999.6"))
    assert taxes.base_amount_cents == D("323.52941")
    assert taxes.taxes_amount_cents == 32
    assert taxes.applied_taxes[0].amount_cents == 32
    # the precise tax uses the unrounded fee amount
    assert taxes.taxes_precise_amount_cents == D("32.312941")


def test_fee_taxes_round_the_sum_not_each_row() -> None:
    # two taxes of 10 % on 15 cents: rows 1.5 → 2 each, fee total round(3.0) = 3
    taxes = compute_fee_taxes(fee("f", 15, VAT10, TaxRate("other", D(10))))
    assert [row.amount_cents for row in taxes.applied_taxes] == [2, 2]
    assert taxes.taxes_amount_cents == 3
    assert taxes.taxes_rate == D(20)


def test_invoice_tax_rounds_once_and_may_differ_from_the_fees_by_a_cent() -> None:
    fees = [fee("a", 5, VAT10), fee("b", 5, VAT10)]
    per_fee = [compute_fee_taxes(f).taxes_amount_cents for f in fees]
    invoice = compute_invoice_taxes(fees, 10)
    assert per_fee == [1, 1]  # 0.5 → 1 on each fee
    assert invoice.taxes_amount_cents == 1  # round(0.5 + 0.5)
    assert sum(per_fee) - invoice.taxes_amount_cents == 1


def test_invoice_rows_are_rounded_individually() -> None:
    # 10 % on 14105.88236 → 1410.588 → 1411; 20 % on 2394.11765 → 478.8 → 479; total 1889.41 → 1889
    fees = [
        fee("a", 1000, VAT10, coupons="676.47059"),
        fee("b", 2000, VAT20, coupons="1352.94117"),
        fee("c", 3000, VAT10, coupons="88.23529"),
        fee("d", 4000, VAT10, coupons="117.64706"),
        fee("e", 1000, VAT10, coupons="126.47059"),
        fee("f", 2000, VAT20, coupons="252.94118"),
        fee("g", 3000, VAT10, coupons="379.41176"),
        fee("h", 4000, VAT10, coupons="505.88235"),
    ]
    invoice = compute_invoice_taxes(fees, 16500)
    rows = {row.tax.code: row for row in invoice.applied_taxes}
    assert rows["vat10"].amount_cents == 1411
    assert rows["vat20"].amount_cents == 479
    assert rows["vat10"].fees_amount_cents == 14105  # truncated like Lago's integer column
    assert rows["vat10"].fees_count == 6
    assert invoice.taxes_amount_cents == 1889


def test_taxes_rate_is_weighted_by_the_taxed_share_of_the_sub_total() -> None:
    # Ex14: 10 % on 17900 + (10 % + 10 %) on 14900, sub-total 32800 → 14.54268
    fees = [
        fee("plan1", 17900, VAT10),
        fee("plan2", 39900, TaxRate("a", D(10)), TaxRate("b", D(10)), coupons="25000"),
    ]
    invoice = compute_invoice_taxes(fees, 32800)
    assert invoice.taxes_amount_cents == 4770
    assert invoice.taxes_rate == D("14.54268")


def test_taxes_rate_by_fee_count_when_the_sub_total_is_zero() -> None:
    fees = [fee("a", 100, VAT20, coupons="100"), fee("b", 100, coupons="100")]
    invoice = compute_invoice_taxes(fees, 0)
    assert invoice.taxes_amount_cents == 0
    assert invoice.taxes_rate == D(10)  # 20 % × 1/2


def test_advance_charges_sum_the_paid_fee_taxes() -> None:
    fees = [fee("a", 5, VAT10), fee("b", 5, VAT10)]
    invoice = aggregate_paid_fee_taxes(10, [compute_fee_taxes(f) for f in fees])
    assert invoice.taxes_amount_cents == 2
    assert invoice.taxes_rate == D(20)
    assert invoice.applied_taxes[0].amount_cents == 2
