"""``/invoices``, ``/customers/{id}/invoices`` and ``/fees``: shapes (checked against Lago's
OpenAPI document), filters, updates, tenancy and errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.billing.helpers import (
    add_endpoint,
    customer,
    drain,
    fee_of,
    invoices,
    plan,
    start_clock,
    subscribe,
    tick_at,
    webhooks,
)
from tests.pricing.helpers import create_tax, ok
from tests.support.openapi import assert_matches_webhook, assert_response_matches_openapi


def _two_customers(api: Any, runtime: Any) -> None:
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    customer(api, "cus_1", name="Ada Lovelace", email="ada@example.com")
    customer(api, "cus_2", name="Grace Hopper", currency="USD")
    plan(api, "eur", amount_cents=3100)
    plan(api, "usd", amount_cents=6200, amount_currency="USD", pay_in_advance=True)
    subscribe(api, "eur", external_id="sub_1", customer_id="cus_1")
    subscribe(api, "usd", external_id="sub_2", customer_id="cus_2")
    drain(api, runtime)
    tick_at(runtime, datetime(2024, 2, 1, tzinfo=UTC))


def _ids(response: Any) -> list[str]:
    return [i["customer"]["external_id"] for i in ok(response)["invoices"]]


def test_invoice_and_fee_objects_match_the_openapi_document(api, runtime):
    _two_customers(api, runtime)
    listed = api.get("/invoices")
    assert_response_matches_openapi(listed, "/invoices")
    body = ok(listed)
    assert body["meta"]["total_count"] == 3
    assert set(body["invoices"][0]) >= {"customer", "metadata", "applied_taxes"}
    assert "fees" not in body["invoices"][0]
    one = api.get(f"/invoices/{body['invoices'][0]['lago_id']}")
    assert_response_matches_openapi(one, "/invoices/{lago_id}")
    invoice = ok(one)["invoice"]
    assert set(invoice) >= {
        "billing_periods",
        "subscriptions",
        "fees",
        "credits",
        "metadata",
        "applied_taxes",
    }
    assert invoice["customer"]["integration_customers"] == []
    fee = invoice["fees"][0]
    fee_response = api.get(f"/fees/{fee['lago_id']}")
    assert_response_matches_openapi(fee_response, "/fees/{lago_id}")
    fees = api.get("/fees")
    assert_response_matches_openapi(fees, "/fees")


def test_fee_object_amounts_and_taxes(api, runtime):
    _two_customers(api, runtime)
    [eur] = invoices(api, external_customer_id="cus_1")
    assert (eur["fees_amount_cents"], eur["taxes_amount_cents"], eur["total_amount_cents"]) == (
        2200,
        440,
        2640,
    )
    fee = ok(api.get(f"/fees/{fee_of(eur, 'subscription')['lago_id']}"))["fee"]
    assert fee["item"] == {
        "type": "subscription",
        "code": "eur",
        "name": "Eur",
        "description": None,
        "invoice_display_name": "Eur",
        "filters": None,
        "filter_invoice_display_name": None,
        "lago_item_id": fee["lago_subscription_id"],
        "item_type": "Subscription",
        "grouped_by": {},
    }
    assert (fee["amount_cents"], fee["precise_amount"], fee["units"]) == (2200, "22.0", "1.0")
    assert (fee["taxes_amount_cents"], fee["taxes_rate"], fee["taxes_precise_amount"]) == (440, 20.0, "4.4")
    assert (fee["total_amount_cents"], fee["precise_total_amount"]) == (2640, "26.4")
    assert (fee["from_date"], fee["to_date"]) == ("2024-01-10T00:00:00Z", "2024-01-31T23:59:59Z")
    assert fee["pay_in_advance"] is False
    assert fee["external_customer_id"] == "cus_1"
    [tax] = fee["applied_taxes"]
    assert (tax["tax_code"], tax["tax_rate"], tax["amount_cents"], tax["lago_fee_id"]) == (
        "vat",
        20.0,
        440,
        fee["lago_id"],
    )
    [invoice_tax] = eur["applied_taxes"]
    assert (invoice_tax["amount_cents"], invoice_tax["fees_amount_cents"]) == (440, 2200)


def test_invoice_filters(api, runtime):
    _two_customers(api, runtime)
    assert sorted(_ids(api.get("/invoices", external_customer_id="cus_2"))) == ["cus_2", "cus_2"]
    assert _ids(api.get("/invoices", currency="EUR")) == ["cus_1"]
    assert _ids(api.get("/invoices", issuing_date_from="2024-02-01", currency="USD")) == ["cus_2"]
    assert _ids(api.get("/invoices", issuing_date_to="2024-01-31")) == ["cus_2"]
    assert len(_ids(api.get("/invoices", **{"statuses[]": "finalized"}))) == 3
    assert _ids(api.get("/invoices", status="draft")) == []
    assert len(_ids(api.get("/invoices", payment_status="pending"))) == 3
    assert _ids(api.get("/invoices", invoice_type="one_off")) == []
    assert _ids(api.get("/invoices", search_term="grace", issuing_date_to="2024-01-31")) == ["cus_2"]
    assert _ids(api.get("/invoices", search_term="ada@example")) == ["cus_1"]
    assert _ids(api.get("/invoices", amount_from=2641)) == ["cus_2", "cus_2"]
    # The 2024-01-10 invoice (due that day) fell overdue at the 2024-02-01 tick (billing.md §4.8).
    assert len(_ids(api.get("/invoices", payment_overdue="false"))) == 2
    assert _ids(api.get("/invoices", payment_overdue="true")) == ["cus_2"]
    newest_first = ok(api.get("/invoices"))["invoices"]
    assert [i["issuing_date"] for i in newest_first] == sorted(
        (i["issuing_date"] for i in newest_first), reverse=True
    )
    bad = api.get("/invoices", status="closed")
    assert bad.status_code == 422
    assert bad.json()["error_details"] == {
        "status": ["must be one of: draft, finalized, voided, failed, pending"]
    }
    assert api.get("/invoices", payment_overdue="maybe").status_code == 422
    unknown_entity = api.get("/invoices", **{"billing_entity_codes[]": "nope"})
    assert (unknown_entity.status_code, unknown_entity.json()["code"]) == (404, "billing_entity_not_found")
    page = ok(api.get("/invoices", per_page=2, page=2))
    assert (len(page["invoices"]), page["meta"]["current_page"], page["meta"]["total_pages"]) == (1, 2, 2)


def test_customer_invoices(api, runtime):
    _two_customers(api, runtime)
    assert _ids(api.get("/customers/cus_1/invoices")) == ["cus_1"]
    assert _ids(api.get("/customers/cus_2/invoices", issuing_date_from="2024-02-01")) == ["cus_2"]
    missing = api.get("/customers/nobody/invoices")
    assert (missing.status_code, missing.json()["code"]) == (404, "customer_not_found")


def test_fees_list_and_filters(api, runtime):
    _two_customers(api, runtime)
    all_fees = ok(api.get("/fees"))
    assert all_fees["meta"]["total_count"] == 3
    assert all(f["applied_taxes"] for f in all_fees["fees"])
    assert [
        f["external_subscription_id"] for f in ok(api.get("/fees", external_subscription_id="sub_1"))["fees"]
    ] == ["sub_1"]
    assert len(ok(api.get("/fees", external_customer_id="cus_2"))["fees"]) == 2
    assert len(ok(api.get("/fees", fee_type="subscription", currency="usd"))["fees"]) == 2
    assert ok(api.get("/fees", fee_type="charge"))["fees"] == []
    assert ok(api.get("/fees", created_at_from="2024-01-31T00:00:00Z"))["meta"]["total_count"] == 2
    bad = api.get("/fees", fee_type="nope")
    assert (bad.status_code, bad.json()["error_details"]) == (422, {"fee_type": ["value_is_invalid"]})
    missing = api.get("/fees/00000000-0000-0000-0000-000000000000")
    assert (missing.status_code, missing.json()["code"]) == (404, "fee_not_found")


def test_update_metadata_and_payment_status(api, runtime):
    add_endpoint(api)
    _two_customers(api, runtime)
    [invoice] = invoices(api, external_customer_id="cus_1")
    path = f"/invoices/{invoice['lago_id']}"
    first = ok(
        api.put(
            path, {"invoice": {"metadata": [{"key": "po", "value": "123"}, {"key": "ref", "value": "A"}]}}
        )
    )
    meta = {m["key"]: m for m in first["invoice"]["metadata"]}
    assert {k: m["value"] for k, m in meta.items()} == {"po": "123", "ref": "A"}
    second = ok(
        api.put(path, {"invoice": {"metadata": [{"id": meta["po"]["lago_id"], "key": "po", "value": "456"}]}})
    )
    assert [(m["lago_id"], m["value"]) for m in second["invoice"]["metadata"]] == [
        (meta["po"]["lago_id"], "456")
    ]
    too_many = api.put(path, {"invoice": {"metadata": [{"key": f"k{n}", "value": "v"} for n in range(6)]}})
    assert (too_many.status_code, too_many.json()["error_details"]) == (422, {"metadata": ["invalid_count"]})
    assert webhooks(runtime, "invoice.payment_status_updated") == []
    paid = ok(api.put(path, {"invoice": {"payment_status": "succeeded"}}))["invoice"]
    assert paid["payment_status"] == "succeeded"
    [hook] = webhooks(runtime, "invoice.payment_status_updated")
    assert hook["invoice"]["payment_status"] == "succeeded"
    assert {"customer", "fees"} <= set(hook["invoice"])
    ok(api.put(path, {"invoice": {"payment_status": "succeeded"}}))
    assert len(webhooks(runtime, "invoice.payment_status_updated")) == 1
    bad = api.put(path, {"invoice": {"payment_status": "paid"}})
    assert (bad.status_code, bad.json()["error_details"]) == (422, {"payment_status": ["value_is_invalid"]})
    assert api.put(path, {"nope": {}}).status_code == 400


def test_drafts_refuse_metadata_and_payment_status(api, runtime):
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    customer(api, billing_configuration={"invoice_grace_period": 3})
    plan(api, amount_cents=3100, pay_in_advance=True)
    subscribe(api)
    drain(api, runtime)
    [draft] = invoices(api)
    path = f"/invoices/{draft['lago_id']}"
    meta = api.put(path, {"invoice": {"metadata": [{"key": "a", "value": "b"}]}})
    assert (meta.status_code, meta.json()["code"]) == (405, "metadata_on_draft_invoice")
    paid = api.put(path, {"invoice": {"payment_status": "succeeded"}})
    assert (paid.status_code, paid.json()["code"]) == (405, "payment_status_update_on_draft_invoice")


def test_invoice_created_webhook(api, runtime):
    add_endpoint(api)
    _two_customers(api, runtime)
    hooks = webhooks(runtime, "invoice.created")
    assert len(hooks) == 3
    for hook in hooks:
        assert hook["object_type"] == "invoice"
        assert_matches_webhook("invoice.created", hook)
        assert {"customer", "subscriptions", "billing_periods", "fees", "credits", "applied_taxes"} <= set(
            hook["invoice"]
        )
        assert "integration_customers" not in hook["invoice"]["customer"]


def test_other_organizations_invoices_are_not_found(api, other_api, runtime):
    _two_customers(api, runtime)
    invoice = ok(api.get("/invoices"))["invoices"][0]
    fee = ok(api.get("/fees"))["fees"][0]
    assert ok(other_api.get("/invoices"))["invoices"] == []
    assert ok(other_api.get("/fees"))["fees"] == []
    for response in (
        other_api.get(f"/invoices/{invoice['lago_id']}"),
        other_api.put(f"/invoices/{invoice['lago_id']}", {"invoice": {"payment_status": "failed"}}),
        other_api.put(f"/invoices/{invoice['lago_id']}/refresh"),
        other_api.put(f"/invoices/{invoice['lago_id']}/finalize"),
    ):
        assert (response.status_code, response.json()["code"]) == (404, "invoice_not_found")
    assert other_api.get(f"/fees/{fee['lago_id']}").status_code == 404
    assert api.get("/invoices/not-a-uuid").status_code == 404


def test_tax_levels_plan_then_customer_then_billing_entity(api, runtime):
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    create_tax(api, "org", "20.0", applied_to_organization=True)
    create_tax(api, "cust", "10.0")
    create_tax(api, "plan", "5.5")
    customer(api, "cus_1", tax_codes=["cust"])
    customer(api, "cus_2")
    plan(api, "taxed", amount_cents=3100, tax_codes=["plan"])
    plan(api, "plain", amount_cents=3100)
    subscribe(api, "taxed", external_id="a", customer_id="cus_1")
    subscribe(api, "plain", external_id="b", customer_id="cus_1")
    subscribe(api, "plain", external_id="c", customer_id="cus_2")
    drain(api, runtime)
    tick_at(runtime, datetime(2024, 2, 1, tzinfo=UTC))
    rates = {}
    for invoice in invoices(api):
        for fee in invoice["fees"]:
            rates[fee["external_subscription_id"]] = fee["taxes_rate"]
    assert rates == {"a": 5.5, "b": 10.0, "c": 20.0}
    [first] = invoices(api, external_customer_id="cus_1")
    taxes = sorted((t["tax_code"], t["amount_cents"]) for t in first["applied_taxes"])
    assert taxes == [("cust", 220), ("plan", 121)]
    assert first["taxes_amount_cents"] == 341
