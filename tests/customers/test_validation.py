"""Refused inputs: Lago's error bodies, and nothing stored, no webhook, no job."""

from __future__ import annotations

import pytest

from tests.customers.helpers import add_endpoint, counts


@pytest.fixture
def armed(api, runtime):
    """An organization with a webhook endpoint and one customer, so any stray write would show."""
    add_endpoint(api)
    r = api.post(
        "/customers", {"customer": {"external_id": "existing", "metadata": [{"key": "k", "value": "v"}]}}
    )
    assert r.status_code == 200, r.text
    return counts(runtime)


def _unprocessable(details):
    return {
        "status": 422,
        "error": "Unprocessable Entity",
        "code": "validation_errors",
        "error_details": details,
    }


def _refused(api, runtime, armed, payload, status, body):
    r = api.post("/customers", payload)
    assert (r.status_code, r.json()) == (status, body)
    assert counts(runtime) == armed


def test_bad_json_is_400(api, runtime, armed):
    r = api.raw("POST", "/customers", b'{"customer": {"external_id": ', {"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["status"] == 400
    assert r.json()["error"].startswith("BadRequest: ")
    assert counts(runtime) == armed


@pytest.mark.parametrize(
    "payload", [{}, {"customer": {}}, {"customer": None}, {"other": {"external_id": "x"}}, []]
)
def test_missing_root_is_400(api, runtime, armed, payload):
    body = {"status": 400, "error": "BadRequest: param is missing or the value is empty or invalid: customer"}
    _refused(api, runtime, armed, payload, 400, body)


@pytest.mark.parametrize(
    ("fields", "details"),
    [
        ({"external_id": "n", "net_payment_term": "abc"}, {"net_payment_term": ["value_is_invalid"]}),
        ({"external_id": "n", "name": {"first": "x"}}, {"name": ["invalid_type"]}),
        ({"external_id": ["n"]}, {"external_id": ["invalid_type"]}),
        ({"external_id": "n", "metadata": "po=1"}, {"metadata": ["invalid_type"]}),
        (
            {"external_id": "n", "metadata": [{"key": ["k"], "value": "v"}]},
            {"metadata:key": ["invalid_type"]},
        ),
        ({"external_id": "n", "billing_configuration": "x"}, {"billing_configuration": ["invalid_type"]}),
        (
            {"external_id": "n", "skip_invoice_custom_sections": "yes"},
            {"skip_invoice_custom_sections": ["invalid_type"]},
        ),
        ({"external_id": "n", "tax_codes": "vat"}, {"tax_codes": ["invalid_type"]}),
    ],
)
def test_wrong_types_are_422(api, runtime, armed, fields, details):
    _refused(api, runtime, armed, {"customer": fields}, 422, _unprocessable(details))


def test_customer_not_an_object_is_422(api, runtime, armed):
    _refused(api, runtime, armed, {"customer": "cus_1"}, 422, _unprocessable({"base": ["invalid_type"]}))


@pytest.mark.parametrize(
    ("fields", "details"),
    [
        ({"name": "no id"}, {"external_id": ["value_is_mandatory"]}),
        ({"external_id": ""}, {"external_id": ["value_is_mandatory"]}),
        ({"external_id": "   "}, {"external_id": ["value_is_mandatory"]}),
        ({"external_id": None}, {"external_id": ["value_is_mandatory"]}),
        ({"external_id": "n", "email": "not-an-email"}, {"email": ["invalid_email_format"]}),
        ({"external_id": "n", "email": "a@b.test,"}, {"email": ["invalid_email_format"]}),
        ({"external_id": "n", "timezone": "Mars/Olympus"}, {"timezone": ["invalid_timezone"]}),
        ({"external_id": "n", "timezone": ""}, {"timezone": ["invalid_timezone"]}),
        ({"external_id": "n", "currency": "XXX"}, {"currency": ["value_is_invalid"]}),
        ({"external_id": "n", "currency": "usd"}, {"currency": ["value_is_invalid"]}),
        ({"external_id": "n", "country": "ZZ"}, {"country": ["not_a_valid_country_code"]}),
        (
            {"external_id": "n", "shipping_address": {"country": "XY"}},
            {"shipping_country": ["not_a_valid_country_code"]},
        ),
        ({"external_id": "n", "customer_type": "robot"}, {"customer_type": ["value_is_invalid"]}),
        ({"external_id": "n", "account_type": "vendor"}, {"account_type": ["value_is_invalid"]}),
        ({"external_id": "n", "net_payment_term": -1}, {"net_payment_term": ["value_is_out_of_range"]}),
        (
            {"external_id": "n", "billing_configuration": {"invoice_grace_period": -2}},
            {"invoice_grace_period": ["value_is_out_of_range"]},
        ),
        (
            {"external_id": "n", "billing_configuration": {"document_locale": "xx"}},
            {"document_locale": ["not_a_valid_language_code"]},
        ),
        (
            {
                "external_id": "n",
                "billing_configuration": {"subscription_invoice_issuing_date_anchor": "later"},
            },
            {"subscription_invoice_issuing_date_anchor": ["value_is_invalid"]},
        ),
        (
            {"external_id": "n", "finalize_zero_amount_invoice": "always"},
            {"finalize_zero_amount_invoice": ["invalid_value"]},
        ),
        (
            {"external_id": "n", "metadata": [{"key": f"k{i}", "value": "v"} for i in range(6)]},
            {"metadata": ["invalid_count"]},
        ),
        ({"external_id": "n", "metadata": [{"value": "v"}]}, {"key": ["value_is_mandatory"]}),
        ({"external_id": "n", "metadata": [{"key": "k", "value": ""}]}, {"value": ["value_is_mandatory"]}),
        ({"external_id": "n", "metadata": [{"key": "k" * 21, "value": "v"}]}, {"key": ["value_is_too_long"]}),
        (
            {"external_id": "n", "metadata": [{"key": "k", "value": "v" * 101}]},
            {"value": ["value_is_too_long"]},
        ),
        (
            {"external_id": "n", "metadata": [{"key": "k", "value": "1"}, {"key": "k", "value": "2"}]},
            {"key": ["value_already_exist"]},
        ),
        (
            {
                "external_id": "n",
                "integration_customers": [{"integration_type": "xero"}, {"integration_type": "xero"}],
            },
            {"integration_customers": ["invalid_count_per_integration_type"]},
        ),
        (
            {"external_id": "n", "skip_invoice_custom_sections": True, "invoice_custom_section_codes": ["a"]},
            {"invoice_custom_sections": ["skip_sections_and_selected_ids_sent_together"]},
        ),
        (
            {
                "external_id": "n",
                "billing_configuration": {"payment_provider": "stripe", "sync_with_provider": True},
            },
            {"base": ["payment_provider_not_found"]},
        ),
        (
            {"external_id": "n", "email": "bad", "country": "ZZ", "currency": "ABC", "timezone": "Nope"},
            {
                "country": ["not_a_valid_country_code"],
                "currency": ["value_is_invalid"],
                "timezone": ["invalid_timezone"],
                "email": ["invalid_email_format"],
            },
        ),
    ],
)
def test_invalid_values_are_422_and_store_nothing(api, runtime, armed, fields, details):
    _refused(api, runtime, armed, {"customer": fields}, 422, _unprocessable(details))


@pytest.mark.parametrize(
    ("fields", "details"),
    [
        ({"email": "nope"}, {"email": ["invalid_email_format"]}),
        ({"currency": "EURO"}, {"currency": ["value_is_invalid"]}),
        (
            {"metadata": [{"key": "k", "value": "changed"}, {"key": "k", "value": "dup"}]},
            {"key": ["value_already_exist"]},
        ),
    ],
)
def test_invalid_update_changes_nothing(api, runtime, armed, fields, details):
    before = api.get("/customers/existing").json()
    _refused(
        api, runtime, armed, {"customer": {"external_id": "existing", **fields}}, 422, _unprocessable(details)
    )
    assert api.get("/customers/existing").json() == before


def test_unknown_tax_code_is_404(api, runtime, armed):
    body = {"status": 404, "error": "Not Found", "code": "tax_not_found"}
    _refused(api, runtime, armed, {"customer": {"external_id": "n", "tax_codes": ["vat_20"]}}, 404, body)


def test_unknown_billing_entity_code_is_404(api, runtime, armed):
    body = {"status": 404, "error": "Not Found", "code": "billing_entity_not_found"}
    _refused(
        api, runtime, armed, {"customer": {"external_id": "n", "billing_entity_code": "nope"}}, 404, body
    )


def test_other_organizations_billing_entity_is_404(api, other_api, runtime, armed):
    body = {"status": 404, "error": "Not Found", "code": "billing_entity_not_found"}
    _refused(
        api, runtime, armed, {"customer": {"external_id": "n", "billing_entity_code": "globex"}}, 404, body
    )
