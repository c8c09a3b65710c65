"""``POST /credit_notes`` and ``POST /credit_notes/estimate`` (billing.md §6.4.1–§6.4.2): items per
fee, credit/refund/offset, Lago's caps per fee and per invoice with their 422 codes, tax rounding
(totals forced to rounded subtotal + rounded taxes), ``credit_note.created`` exactly once, and
negative paths that store nothing and queue nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.billing.helpers import add_endpoint, customer, fee_of, invoices, webhooks
from tests.credit_notes.conftest import bill, catalog
from tests.credit_notes.helpers import amounts, counts, create, estimate, pay, split
from tests.pricing.helpers import ok
from tests.support.openapi import assert_response_matches_openapi


def _fees(invoice: dict[str, Any]) -> tuple[str, str]:
    return fee_of(invoice, "subscription")["lago_id"], fee_of(invoice, "charge")["lago_id"]


def _details(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["status"], body["error"], body["code"]) == (422, "Unprocessable Entity", "validation_errors")
    details: dict[str, list[str]] = body["error_details"]
    return details


def test_credit_note_on_two_fees(api, runtime, invoice):
    add_endpoint(api)
    sub, charge = _fees(invoice)
    response = create(
        api,
        invoice["lago_id"],
        [(sub, 1000), (charge, 500)],
        reason="duplicated_charge",
        description="twice",
        credit_amount_cents=1000,
        refund_amount_cents=0,
        offset_amount_cents=800,
    )
    assert_response_matches_openapi(response, "/credit_notes")
    note = ok(response)["credit_note"]
    assert amounts(note) == (1500, 300, 1800)
    assert split(note) == (1000, 0, 800, 1000)
    assert (note["reason"], note["description"], note["credit_status"], note["refund_status"]) == (
        "duplicated_charge",
        "twice",
        "available",
        None,
    )
    assert (note["number"], note["sequential_id"], note["issuing_date"]) == (
        f"{invoice['number']}-CN001",
        1,
        "2024-02-01",
    )
    assert sorted((i["fee"]["lago_id"], i["amount_cents"]) for i in note["items"]) == sorted(
        [(sub, 1000), (charge, 500)]
    )
    assert [(t["tax_code"], t["base_amount_cents"], t["amount_cents"]) for t in note["applied_taxes"]] == [
        ("vat", 1500, 300)
    ]
    # The offset settles part of the invoice.
    [after] = invoices(api)
    assert after["total_offsetted_credit_note_amount_cents"] == 800
    assert after["total_due_amount_cents"] == 1000
    [created] = webhooks(runtime, "credit_note.created")
    assert created["credit_note"]["lago_id"] == note["lago_id"]


def test_refund_needs_a_payment_and_stays_within_it(api, runtime, invoice):
    sub, _ = _fees(invoice)
    assert _details(create(api, invoice["lago_id"], [(sub, 500)], refund_amount_cents=600)) == {
        "refund_amount_cents": ["cannot_refund_unpaid_invoice"]
    }
    pay(runtime, invoice["lago_id"], 300, succeeded=False)
    assert _details(create(api, invoice["lago_id"], [(sub, 500)], refund_amount_cents=600)) == {
        "refund_amount_cents": ["higher_than_remaining_invoice_amount"]
    }
    note = ok(create(api, invoice["lago_id"], [(sub, 500)], refund_amount_cents=300, credit_amount_cents=300))
    assert split(note["credit_note"]) == (300, 300, 0, 300)
    assert note["credit_note"]["refund_status"] == "pending"
    # 300 already refunded: nothing left to refund.
    assert _details(create(api, invoice["lago_id"], [(sub, 100)], refund_amount_cents=120)) == {
        "refund_amount_cents": ["higher_than_remaining_invoice_amount"]
    }


def test_item_caps_per_fee(api, runtime, invoice):
    add_endpoint(api)
    sub, charge = _fees(invoice)
    before = counts(runtime)
    assert _details(create(api, invoice["lago_id"], [(sub, 1001)], credit_amount_cents=1201)) == {
        "amount_cents": ["higher_than_remaining_fee_amount"]
    }
    assert _details(create(api, invoice["lago_id"], [(charge, -1)], credit_amount_cents=1)) == {
        "amount_cents": ["invalid_value"]
    }
    # Two items on one fee add up.
    assert _details(
        create(api, invoice["lago_id"], [(charge, 300), (charge, 201)], credit_amount_cents=601)
    ) == {"amount_cents": ["higher_than_remaining_fee_amount"]}
    assert counts(runtime) == before
    ok(create(api, invoice["lago_id"], [(sub, 600)], credit_amount_cents=720))
    # What earlier notes took is no longer creditable.
    assert _details(create(api, invoice["lago_id"], [(sub, 401)], credit_amount_cents=481)) == {
        "amount_cents": ["higher_than_remaining_fee_amount"]
    }
    ok(create(api, invoice["lago_id"], [(sub, 400)], credit_amount_cents=480))
    assert len(webhooks(runtime, "credit_note.created")) == 2


def test_note_level_checks(api, runtime, invoice):
    add_endpoint(api)
    sub, charge = _fees(invoice)
    before = counts(runtime)
    # credit + refund + offset must match the items with their taxes (±1 cent).
    assert _details(create(api, invoice["lago_id"], [(sub, 500)], credit_amount_cents=602)) == {
        "base": ["does_not_match_item_amounts"]
    }
    assert _details(create(api, invoice["lago_id"], [(sub, 0)], credit_amount_cents=0)) == {
        "base": ["total_amount_must_be_positive"]
    }
    assert _details(create(api, invoice["lago_id"], [(sub, 500)], offset_amount_cents=1801)) == {
        "base": ["does_not_match_item_amounts"],
        "offset_amount_cents": ["higher_than_remaining_invoice_amount"],
    }
    assert _details(
        create(api, invoice["lago_id"], [(sub, 500)], reason="bored", credit_amount_cents=600)
    ) == {"reason": ["value_is_invalid"]}
    assert _details(create(api, invoice["lago_id"], [(sub, 500)], credit_amount_cents=600, metadata=[1])) == {
        "metadata": ["value_is_invalid"]
    }
    missing = create(
        api, invoice["lago_id"], [("00000000-0000-0000-0000-000000000000", 1)], credit_amount_cents=1
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "fee_not_found")
    missing = create(api, "00000000-0000-0000-0000-000000000000", [(sub, 1)], credit_amount_cents=1)
    assert (missing.status_code, missing.json()["code"]) == (404, "invoice_not_found")
    not_array = api.post(
        "/credit_notes", {"credit_note": {"invoice_id": invoice["lago_id"], "reason": "other", "items": {}}}
    )
    assert _details(not_array) == {"items": ["must_be_an_array"]}
    assert counts(runtime) == before
    assert webhooks(runtime, "credit_note.created") == []
    # The whole invoice can still be credited (the sum of all caps, then nothing more).
    ok(create(api, invoice["lago_id"], [(sub, 1000), (charge, 500)], credit_amount_cents=1800))
    assert _details(create(api, invoice["lago_id"], [(charge, 1)], credit_amount_cents=1)) == {
        "amount_cents": ["higher_than_remaining_fee_amount"]
    }
    # Within the 1-cent tolerance, a note forced to 0 is still refused.
    assert _details(create(api, invoice["lago_id"], [(charge, 0)], credit_amount_cents=1)) == {
        "base": ["total_amount_must_be_positive"]
    }
    assert len(webhooks(runtime, "credit_note.created")) == 1


@pytest.mark.parametrize(("asked", "expected"), [(799, 799), (800, 799), (798, 799)])
def test_rounding_forces_total_to_subtotal_plus_taxes(api, runtime, invoice, asked, expected):
    """Items 333 + 333 at 20%: precise taxes 133.2, total 799.2; any total within a cent is
    forced to round(subtotal) + round(taxes) = 666 + 133."""
    sub, charge = _fees(invoice)
    note = ok(create(api, invoice["lago_id"], [(sub, 333), (charge, 333)], credit_amount_cents=asked))
    assert amounts(note["credit_note"]) == (666, 133, expected)
    assert split(note["credit_note"]) == (expected, 0, 0, expected)
    assert note["credit_note"]["precise_taxes_amount_cents"] == "133.2"


def test_estimate(api, runtime, invoice):
    sub, charge = _fees(invoice)
    pay(runtime, invoice["lago_id"], 1000, succeeded=False)
    # Not checked against the OpenAPI document: it types the precise amounts as numbers where
    # Lago sends decimal strings, and ``tax_description`` as non-null.
    body = ok(estimate(api, invoice["lago_id"], [(sub, 333), (charge, 333)]))["estimated_credit_note"]
    assert (
        body["sub_total_excluding_taxes_amount_cents"],
        body["taxes_amount_cents"],
        body["precise_taxes_amount_cents"],
        body["max_creditable_amount_cents"],
        body["max_refundable_amount_cents"],
        body["coupons_adjustment_amount_cents"],
        body["taxes_rate"],
    ) == (666, 133, "133.2", 799, 799, 0, 20.0)
    assert body["items"] == [
        {"lago_fee_id": sub, "amount_cents": 333},
        {"lago_fee_id": charge, "amount_cents": 333},
    ]
    full = ok(estimate(api, invoice["lago_id"], [(sub, 1000), (charge, 500)]))["estimated_credit_note"]
    assert (full["max_creditable_amount_cents"], full["max_refundable_amount_cents"]) == (1800, 1000)
    assert _details(estimate(api, invoice["lago_id"], [(sub, 1001)])) == {
        "amount_cents": ["higher_than_remaining_fee_amount"]
    }
    assert counts(runtime)["credit_notes"] == 0


def test_another_organizations_invoice_is_not_found(api, other_api, runtime, invoice):
    sub, _ = _fees(invoice)
    before = counts(runtime)
    response = create(other_api, invoice["lago_id"], [(sub, 500)], credit_amount_cents=600)
    assert (response.status_code, response.json()["code"]) == (404, "invoice_not_found")
    response = estimate(other_api, invoice["lago_id"], [(sub, 500)])
    assert (response.status_code, response.json()["code"]) == (404, "invoice_not_found")
    assert counts(runtime) == before


def test_draft_invoice_gives_a_draft_note_finalized_with_it(api, runtime):
    catalog(api, runtime)
    customer(api, billing_configuration={"invoice_grace_period": 3})
    add_endpoint(api)
    [draft] = bill(api, runtime)
    assert draft["status"] == "draft"
    sub, _ = _fees(draft)
    note = ok(create(api, draft["lago_id"], [(sub, 500)], credit_amount_cents=600))["credit_note"]
    assert note["number"] == "ACM-" + draft["number"].split("-")[1] + "-DRAFT-CN001"
    # A draft note is neither listed, found, nor announced.
    assert ok(api.get("/credit_notes"))["credit_notes"] == []
    assert api.get(f"/credit_notes/{note['lago_id']}").status_code == 404
    assert webhooks(runtime, "credit_note.created") == []
    finalized = ok(api.put(f"/invoices/{draft['lago_id']}/finalize"))["invoice"]
    [listed] = ok(api.get("/credit_notes"))["credit_notes"]
    assert (listed["lago_id"], listed["number"]) == (note["lago_id"], f"{finalized['number']}-CN001")
    assert amounts(listed) == (500, 100, 600)
    [created] = webhooks(runtime, "credit_note.created")
    assert created["credit_note"]["lago_id"] == note["lago_id"]
    # The draft note was not applied to its own invoice.
    assert finalized["credit_notes_amount_cents"] == 0
