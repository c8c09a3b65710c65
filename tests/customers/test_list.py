"""GET /customers: filters, search, ordering, pagination meta and filter errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from billow.core.currencies import COUNTRY_CODES, CURRENCY_CODES
from tests.customers.helpers import bare_customer

CUSTOMERS = [
    {"external_id": "alpha", "name": "Alpha Corp", "customer_type": "company", "country": "US", "state": "CA",
     "zipcode": "94016", "currency": "USD", "tax_identification_number": "US1",
     "metadata": [{"key": "tier", "value": "gold"}, {"key": "synced", "value": "yes"}]},
    {"external_id": "bravo", "firstname": "Bruce", "lastname": "Wayne", "customer_type": "individual",
     "country": "FR", "state": "Paris", "zipcode": "75001", "currency": "EUR", "account_type": "partner",
     "metadata": [{"key": "tier", "value": "gold"}]},
    {"external_id": "charlie", "legal_name": "Charlie_100% Ltd", "email": "ops@charlie.test", "country": "FR",
     "zipcode": "69001", "metadata": [{"key": "tier", "value": "silver"}]},
    {"external_id": "delta", "name": "Other"},
]  # fmt: skip


@pytest.fixture
def seeded(api, runtime):
    for i, customer in enumerate(CUSTOMERS):
        runtime.clock.set(datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=i))
        r = api.post("/customers", {"customer": customer})
        assert r.status_code == 200, r.text


def _ids(api, **params):
    r = api.get("/customers", **params)
    assert r.status_code == 200, r.text
    return [c["external_id"] for c in r.json()["customers"]]


def test_newest_first_with_meta(api, seeded):
    r = api.get("/customers")
    assert [c["external_id"] for c in r.json()["customers"]] == ["delta", "charlie", "bravo", "alpha"]
    assert r.json()["meta"] == {
        "current_page": 1,
        "next_page": None,
        "prev_page": None,
        "total_pages": 1,
        "total_count": 4,
    }


def test_pagination(api, seeded):
    r = api.get("/customers", page=2, per_page=3)
    assert [c["external_id"] for c in r.json()["customers"]] == ["alpha"]
    assert r.json()["meta"] == {
        "current_page": 2,
        "next_page": None,
        "prev_page": 1,
        "total_pages": 2,
        "total_count": 4,
    }
    r = api.get("/customers", per_page=1)
    assert r.json()["meta"] == {
        "current_page": 1,
        "next_page": 2,
        "prev_page": None,
        "total_pages": 4,
        "total_count": 4,
    }


def test_empty_list_meta(api):
    r = api.get("/customers")
    assert r.json() == {
        "customers": [],
        "meta": {"current_page": 0, "next_page": None, "prev_page": None, "total_pages": 0, "total_count": 0},
    }


def test_deleted_customers_are_not_listed(api, seeded):
    assert api.delete("/customers/bravo").status_code == 200
    assert _ids(api) == ["delta", "charlie", "alpha"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"search_term": "corp"}, ["alpha"]),
        ({"search_term": "WAYNE"}, ["bravo"]),
        ({"search_term": "bru"}, ["bravo"]),
        ({"search_term": "100%"}, ["charlie"]),
        ({"search_term": "e_1"}, ["charlie"]),
        ({"search_term": "%"}, ["charlie"]),
        ({"search_term": "charlie.test"}, ["charlie"]),
        ({"search_term": "a"}, ["delta", "charlie", "bravo", "alpha"]),
        ({"search_term": "  "}, ["delta", "charlie", "bravo", "alpha"]),
        ({"external_id": "bravo", "search_term": "corp"}, ["bravo"]),
        ({"account_type[]": ["partner"]}, ["bravo"]),
        ({"account_type[]": ["customer", "partner"]}, ["delta", "charlie", "bravo", "alpha"]),
        ({"billing_entity_codes[]": ["acme"]}, ["delta", "charlie", "bravo", "alpha"]),
        ({"countries[]": ["FR"]}, ["charlie", "bravo"]),
        ({"countries[]": ["FR"], "zipcodes[]": ["75001", "94016"]}, ["bravo"]),
        ({"states[]": ["CA", "Paris"]}, ["bravo", "alpha"]),
        ({"currencies[]": ["EUR", "USD"]}, ["bravo", "alpha"]),
        ({"has_tax_identification_number": "true"}, ["alpha"]),
        ({"has_tax_identification_number": "false"}, ["delta", "charlie", "bravo"]),
        ({"customer_type": "individual"}, ["bravo"]),
        ({"has_customer_type": "true"}, ["bravo", "alpha"]),
        ({"has_customer_type": "false"}, ["delta", "charlie"]),
        ({"has_customer_type": "true", "customer_type": "company"}, ["alpha"]),
        ({"metadata[tier]": "gold"}, ["bravo", "alpha"]),
        ({"metadata[tier]": "gold", "metadata[synced]": "yes"}, ["alpha"]),
        ({"metadata[synced]": ""}, ["delta", "charlie", "bravo"]),
        ({"metadata[tier]": "gold", "metadata[synced]": ""}, ["bravo"]),
        ({"metadata[tier]": "bronze"}, []),
    ],
)
def test_filters(api, seeded, params, expected):
    assert _ids(api, **params) == expected


def _errors(api, **params):
    r = api.get("/customers", **params)
    assert r.status_code == 422, r.text
    body = r.json()
    assert (body["status"], body["error"], body["code"]) == (422, "Unprocessable Entity", "validation_errors")
    return body["error_details"]


def test_filter_value_errors(api):
    assert _errors(api, **{"account_type[]": ["customer", "vendor"]}) == {
        "account_type": {"1": ["must be one of: customer, partner"]}
    }
    assert _errors(api, **{"countries[]": ["fr"]}) == {
        "countries": {"0": ["must be one of: " + ", ".join(sorted(COUNTRY_CODES))]}
    }
    assert _errors(api, **{"currencies[]": ["EUR", "EURO"]}) == {
        "currencies": {"1": ["must be one of: " + ", ".join(sorted(CURRENCY_CODES))]}
    }
    assert _errors(api, has_tax_identification_number="1") == {
        "has_tax_identification_number": ["must be one of: true, false"]
    }
    assert _errors(api, has_customer_type="yes") == {"has_customer_type": ["must be one of: true, false"]}
    assert _errors(api, customer_type="robot") == {"customer_type": ["must be one of: company, individual"]}
    assert _errors(api, customer_type="company", has_customer_type="false") == {
        "customer_type": ["must be nil when has_customer_type is false"]
    }
    assert _errors(api, **{"metadata[tier][]": "gold"}) == {"metadata": {"tier": ["must be a string"]}}


def test_unknown_billing_entity_code_filter_is_404(api, seeded):
    r = api.get("/customers", **{"billing_entity_codes[]": ["acme", "nope"]})
    assert (r.status_code, r.json()) == (
        404,
        {"status": 404, "error": "Not Found", "code": "billing_entity_not_found"},
    )


def test_list_is_scoped_to_the_organization(api, other_api, seeded):
    assert other_api.post("/customers", {"customer": {"external_id": "alpha"}}).status_code == 200
    assert _ids(other_api) == ["alpha"]
    assert _ids(api) == ["delta", "charlie", "bravo", "alpha"]
    r = other_api.get("/customers", **{"billing_entity_codes[]": ["acme"]})
    assert r.status_code == 404


def test_list_item_is_lagos_index_shape(api, org):
    created = api.post("/customers", {"customer": {"external_id": "cus_1"}}).json()["customer"]
    [item] = api.get("/customers").json()["customers"]
    # Lago's index adds taxes and integration_customers, not custom sections or error details.
    expected = bare_customer(created["lago_id"], org)
    del expected["applicable_invoice_custom_sections"], expected["error_details"]
    assert item == expected
    assert list(item) == list(expected)
