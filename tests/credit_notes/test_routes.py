"""Reading and changing notes: ``GET /credit_notes`` (filters), ``GET /credit_notes/{id}``,
``GET /customers/{id}/credit_notes``, ``PUT`` (refund status, metadata), ``PUT .../void``, the
metadata sub-resource, ``POST .../download`` (405 until PDFs exist), and another
organization's notes (404)."""

from __future__ import annotations

from typing import Any

from tests.billing.helpers import add_endpoint, clock, customer, fee_of, webhooks
from tests.credit_notes.conftest import bill, catalog
from tests.credit_notes.helpers import counts, create, pay
from tests.pricing.helpers import ok
from tests.support.openapi import assert_response_matches_openapi


def _note(api: Any, invoice: dict[str, Any], amount: int, **fields: Any) -> dict[str, Any]:
    sub = fee_of(invoice, "subscription")["lago_id"]
    body = {"credit_amount_cents": amount * 6 // 5, **fields}
    return ok(create(api, invoice["lago_id"], [(sub, amount)], **body))["credit_note"]


def _ids(api: Any, path: str = "/credit_notes", **params: Any) -> list[str]:
    return [n["lago_id"] for n in ok(api.get(path, **params))["credit_notes"]]


def test_list_filters_and_customer_route(api, runtime):
    catalog(api, runtime)
    customer(api)
    customer(api, "cus_2", name="Jane Doe")
    invoice, other = bill(api, runtime, "cus_1", "cus_2")
    pay(runtime, invoice["lago_id"], 1800)
    a = _note(api, invoice, 100, reason="duplicated_charge")
    clock(api, "2024-02-01T01:00:00Z")
    b = _note(api, invoice, 200, refund_amount_cents=240, credit_amount_cents=0)
    clock(api, "2024-02-01T02:00:00Z")
    c = _note(api, other, 300, reason="fraudulent_charge")
    listed = api.get("/credit_notes")
    assert_response_matches_openapi(listed, "/credit_notes")
    body = ok(listed)
    assert [n["lago_id"] for n in body["credit_notes"]] == [c["lago_id"], b["lago_id"], a["lago_id"]]
    assert body["meta"] == {
        "current_page": 1,
        "next_page": None,
        "prev_page": None,
        "total_pages": 1,
        "total_count": 3,
    }
    assert _ids(api, per_page=1, page=2) == [b["lago_id"]]
    assert _ids(api, external_customer_id="cus_2") == [c["lago_id"]]
    assert _ids(api, reason="duplicated_charge") == [a["lago_id"]]
    assert _ids(api, refund_status="pending") == [b["lago_id"]]
    # As in Lago, a refund-only note is also ``available`` (with a balance of 0).
    assert _ids(api, credit_status="available") == [c["lago_id"], b["lago_id"], a["lago_id"]]
    assert _ids(api, credit_status="consumed") == []
    assert _ids(api, amount_from=240, amount_to=360) == [c["lago_id"], b["lago_id"]]
    assert _ids(api, invoice_number=other["number"]) == [c["lago_id"]]
    assert _ids(api, search_term="Jane") == [c["lago_id"]]
    assert _ids(api, issuing_date_from="2024-02-02") == []
    assert _ids(api, currency="USD") == []
    customer_list = api.get("/customers/cus_1/credit_notes")
    assert_response_matches_openapi(customer_list, "/customers/{external_customer_id}/credit_notes")
    assert [n["lago_id"] for n in ok(customer_list)["credit_notes"]] == [b["lago_id"], a["lago_id"]]
    missing = api.get("/customers/nobody/credit_notes")
    assert (missing.status_code, missing.json()["code"]) == (404, "customer_not_found")
    one = api.get(f"/credit_notes/{a['lago_id']}")
    assert_response_matches_openapi(one, "/credit_notes/{lago_id}")
    assert ok(one)["credit_note"]["items"][0]["amount_cents"] == 100


def test_update_refund_status_and_metadata(api, runtime, invoice):
    pay(runtime, invoice["lago_id"], 1800)
    note = _note(api, invoice, 500, refund_amount_cents=600, credit_amount_cents=0)
    assert note["refund_status"] == "pending"
    response = api.put(f"/credit_notes/{note['lago_id']}", {"credit_note": {"refund_status": "succeeded"}})
    assert_response_matches_openapi(response, "/credit_notes/{lago_id}")
    assert ok(response)["credit_note"]["refund_status"] == "succeeded"
    bad = api.put(f"/credit_notes/{note['lago_id']}", {"credit_note": {"refund_status": "done"}})
    assert (bad.status_code, bad.json()["error_details"]) == (422, {"refund_status": ["value_is_invalid"]})
    path = f"/credit_notes/{note['lago_id']}/metadata"
    assert ok(api.post(path, {"metadata": {"a": "1", "b": "2"}})) == {"metadata": {"a": "1", "b": "2"}}
    assert ok(api.client.patch("/api/v1" + path, headers=api.headers, json={"metadata": {"c": "3"}})) == {
        "metadata": {"a": "1", "b": "2", "c": "3"}
    }
    assert ok(api.delete(path + "/b")) == {"metadata": {"a": "1", "c": "3"}}
    assert ok(api.post(path, {"metadata": {"z": None}})) == {"metadata": {"z": None}}
    assert api.post(path, {"metadata": {"x": 1}}).status_code == 422
    assert ok(api.delete(path)) == {"metadata": None}
    assert api.delete(path + "/z").status_code == 404


def test_void_takes_the_remaining_balance_once(api, runtime, invoice):
    add_endpoint(api)
    note = _note(api, invoice, 500)
    response = api.put(f"/credit_notes/{note['lago_id']}/void")
    assert_response_matches_openapi(response, "/credit_notes/{lago_id}/void")
    voided = ok(response)["credit_note"]
    assert (voided["credit_status"], voided["balance_amount_cents"], voided["credit_amount_cents"]) == (
        "voided",
        0,
        600,
    )
    again = api.put(f"/credit_notes/{note['lago_id']}/void")
    assert (again.status_code, again.json()["code"]) == (405, "no_voidable_amount")
    assert len(webhooks(runtime, "credit_note.created")) == 1


def test_refund_only_note_cannot_be_voided(api, runtime, invoice):
    pay(runtime, invoice["lago_id"], 1800)
    note = _note(api, invoice, 500, refund_amount_cents=600, credit_amount_cents=0)
    response = api.put(f"/credit_notes/{note['lago_id']}/void")
    assert (response.status_code, response.json()["code"]) == (405, "no_voidable_amount")


def test_download_is_not_available(api, runtime, invoice):
    note = _note(api, invoice, 500)
    response = api.post(f"/credit_notes/{note['lago_id']}/download")
    assert (response.status_code, response.json()["code"]) == (405, "pdf_not_available")
    missing = api.post("/credit_notes/00000000-0000-0000-0000-000000000000/download")
    assert (missing.status_code, missing.json()["code"]) == (404, "credit_note_not_found")


def test_another_organizations_note_is_not_found(api, other_api, runtime, invoice):
    note = _note(api, invoice, 500)
    before = counts(runtime)
    path = f"/credit_notes/{note['lago_id']}"
    for response in (
        other_api.get(path),
        other_api.put(path, {"credit_note": {"refund_status": "succeeded"}}),
        other_api.put(path + "/void"),
        other_api.post(path + "/download"),
        other_api.post(path + "/metadata", {"metadata": {"a": "1"}}),
        other_api.delete(path + "/metadata"),
    ):
        assert (response.status_code, response.json()["code"]) == (404, "credit_note_not_found"), (
            response.text
        )
    assert ok(other_api.get("/credit_notes"))["credit_notes"] == []
    assert counts(runtime) == before
    assert ok(api.get(path))["credit_note"]["balance_amount_cents"] == 600
