"""/add_ons: exact payloads with taxes, Lago's rules and codes, soft delete, tenancy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.pricing.helpers import counts, create_tax, error, ok, validation

SETUP = {
    "name": "Setup fee",
    "invoice_display_name": "Setup (SF1)",
    "code": "setup",
    "amount_cents": 50000,
    "amount_currency": "EUR",
    "description": "Implementation",
}


def embedded_tax(tax: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in tax.items() if k != "applied_to_billing_entities_codes"}


def add_on_json(lago_id: str, taxes: list[dict[str, Any]] | None = None, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "lago_id": lago_id,
        "name": "Setup fee",
        "invoice_display_name": "Setup (SF1)",
        "code": "setup",
        "amount_cents": 50000,
        "amount_currency": "EUR",
        "created_at": "2024-01-01T00:00:00Z",
        "description": "Implementation",
        "taxes": [embedded_tax(t) for t in taxes or []],
    }
    payload.update(overrides)
    return payload


def test_create_with_taxes(api: Any, runtime: Any) -> None:
    vat = create_tax(api, "vat", "20", applied_to_organization=True)
    gst = create_tax(api, "gst", "5")
    body = ok(api.post("/add_ons", {"add_on": {**SETUP, "tax_codes": ["vat", "gst", "vat"]}}))
    assert body == {"add_on": add_on_json(body["add_on"]["lago_id"], [vat, gst])}
    assert body["add_on"]["taxes"][0]["applied_to_organization"] is True
    assert counts(runtime)["add_on_taxes"] == 2


def test_create_minimal(api: Any) -> None:
    body = {"name": "Setup", "code": "setup", "amount_cents": "100", "amount_currency": "USD"}
    created = ok(api.post("/add_ons", {"add_on": body}))["add_on"]
    assert created == add_on_json(
        created["lago_id"],
        name="Setup",
        invoice_display_name=None,
        amount_cents=100,
        amount_currency="USD",
        description=None,
    )


def test_unknown_tax_code_stores_nothing(api: Any, runtime: Any) -> None:
    create_tax(api, "vat")
    before = counts(runtime)
    r = api.post("/add_ons", {"add_on": {**SETUP, "tax_codes": ["vat", "nope"]}})
    assert r.status_code == 404
    assert r.json() == error(404, "tax_not_found")
    assert counts(runtime) == before


def test_field_errors_come_before_unknown_taxes(api: Any, runtime: Any) -> None:
    r = api.post("/add_ons", {"add_on": {"code": "x", "tax_codes": ["nope"]}})
    assert r.json() == validation(
        {
            "name": ["value_is_mandatory"],
            "amount_cents": ["is not a number"],
            "amount_currency": ["value_is_invalid"],
        }
    )
    assert counts(runtime)["add_ons"] == 0


@pytest.mark.parametrize(
    ("changes", "details"),
    [
        ({"amount_cents": 0}, {"amount_cents": ["value_is_out_of_range"]}),
        ({"amount_cents": -5}, {"amount_cents": ["value_is_out_of_range"]}),
        ({"amount_cents": "abc"}, {"amount_cents": ["is not a number"]}),
        ({"amount_cents": 12.5}, {"amount_cents": ["is not a number"]}),
        ({"amount_cents": None}, {"amount_cents": ["is not a number"]}),
        ({"amount_currency": "usd"}, {"amount_currency": ["value_is_invalid"]}),
        ({"amount_currency": None}, {"amount_currency": ["value_is_invalid"]}),
        ({"name": "", "code": " "}, {"name": ["value_is_mandatory"], "code": ["value_is_mandatory"]}),
    ],
)
def test_invalid_fields_store_nothing(
    api: Any, runtime: Any, changes: dict[str, Any], details: dict[str, list[str]]
) -> None:
    r = api.post("/add_ons", {"add_on": {**SETUP, **changes}})
    assert r.status_code == 422
    assert r.json() == validation(details)
    assert counts(runtime)["add_ons"] == 0


def test_duplicate_code(api: Any, runtime: Any) -> None:
    ok(api.post("/add_ons", {"add_on": SETUP}))
    r = api.post("/add_ons", {"add_on": SETUP})
    assert r.json() == validation({"code": ["value_already_exist"]})
    assert counts(runtime)["add_ons"] == 1


def test_get_list_and_pagination(api: Any, runtime: Any) -> None:
    first = ok(api.post("/add_ons", {"add_on": SETUP}))["add_on"]
    runtime.clock.set(datetime(2024, 1, 3, tzinfo=UTC))
    second = ok(api.post("/add_ons", {"add_on": {**SETUP, "code": "training"}}))["add_on"]
    assert ok(api.get("/add_ons/setup")) == {"add_on": first}
    assert ok(api.get("/add_ons")) == {
        "add_ons": [second, first],
        "meta": {"current_page": 1, "next_page": None, "prev_page": None, "total_pages": 1, "total_count": 2},
    }
    assert second["created_at"] == "2024-01-03T00:00:00Z"
    page = ok(api.get("/add_ons", per_page=1))
    assert page["add_ons"] == [second]
    assert page["meta"]["next_page"] == 2


def test_update_partial_and_taxes_replaced(api: Any, runtime: Any) -> None:
    vat = create_tax(api, "vat")
    gst = create_tax(api, "gst", "5")
    created = ok(api.post("/add_ons", {"add_on": {**SETUP, "tax_codes": ["vat"]}}))["add_on"]
    r = api.put("/add_ons/setup", {"add_on": {"amount_cents": 100, "code": "setup2", "tax_codes": ["gst"]}})
    assert ok(r) == {"add_on": add_on_json(created["lago_id"], [gst], amount_cents=100, code="setup2")}
    r = api.put("/add_ons/setup2", {"add_on": {"description": None}})
    assert ok(r)["add_on"] == add_on_json(
        created["lago_id"], [gst], amount_cents=100, code="setup2", description=None
    )
    r = api.put("/add_ons/setup2", {"add_on": {"tax_codes": ["vat", "gst"]}})
    assert ok(r)["add_on"]["taxes"] == [embedded_tax(gst), embedded_tax(vat)]
    r = api.put("/add_ons/setup2", {"add_on": {"tax_codes": []}})
    assert ok(r)["add_on"]["taxes"] == []
    assert counts(runtime)["add_on_taxes"] == 0


def test_update_refusals_store_nothing(api: Any) -> None:
    create_tax(api, "vat")
    created = ok(api.post("/add_ons", {"add_on": {**SETUP, "tax_codes": ["vat"]}}))["add_on"]
    assert api.put("/add_ons/setup", {"add_on": {"amount_cents": 0}}).json() == validation(
        {"amount_cents": ["value_is_out_of_range"]}
    )
    r = api.put("/add_ons/setup", {"add_on": {"name": "New", "tax_codes": ["nope"]}})
    assert r.json() == error(404, "tax_not_found")
    assert ok(api.get("/add_ons/setup"))["add_on"] == created
    assert api.put("/add_ons/nope", {"add_on": {"name": "x"}}).json() == error(404, "add_on_not_found")


def test_delete_is_soft_and_frees_the_code(api: Any, runtime: Any) -> None:
    vat = create_tax(api, "vat")
    created = ok(api.post("/add_ons", {"add_on": {**SETUP, "tax_codes": ["vat"]}}))["add_on"]
    assert ok(api.delete("/add_ons/setup")) == {"add_on": add_on_json(created["lago_id"], [vat])}
    assert api.get("/add_ons/setup").json() == error(404, "add_on_not_found")
    assert api.delete("/add_ons/setup").json() == error(404, "add_on_not_found")
    assert ok(api.get("/add_ons"))["add_ons"] == []
    again = ok(api.post("/add_ons", {"add_on": SETUP}))["add_on"]
    assert again["lago_id"] != created["lago_id"]
    assert counts(runtime)["add_ons"] == 2


def test_a_deleted_tax_leaves_the_add_on(api: Any) -> None:
    create_tax(api, "vat")
    gst = create_tax(api, "gst", "5")
    ok(api.post("/add_ons", {"add_on": {**SETUP, "tax_codes": ["vat", "gst"]}}))
    ok(api.delete("/taxes/vat"))
    assert ok(api.get("/add_ons/setup"))["add_on"]["taxes"] == [embedded_tax(gst)]


def test_another_organizations_add_on_is_not_found(api: Any, other_api: Any) -> None:
    ok(api.post("/add_ons", {"add_on": SETUP}))
    create_tax(api, "vat")
    assert other_api.get("/add_ons/setup").json() == error(404, "add_on_not_found")
    assert other_api.put("/add_ons/setup", {"add_on": {"name": "x"}}).json() == error(404, "add_on_not_found")
    assert other_api.delete("/add_ons/setup").json() == error(404, "add_on_not_found")
    assert ok(other_api.get("/add_ons"))["add_ons"] == []
    r = other_api.post("/add_ons", {"add_on": {**SETUP, "tax_codes": ["vat"]}})
    assert r.json() == error(404, "tax_not_found")
    assert ok(other_api.post("/add_ons", {"add_on": SETUP}))["add_on"]["code"] == "setup"
