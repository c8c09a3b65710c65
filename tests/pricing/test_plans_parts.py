"""A plan's parts one by one: charges, charge filters, fixed charges, metadata; pricing units."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pricing.helpers import ok, validation
from tests.pricing.plans_support import (
    T0,
    Catalog,
    add_endpoint,
    charge_json,
    counts,
    error,
    make_catalog,
    plan_body,
    webhooks,
)


@pytest.fixture
def cat(api: Any) -> Catalog:
    c = make_catalog(api)
    ok(api.post("/plans", {"plan": plan_body()}))
    add_endpoint(api)
    return c


def test_charges_crud(api: Any, runtime: Any, cat: Catalog) -> None:
    before = counts(runtime)
    body = {
        "billable_metric_id": cat.metric_id("storage"),
        "charge_model": "standard",
        "pay_in_advance": True,
        "properties": {"amount": "2"},
        "applied_pricing_unit": {"code": "credits", "conversion_rate": 3},
        "filters": [{"values": {"region": ["eu"]}, "properties": {"amount": "5"}}],
        "tax_codes": ["vat"],
    }
    created = ok(api.post("/plans/startup/charges", {"charge": body}))["charge"]
    filter_id = created["filters"][0]["lago_id"]
    assert created == charge_json(
        created,
        cat.storage,
        "standard",
        {"amount": "2"},
        pay_in_advance=True,
        applied_pricing_unit={"conversion_rate": "3.0", "code": "credits"},
        filters=[
            {
                "lago_id": filter_id,
                "charge_code": "storage",
                "invoice_display_name": None,
                "properties": {"amount": "5"},
                "values": {"region": ["eu"]},
            }
        ],
        taxes=[cat.vat],
    )
    second = ok(api.post("/plans/startup/charges", {"charge": {**body, "filters": [], "tax_codes": []}}))[
        "charge"
    ]
    assert second["code"] == "storage_2"
    assert ok(api.get("/plans/startup/charges/storage")) == {"charge": created}
    listed = ok(api.get("/plans/startup/charges"))
    assert [c["code"] for c in listed["charges"]] == ["storage", "storage_2"]  # same created_at: by id
    assert listed["meta"]["total_count"] == 2

    # PUT replaces: absent properties → defaults, absent display name → null; the rate may change.
    update = {"charge_model": "standard", "applied_pricing_unit": {"conversion_rate": "1.25"}, "filters": []}
    updated = ok(api.put("/plans/startup/charges/storage", {"charge": update}))["charge"]
    assert updated == dict(
        created,
        properties={"amount": "0"},
        applied_pricing_unit={"conversion_rate": "1.25", "code": "credits"},
        filters=[],
    )
    deleted = ok(api.delete("/plans/startup/charges/storage"))["charge"]
    assert deleted == updated
    assert api.get("/plans/startup/charges/storage").json() == error(404, "charge_not_found")
    assert [c["code"] for c in ok(api.get("/plans/startup"))["plan"]["charges"]] == ["storage_2"]
    after = counts(runtime)
    assert (after["charges"] - before["charges"], after["jobs"], after["webhooks"]) == (2, 0, 0)


def test_charge_routes_404(api: Any, cat: Catalog) -> None:
    charge = {"billable_metric_id": cat.metric_id("storage"), "charge_model": "standard"}
    assert api.post("/plans/nope/charges", {"charge": charge}).json() == error(404, "plan_not_found")
    r = api.post("/plans/startup/charges", {"charge": {**charge, "billable_metric_id": "x"}})
    assert r.json() == error(404, "billable_metric_not_found")
    assert api.get("/plans/startup/charges/nope").json() == error(404, "charge_not_found")
    assert api.put("/plans/startup/charges/nope", {"charge": charge}).json() == error(404, "charge_not_found")
    assert api.delete("/plans/startup/charges/nope").json() == error(404, "charge_not_found")
    r = api.post("/plans/startup/charges", {"other": {}})
    assert r.json() == {
        "status": 400,
        "error": "BadRequest: param is missing or the value is empty or invalid: charge",
    }


def test_filters_crud(api: Any, runtime: Any, cat: Catalog) -> None:
    charge = {"billable_metric_id": cat.metric_id("storage"), "charge_model": "standard"}
    ok(api.post("/plans/startup/charges", {"charge": charge}))
    base = "/plans/startup/charges/storage/filters"
    body = {
        "invoice_display_name": "EU",
        "properties": {"amount": "3"},
        "values": {"region": ["eu"], "tier": ["gold"]},
    }
    created = ok(api.post(base, {"filter": body}))["filter"]
    assert created == {
        "lago_id": created["lago_id"],
        "charge_code": "storage",
        "invoice_display_name": "EU",
        "properties": {"amount": "3"},
        "values": {"region": ["eu"], "tier": ["gold"]},
    }
    second = ok(api.post(base, {"filter": {"properties": {"amount": "1"}, "values": {"region": ["us"]}}}))[
        "filter"
    ]
    assert ok(api.get(f"{base}/{created['lago_id']}")) == {"filter": created}
    listed = ok(api.get(base))
    assert listed["filters"] == [created, second] and listed["meta"]["total_count"] == 2
    # Only the display name and properties change; values are fixed.
    r = api.put(
        f"{base}/{created['lago_id']}",
        {"filter": {"properties": {"amount": "4"}, "values": {"region": ["us"]}}},
    )
    assert ok(r)["filter"] == dict(created, properties={"amount": "4"})
    r = api.put(f"{base}/{created['lago_id']}", {"filter": {"properties": {"amount": 4}}})
    assert r.json() == validation({"properties": ["invalid_amount"]})
    assert ok(api.delete(f"{base}/{second['lago_id']}"))["filter"] == second
    assert api.get(f"{base}/{second['lago_id']}").json() == error(404, "charge_filter_not_found")
    assert api.get(f"{base}/not-a-uuid").json() == error(404, "charge_filter_not_found")
    assert api.get("/plans/startup/charges/nope/filters").json() == error(404, "charge_not_found")
    assert ok(api.get("/plans/startup"))["plan"]["charges"][0]["filters"] == [
        dict(created, properties={"amount": "4"})
    ]
    assert counts(runtime)["webhooks"] == 0


def test_plan_update_keeps_filters_with_the_same_values(api: Any, cat: Catalog) -> None:
    filters = [
        {"properties": {"amount": "1"}, "values": {"region": ["eu"]}},
        {"properties": {"amount": "2"}, "values": {"region": ["us"]}},
    ]
    charge = {"billable_metric_id": cat.metric_id("storage"), "charge_model": "standard", "filters": filters}
    created = ok(api.post("/plans/startup/charges", {"charge": charge}))["charge"]
    ids = [f["lago_id"] for f in created["filters"]]
    new_filters = [
        {"invoice_display_name": "US", "properties": {"amount": "9"}, "values": {"region": ["us"]}},
        {"properties": {"amount": "3"}, "values": {"tier": ["gold"]}},
    ]
    got = ok(api.put("/plans/startup/charges/storage", {"charge": {**charge, "filters": new_filters}}))[
        "charge"
    ]
    assert [(f["lago_id"] == ids[1], f["invoice_display_name"], f["properties"]) for f in got["filters"]] == [
        (True, "US", {"amount": "9"}),
        (False, None, {"amount": "3"}),
    ]


def test_fixed_charges_crud(api: Any, runtime: Any, cat: Catalog) -> None:
    base = "/plans/startup/fixed_charges"
    body = {"add_on_code": "setup", "charge_model": "volume", "units": 3, "tax_codes": ["vat"]}
    created = ok(api.post(base, {"fixed_charge": body}))["fixed_charge"]
    assert created == {
        "lago_id": created["lago_id"],
        "lago_add_on_id": cat.add_on["lago_id"],
        "code": "setup",
        "invoice_display_name": "Setup",  # unset: the add-on's name (the client requires a string)
        "add_on_code": "setup",
        "created_at": T0,
        "charge_model": "volume",
        "pay_in_advance": False,
        "prorated": False,
        "properties": {
            "volume_ranges": [{"from_value": 0, "to_value": None, "per_unit_amount": "0", "flat_amount": "0"}]
        },
        "units": "3.0",
        "lago_parent_id": None,
        "taxes": [cat.vat],
    }
    second = ok(
        api.post(base, {"fixed_charge": {"add_on_id": cat.add_on["lago_id"], "charge_model": "standard"}})
    )
    assert second["fixed_charge"]["code"] == "setup_2" and second["fixed_charge"]["units"] == "0.0"
    assert ok(api.get(f"{base}/setup")) == {"fixed_charge": created}
    assert [f["code"] for f in ok(api.get(base))["fixed_charges"]] == ["setup", "setup_2"]
    r = api.put(
        f"{base}/setup",
        {"fixed_charge": {"charge_model": "standard", "units": "1.5", "pay_in_advance": True}},
    )
    updated = ok(r)["fixed_charge"]
    assert updated == dict(created, charge_model="standard", properties={"amount": "0"}, units="1.5")
    r = api.put(f"{base}/setup", {"fixed_charge": {"charge_model": "standard"}})
    assert r.json() == validation({"units": ["is not a number"]})
    assert ok(api.delete(f"{base}/setup"))["fixed_charge"] == updated
    assert api.get(f"{base}/setup").json() == error(404, "fixed_charge_not_found")
    r = api.post(base, {"fixed_charge": {"add_on_code": "nope", "charge_model": "standard"}})
    assert r.json() == error(404, "add_on_not_found")
    assert counts(runtime)["webhooks"] == 0


def test_metadata_routes(api: Any, runtime: Any, cat: Catalog) -> None:
    base = "/plans/startup/metadata"
    assert ok(api.post(base, {"metadata": {"a": "1", "b": None}})) == {"metadata": {"a": "1", "b": None}}
    assert ok(
        api.client.patch("/api/v1" + base, headers=api.headers, json={"metadata": {"b": "2", "c": "3"}})
    ) == {"metadata": {"a": "1", "b": "2", "c": "3"}}
    assert ok(api.put(base, {"metadata": {"d": "4"}})) == {
        "metadata": {"a": "1", "b": "2", "c": "3", "d": "4"}
    }
    assert ok(api.post(base, {"metadata": {"z": "26"}})) == {"metadata": {"z": "26"}}
    assert ok(api.get("/plans/startup"))["plan"]["metadata"] == {"z": "26"}
    assert ok(api.delete(f"{base}/z")) == {"metadata": {}}
    assert ok(api.delete(f"{base}/missing")) == {"metadata": {}}
    assert ok(api.delete(base)) == {"metadata": None}
    assert "metadata" not in ok(api.get("/plans/startup"))["plan"]
    assert api.delete(f"{base}/z").json() == error(404, "metadata_not_found")
    r = api.post(base, {"metadata": {"k" * 101: "v"}})
    assert r.json() == validation({"value": [f"key '{'k' * 101}' must be a String up to 100 characters"]})
    assert api.post("/plans/nope/metadata", {"metadata": {}}).json() == error(404, "plan_not_found")
    # POST, PATCH, PUT, DELETE went through the plan update: one plan.updated each (not the key deletes).
    assert len(webhooks(runtime, "plan.updated")) == 5


def test_pricing_units_crud(api: Any, runtime: Any, cat: Catalog) -> None:
    r = api.post(
        "/pricing_units",
        {"pricing_unit": {"code": "credits", "short_name": "LONG", "description": "d" * 601}},
    )
    assert r.json() == validation(
        {
            "name": ["value_is_mandatory"],
            "code": ["value_already_exist"],
            "description": ["value_is_too_long"],
            "short_name": ["value_is_too_long"],
        }
    )
    body = {"name": "Tokens", "code": "tokens", "short_name": "TK", "description": "AI tokens"}
    created = ok(api.post("/pricing_units", {"pricing_unit": body}))["pricing_unit"]
    assert created == {"lago_id": created["lago_id"], **body, "created_at": T0}
    assert [u["code"] for u in ok(api.get("/pricing_units"))["pricing_units"]] == ["credits", "tokens"]
    r = api.put(
        "/pricing_units/tokens", {"pricing_unit": {"name": "Tok", "code": "ignored", "short_name": ""}}
    )
    assert r.json() == validation({"short_name": ["value_is_mandatory"]})
    updated = ok(api.put("/pricing_units/tokens", {"pricing_unit": {"name": "Tok", "code": "ignored"}}))
    assert updated == {"pricing_unit": dict(created, name="Tok")}
    assert ok(api.get("/pricing_units/tokens")) == updated
    charge = {
        "billable_metric_id": cat.metric_id("storage"),
        "charge_model": "standard",
        "applied_pricing_unit": {"code": "tokens", "conversion_rate": "2"},
    }
    ok(api.post("/plans/startup/charges", {"charge": charge}))
    assert api.delete("/pricing_units/tokens").json() == error(405, "attached_to_charges")
    ok(api.delete("/plans/startup/charges/storage"))
    assert ok(api.delete("/pricing_units/tokens")) == updated
    assert api.get("/pricing_units/tokens").json() == error(404, "pricing_unit_not_found")
