"""billing.md §8 Ex14 — coupon + two plan taxes + partial credit note (Lago's
``credit_note_spec``): the coupon share of the credited fee, tax rounding, and the totals forced
to rounded subtotal + rounded taxes (§6.4.2)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.billing.coupon_helpers import apply, coupon
from tests.billing.helpers import (
    add_endpoint,
    clock,
    customer,
    invoices,
    plan,
    start_clock,
    subscribe,
    webhooks,
)
from tests.credit_notes.helpers import amounts, at, create, estimate, pay, split
from tests.pricing.helpers import create_tax, ok

pytestmark = pytest.mark.slow


def _plan_fee(invoice: dict[str, Any], code: str) -> str:
    [fee] = [f for f in invoice["fees"] if f["item"]["type"] == "subscription" and f["item"]["code"] == code]
    return str(fee["lago_id"])


def _anniversary_invoice(api: Any, runtime: Any) -> dict[str, Any]:
    start_clock(runtime, at("2023-09-19T10:00:00Z"))
    create_tax(api, "vat", "10.0", applied_to_organization=True)
    create_tax(api, "t1", "10.0")
    create_tax(api, "t2", "10.0")
    customer(api)
    add_endpoint(api)
    plan(api, "plan1", amount_cents=17900, pay_in_advance=True)
    plan(api, "plan2", amount_cents=39900, pay_in_advance=True, tax_codes=["t1", "t2"])
    subscribe(api, "plan1", external_id="sub_1", billing_time="anniversary")
    subscribe(api, "plan2", external_id="sub_2", billing_time="anniversary")
    coupon(api, "forever", amount_cents=1000, frequency="forever", applies_to={"plan_codes": ["plan2"]})
    clock(api, "2023-09-19T10:00:01Z")
    apply(api, "forever", amount_cents=25000)
    clock(api, "2023-10-19T10:00:00Z")
    invoice = invoices(api)[-1]
    assert (
        invoice["fees_amount_cents"],
        invoice["coupons_amount_cents"],
        invoice["taxes_amount_cents"],
        invoice["total_amount_cents"],
    ) == (57800, 25000, 4770, 37570)
    return invoice


def test_ex14_estimates_and_partial_refund(api, runtime):
    invoice = _anniversary_invoice(api, runtime)
    plan1, plan2 = _plan_fee(invoice, "plan1"), _plan_fee(invoice, "plan2")
    pay(runtime, invoice["lago_id"], 1200, succeeded=False)
    full = ok(estimate(api, invoice["lago_id"], [(plan1, 17900), (plan2, 39900)]))["estimated_credit_note"]
    assert (
        full["sub_total_excluding_taxes_amount_cents"],
        full["taxes_amount_cents"],
        full["max_creditable_amount_cents"],
        full["max_refundable_amount_cents"],
        full["coupons_adjustment_amount_cents"],
    ) == (32800, 4770, 37570, 1200, 25000)
    part = ok(estimate(api, invoice["lago_id"], [(plan2, 26260)]))["estimated_credit_note"]
    assert (
        part["coupons_adjustment_amount_cents"],
        part["sub_total_excluding_taxes_amount_cents"],
        part["taxes_amount_cents"],
        part["max_creditable_amount_cents"],
        part["taxes_rate"],
    ) == (16454, 9806, 1961, 11767, 20.0)
    # Only 1200 is paid: a refund of 11767 is refused, then accepted once the invoice is paid.
    refused = create(api, invoice["lago_id"], [(plan2, 26260)], refund_amount_cents=11767)
    assert refused.json()["error_details"] == {
        "refund_amount_cents": ["higher_than_remaining_invoice_amount"]
    }
    pay(runtime, invoice["lago_id"], 37570)
    note = ok(create(api, invoice["lago_id"], [(plan2, 26260)], refund_amount_cents=11767))["credit_note"]
    assert amounts(note) == (9806, 1961, 11767)
    assert split(note) == (0, 11767, 0, 0)
    assert note["coupons_adjustment_amount_cents"] == 16454
    assert sorted(
        (t["tax_code"], t["base_amount_cents"], t["amount_cents"]) for t in note["applied_taxes"]
    ) == [
        ("t1", 9806, 981),
        ("t2", 9806, 981),
    ]
    assert len(webhooks(runtime, "credit_note.created")) == 1


def test_ex14_remaining_amount_absorbs_the_rounding(api, runtime):
    """Crediting the rest of the invoice after the partial note: the two notes add up to the
    invoice's total exactly."""
    invoice = _anniversary_invoice(api, runtime)
    plan1, plan2 = _plan_fee(invoice, "plan1"), _plan_fee(invoice, "plan2")
    first = ok(create(api, invoice["lago_id"], [(plan2, 26260)], credit_amount_cents=11767))["credit_note"]
    rest = ok(estimate(api, invoice["lago_id"], [(plan1, 17900), (plan2, 13640)]))["estimated_credit_note"]
    second = ok(
        create(
            api,
            invoice["lago_id"],
            [(plan1, 17900), (plan2, 13640)],
            credit_amount_cents=rest["max_creditable_amount_cents"],
        )
    )["credit_note"]
    assert first["total_amount_cents"] + second["total_amount_cents"] == 37570
    assert first["taxes_amount_cents"] + second["taxes_amount_cents"] == 4770
    assert (
        second["sub_total_excluding_taxes_amount_cents"] + second["taxes_amount_cents"]
        == second["total_amount_cents"]
    )
