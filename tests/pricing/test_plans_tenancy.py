"""Another organization's plans, metrics, add-ons, taxes and pricing units do not exist here."""

from __future__ import annotations

from typing import Any

from tests.pricing.helpers import ok, validation
from tests.pricing.plans_support import counts, error, make_catalog, plan_body

STD = {"charge_model": "standard", "properties": {"amount": "1"}}


def test_other_orgs_plan_is_404_everywhere(api: Any, other_api: Any) -> None:
    c = make_catalog(other_api)
    ok(
        other_api.post(
            "/plans", {"plan": plan_body(charges=[{"billable_metric_id": c.metric_id("storage"), **STD}])}
        )
    )
    ok(
        other_api.post(
            "/plans/startup/fixed_charges",
            {"fixed_charge": {"add_on_code": "setup", "charge_model": "standard"}},
        )
    )
    not_found = error(404, "plan_not_found")
    assert api.get("/plans/startup").json() == not_found
    assert api.put("/plans/startup", {"plan": {"name": "x"}}).json() == not_found
    assert api.delete("/plans/startup").json() == not_found
    assert api.get("/plans/startup/charges").json() == not_found
    assert api.get("/plans/startup/charges/storage").json() == not_found
    assert api.get("/plans/startup/charges/storage/filters").json() == not_found
    assert api.get("/plans/startup/fixed_charges/setup").json() == not_found
    assert api.post("/plans/startup/metadata", {"metadata": {"a": "b"}}).json() == not_found
    assert api.delete("/plans/startup/metadata/a").json() == not_found
    assert ok(api.get("/plans"))["plans"] == []
    # The same code is free in this organization.
    ok(api.post("/plans", {"plan": plan_body()}))
    assert ok(other_api.get("/plans/startup"))["plan"]["charges"][0]["code"] == "storage"


def test_other_orgs_metric_add_on_tax_and_unit_are_unknown(api: Any, other_api: Any, runtime: Any) -> None:
    theirs = make_catalog(other_api)
    make_catalog(api)
    ok(api.post("/plans", {"plan": plan_body()}))
    before = counts(runtime)
    charge = {"billable_metric_id": theirs.metric_id("storage"), **STD}
    r = api.post("/plans", {"plan": plan_body(code="p2", charges=[charge])})
    assert r.json() == error(404, "billable_metrics_not_found")
    assert api.post("/plans/startup/charges", {"charge": charge}).json() == error(
        404, "billable_metric_not_found"
    )
    fixed = {"add_on_id": theirs.add_on["lago_id"], "charge_model": "standard"}
    r = api.post("/plans", {"plan": plan_body(code="p2", fixed_charges=[fixed])})
    assert r.json() == error(404, "add_ons_not_found")
    assert api.post("/plans/startup/fixed_charges", {"fixed_charge": fixed}).json() == error(
        404, "add_on_not_found"
    )
    assert counts(runtime) == before


def test_other_orgs_tax_and_pricing_unit(api: Any, other_api: Any, runtime: Any) -> None:
    theirs = make_catalog(other_api)
    ok(other_api.post("/taxes", {"tax": {"name": "GST", "code": "gst", "rate": "5"}}))
    ok(
        other_api.post(
            "/pricing_units", {"pricing_unit": {"name": "Gold", "code": "gold", "short_name": "G"}}
        )
    )
    ours = make_catalog(api)
    before = counts(runtime)
    assert api.post("/plans", {"plan": plan_body(tax_codes=["gst"])}).json() == error(404, "tax_not_found")
    charge = {"billable_metric_id": ours.metric_id("storage"), **STD}
    r = api.post(
        "/plans",
        {
            "plan": plan_body(
                charges=[{**charge, "applied_pricing_unit": {"code": "gold", "conversion_rate": "1"}}]
            )
        },
    )
    assert r.json() == validation({"pricing_unit": ["relation_must_exist"]})
    assert counts(runtime) == before
    assert api.get("/pricing_units/gold").json() == error(404, "pricing_unit_not_found")
    assert theirs.credits["code"] == "credits"
