"""``POST /invoices``: one-off invoices of add-ons (billing.md §4.10): amounts, taxes by level,
numbering, dates, ``invoice.one_off_created`` once, Lago's errors with nothing written."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from billow.runtime import Runtime
from tests.billing.helpers import add_endpoint, customer, start_clock, webhooks
from tests.pricing.helpers import create_tax, error, ok, validation
from tests.support.openapi import assert_matches_webhook, assert_response_matches_openapi

TABLES = ("invoices", "fees", "fee_applied_taxes", "invoice_applied_taxes", "webhooks")


def _counts(runtime: Runtime) -> dict[str, int]:
    with runtime.db.session() as session:
        return {t: int(session.scalar(text(f"SELECT COUNT(*) FROM {t}")) or 0) for t in TABLES}


def _add_on(api: Any, code: str = "setup", amount_cents: int = 10_000, **fields: Any) -> dict[str, Any]:
    body = {
        "name": code.title(),
        "code": code,
        "amount_cents": amount_cents,
        "amount_currency": "EUR",
        **fields,
    }
    return ok(api.post("/add_ons", {"add_on": body}))["add_on"]


def _one_off(api: Any, fees: list[dict[str, Any]], **fields: Any) -> Any:
    body = {"external_customer_id": "cus_1", "currency": "EUR", "fees": fees, **fields}
    return api.post("/invoices", {"invoice": body})


def _setup(api: Any, runtime: Runtime, **customer_fields: Any) -> None:
    start_clock(runtime, datetime(2024, 3, 5, 10, tzinfo=UTC))
    add_endpoint(api)
    customer(api, "cus_1", **customer_fields)


def test_one_off_invoice_amounts_taxes_numbering_and_webhook(api, runtime):
    _setup(api, runtime, net_payment_term=15)
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    create_tax(api, "gst", "10.0")
    _add_on(api, "setup", 10_000, tax_codes=["gst"])
    _add_on(api, "training", 2_500)
    response = _one_off(
        api,
        [
            {"add_on_code": "setup", "units": "2.5", "description": "Onboarding"},
            {
                "add_on_code": "training",
                "unit_amount_cents": 333,
                "units": "3",
                "invoice_display_name": "Training day",
                "from_datetime": "2024-03-01T00:00:00Z",
                "to_datetime": "2024-03-02T00:00:00Z",
            },
        ],
    )
    assert_response_matches_openapi(response, "/invoices")
    invoice = ok(response)["invoice"]
    assert invoice["invoice_type"] == "one_off"
    assert invoice["status"] == "finalized"
    assert invoice["payment_status"] == "pending"
    assert invoice["currency"] == "EUR"
    assert invoice["issuing_date"] == "2024-03-05"
    assert invoice["payment_due_date"] == "2024-03-20"
    assert invoice["net_payment_term"] == 15
    assert invoice["number"].endswith("-001-001")
    assert invoice["sequential_id"] == 1
    # setup: 10 000 × 2.5 = 25 000 taxed by its add-on's GST 10 % = 2 500;
    # training: 333 × 3 = 999 taxed by the organization's VAT 20 % = 199.8.
    assert invoice["fees_amount_cents"] == 25_999
    assert invoice["taxes_amount_cents"] == 2_700
    assert invoice["sub_total_excluding_taxes_amount_cents"] == 25_999
    assert invoice["sub_total_including_taxes_amount_cents"] == 28_699
    assert invoice["total_amount_cents"] == 28_699
    assert invoice["coupons_amount_cents"] == 0
    assert invoice["prepaid_credit_amount_cents"] == 0
    fees = {f["item"]["code"]: f for f in invoice["fees"]}
    setup, training = fees["setup"], fees["training"]
    assert setup["item"]["type"] == "add_on"
    assert (setup["amount_cents"], setup["units"], setup["taxes_amount_cents"]) == (25_000, "2.5", 2_500)
    assert setup["description"] == "Onboarding"
    assert training["amount_cents"] == 999
    assert training["precise_unit_amount"] == "3.33"
    assert training["taxes_amount_cents"] == 200
    assert training["item"]["invoice_display_name"] == "Training day"
    assert training["from_date"] == "2024-03-01T00:00:00Z"
    assert training["to_date"] == "2024-03-02T00:00:00Z"
    assert setup["from_date"] == "2024-03-05T10:00:00Z"
    assert {t["tax_code"]: t["amount_cents"] for t in invoice["applied_taxes"]} == {"gst": 2_500, "vat": 200}

    sent = webhooks(runtime, "invoice.one_off_created")
    assert len(sent) == 1
    assert sent[0]["invoice"]["lago_id"] == invoice["lago_id"]
    assert {f["lago_id"] for f in sent[0]["invoice"]["fees"]} == {setup["lago_id"], training["lago_id"]}
    assert_matches_webhook("invoice.one_off_created", sent[0])
    assert webhooks(runtime, "invoice.created") == []
    # The customer took the invoice's currency.
    assert ok(api.get("/customers/cus_1"))["customer"]["currency"] == "EUR"
    # Listed with the others and numbered in the customer's sequence.
    second = ok(_one_off(api, [{"add_on_code": "training"}]))["invoice"]
    assert second["number"].endswith("-001-002")
    assert second["total_amount_cents"] == 3_000  # 2 500 + VAT 20 %


def test_explicit_tax_codes_win_and_customer_taxes_come_before_the_organization(api, runtime):
    _setup(api, runtime)
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    create_tax(api, "low", "5.5")
    create_tax(api, "cus", "8.0")
    ok(api.post("/customers", {"customer": {"external_id": "cus_1", "tax_codes": ["cus"]}}))
    _add_on(api, "setup", 1_000, tax_codes=["vat"])
    _add_on(api, "plain", 1_000)
    invoice = ok(_one_off(api, [{"add_on_code": "setup", "tax_codes": ["low"]}, {"add_on_code": "plain"}]))[
        "invoice"
    ]
    fees = {f["item"]["code"]: f for f in invoice["fees"]}
    assert fees["setup"]["taxes_amount_cents"] == 55
    assert fees["plain"]["taxes_amount_cents"] == 80
    assert invoice["taxes_amount_cents"] == 135
    assert invoice["total_amount_cents"] == 2_135


def test_zero_amount_one_off_is_finalized_and_paid(api, runtime):
    _setup(api, runtime)
    _add_on(api, "free", 500)
    invoice = ok(_one_off(api, [{"add_on_code": "free", "unit_amount_cents": 0}]))["invoice"]
    assert (invoice["status"], invoice["payment_status"], invoice["total_amount_cents"]) == (
        "finalized",
        "succeeded",
        0,
    )
    assert len(webhooks(runtime, "invoice.one_off_created")) == 1


def test_currency_defaults_to_the_customers(api, runtime):
    _setup(api, runtime, currency="USD")
    _add_on(api)
    invoice = ok(
        api.post(
            "/invoices", {"invoice": {"external_customer_id": "cus_1", "fees": [{"add_on_code": "setup"}]}}
        )
    )
    assert invoice["invoice"]["currency"] == "USD"


def _assert_refused(api: Any, runtime: Runtime, response: Any, status: int, body: dict[str, Any]) -> None:
    assert response.status_code == status, response.text
    assert response.json() == body


def test_errors_write_nothing_and_send_nothing(api, runtime, other_api):
    _setup(api, runtime, currency="EUR")
    _add_on(api)
    create_tax(api, "vat", "20.0")
    # The customer is locked to EUR once it has an invoice.
    ok(_one_off(api, [{"add_on_code": "setup"}]))
    before = _counts(runtime)
    cases = [
        (
            _one_off(api, [{"add_on_code": "setup"}], external_customer_id="nobody"),
            404,
            error(404, "customer_not_found"),
        ),
        (_one_off(api, []), 404, error(404, "fees_not_found")),
        (
            _one_off(api, [{"add_on_code": "setup"}, {"add_on_code": "nope"}]),
            404,
            error(404, "add_on_not_found"),
        ),
        (
            _one_off(api, [{"add_on_code": "setup"}], currency="USD"),
            422,
            validation({"currency": ["currencies_does_not_match"]}),
        ),
        (
            _one_off(api, [{"add_on_code": "setup"}], currency="XXX"),
            422,
            validation({"currency": ["value_is_invalid"]}),
        ),
        (
            _one_off(api, [{"add_on_code": "setup", "from_datetime": "2024-03-02T00:00:00Z"}]),
            422,
            validation({"boundaries": ["values_are_invalid"]}),
        ),
        (
            _one_off(
                api,
                [
                    {
                        "add_on_code": "setup",
                        "from_datetime": "2024-03-02T00:00:00Z",
                        "to_datetime": "2024-03-01T00:00:00Z",
                    }
                ],
            ),
            422,
            validation({"boundaries": ["values_are_invalid"]}),
        ),
        (
            _one_off(api, [{"add_on_code": "setup", "units": "abc"}]),
            422,
            validation({"units": ["value_is_invalid"]}),
        ),
        (
            _one_off(api, [{"add_on_code": "setup", "tax_codes": ["unknown"]}]),
            404,
            error(404, "tax_not_found"),
        ),
        # Another organization sees neither the customer nor the add-on.
        (_one_off(other_api, [{"add_on_code": "setup"}]), 404, error(404, "customer_not_found")),
    ]
    for response, status, body in cases:
        _assert_refused(api, runtime, response, status, body)
    assert api.post("/invoices", {}).status_code == 400
    assert _counts(runtime) == before


def test_a_failed_currency_check_leaves_a_new_customer_without_currency(api, runtime):
    _setup(api, runtime)
    _add_on(api)
    response = _one_off(api, [{"add_on_code": "setup", "units": "-1"}])
    _assert_refused(api, runtime, response, 422, validation({"units": ["value_is_invalid"]}))
    assert ok(api.get("/customers/cus_1"))["customer"]["currency"] is None
    assert _counts(runtime)["invoices"] == 0
