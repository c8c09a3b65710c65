"""A plan with one charge of every model, filters, a pricing unit, a fixed charge, a minimum
commitment and two usage thresholds: created, read back, updated, deleted — exact JSON, and each
``plan.*`` webhook queued exactly once with the serializer's payload."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.pricing.helpers import ok, validation
from tests.pricing.plans_support import (
    T0,
    Catalog,
    add_endpoint,
    base_json,
    charge_json,
    counts,
    error,
    make_catalog,
    plan_body,
    webhook_plan,
    webhooks,
)
from tests.support.openapi import assert_matches_webhook, assert_response_matches_openapi

GRADUATED = {
    "graduated_ranges": [
        {"from_value": 0, "to_value": 10, "per_unit_amount": "1", "flat_amount": "0"},
        {"from_value": 11, "to_value": None, "per_unit_amount": "0.5", "flat_amount": "10"},
    ]
}
GRADUATED_PERCENTAGE = {
    "graduated_percentage_ranges": [
        {"from_value": 0, "to_value": 100, "rate": "1", "flat_amount": "0"},
        {"from_value": 101, "to_value": None, "rate": "0.5", "flat_amount": "1"},
    ]
}
PACKAGE = {"amount": "10", "free_units": 100, "package_size": 1000}
PERCENTAGE = {
    "rate": "1",
    "fixed_amount": "0.5",
    "free_units_per_events": 5,
    "free_units_per_total_aggregation": "500",
    "per_transaction_min_amount": "1.75",
    "per_transaction_max_amount": "3.75",
}
VOLUME = {
    "volume_ranges": [
        {"from_value": 0, "to_value": 100, "per_unit_amount": "2", "flat_amount": "1"},
        {"from_value": 101, "to_value": None, "per_unit_amount": "1", "flat_amount": "0"},
    ]
}


def full_body(c: Catalog) -> dict[str, Any]:
    return plan_body(
        invoice_display_name="Startup plan",
        description="For startups",
        interval="yearly",
        trial_period=14.5,
        bill_charges_monthly=True,
        tax_codes=["vat"],
        metadata={"crm_id": "123", "owner": None},
        charges=[
            {
                "billable_metric_id": c.metric_id("api_calls"),
                "charge_model": "standard",
                "invoice_display_name": "API calls",
                "properties": {"amount": "0.5", "unknown": "dropped"},
                "tax_codes": ["vat"],
            },
            {
                "billable_metric_id": c.metric_id("storage"),
                "charge_model": "graduated",
                "min_amount_cents": 1000,
                "properties": GRADUATED,
            },
            {
                "billable_metric_id": c.metric_id("transactions"),
                "charge_model": "graduated_percentage",
                "properties": GRADUATED_PERCENTAGE,
            },
            {
                "billable_metric_id": c.metric_id("api_calls"),
                "charge_model": "package",
                "properties": PACKAGE,
                "applied_pricing_unit": {"code": "credits", "conversion_rate": "0.5"},
            },
            {
                "billable_metric_id": c.metric_id("transactions"),
                "charge_model": "percentage",
                "pay_in_advance": True,
                "invoiceable": False,
                "regroup_paid_fees": "invoice",
                "properties": PERCENTAGE,
            },
            {
                "billable_metric_id": c.metric_id("seats"),
                "charge_model": "volume",
                "prorated": True,
                "properties": VOLUME,
            },
            {"billable_metric_id": c.metric_id("transactions"), "charge_model": "dynamic"},
            {
                "billable_metric_id": c.metric_id("storage"),
                "code": "storage_by_region",
                "charge_model": "standard",
                "properties": {"amount": "1", "grouped_by": ["cluster"]},
                "filters": [
                    {
                        "invoice_display_name": "EU gold",
                        "properties": {"amount": "3", "presentation_group_keys": [{"value": "x"}]},
                        "values": {"region": ["eu"], "tier": ["gold"]},
                    },
                    {"properties": {"amount": "2"}, "values": {"region": ["__ALL_FILTER_VALUES__"]}},
                ],
            },
        ],
        fixed_charges=[
            {
                "add_on_id": c.add_on["lago_id"],
                "charge_model": "standard",
                "invoice_display_name": "Setup",
                "units": "2.5",
                "pay_in_advance": True,
                "properties": {"amount": "500"},
                "tax_codes": ["vat"],
            }
        ],
        minimum_commitment={
            "amount_cents": 100000,
            "invoice_display_name": "Commitment",
            "tax_codes": ["vat"],
        },
        usage_thresholds=[
            {"amount_cents": 10000, "threshold_display_name": "T1"},
            {"amount_cents": 5000, "threshold_display_name": "Every 50", "recurring": True},
        ],
    )


def expected_plan(c: Catalog, got: dict[str, Any]) -> dict[str, Any]:
    """The exact payload, with the ids Billow chose taken from ``got``."""
    ch = got["charges"]
    filters = ch[7]["filters"]
    thresholds = got["usage_thresholds"]
    return base_json(
        got["lago_id"],
        invoice_display_name="Startup plan",
        description="For startups",
        interval="yearly",
        trial_period=14.5,
        bill_charges_monthly=True,
        bill_fixed_charges_monthly=False,
        charges=[
            charge_json(
                ch[0],
                c.api_calls,
                "standard",
                {"amount": "0.5"},
                invoice_display_name="API calls",
                taxes=[c.vat],
            ),
            charge_json(ch[1], c.storage, "graduated", GRADUATED, min_amount_cents=1000),
            charge_json(ch[2], c.transactions, "graduated_percentage", GRADUATED_PERCENTAGE),
            charge_json(
                ch[3],
                c.api_calls,
                "package",
                PACKAGE,
                code="api_calls_2",
                applied_pricing_unit={"conversion_rate": "0.5", "code": "credits"},
            ),
            charge_json(
                ch[4],
                c.transactions,
                "percentage",
                PERCENTAGE,
                code="transactions_2",
                pay_in_advance=True,
                invoiceable=False,
                regroup_paid_fees="invoice",
            ),
            charge_json(ch[5], c.seats, "volume", VOLUME, prorated=True),
            charge_json(ch[6], c.transactions, "dynamic", {}, code="transactions_3"),
            charge_json(
                ch[7],
                c.storage,
                "standard",
                {"amount": "1", "pricing_group_keys": ["cluster"], "grouped_by": ["cluster"]},
                code="storage_by_region",
                filters=[
                    {
                        "lago_id": filters[0]["lago_id"],
                        "charge_code": "storage_by_region",
                        "invoice_display_name": "EU gold",
                        "properties": {"amount": "3"},
                        "values": {"region": ["eu"], "tier": ["gold"]},
                    },
                    {
                        "lago_id": filters[1]["lago_id"],
                        "charge_code": "storage_by_region",
                        "invoice_display_name": None,
                        "properties": {"amount": "2"},
                        "values": {"region": ["__ALL_FILTER_VALUES__"]},
                    },
                ],
            ),
        ],
        fixed_charges=[
            {
                "lago_id": got["fixed_charges"][0]["lago_id"],
                "lago_add_on_id": c.add_on["lago_id"],
                "code": "setup",
                "invoice_display_name": "Setup",
                "add_on_code": "setup",
                "created_at": T0,
                "charge_model": "standard",
                "pay_in_advance": True,
                "prorated": False,
                "properties": {"amount": "500"},
                "units": "2.5",
                "lago_parent_id": None,
                "taxes": [c.vat],
            }
        ],
        usage_thresholds=[
            {
                "lago_id": thresholds[0]["lago_id"],
                "threshold_display_name": "Every 50",
                "amount_cents": 5000,
                "recurring": True,
                "created_at": T0,
                "updated_at": T0,
            },
            {
                "lago_id": thresholds[1]["lago_id"],
                "threshold_display_name": "T1",
                "amount_cents": 10000,
                "recurring": False,
                "created_at": T0,
                "updated_at": T0,
            },
        ],
        applicable_usage_thresholds=[
            {"threshold_display_name": "Every 50", "amount_cents": 5000, "recurring": True},
            {"threshold_display_name": "T1", "amount_cents": 10000, "recurring": False},
        ],
        taxes=[c.vat],
        minimum_commitment={
            "lago_id": got["minimum_commitment"]["lago_id"],
            "plan_code": "startup",
            "invoice_display_name": "Commitment",
            "amount_cents": 100000,
            "interval": "yearly",
            "created_at": T0,
            "updated_at": T0,
            "taxes": [c.vat],
        },
        metadata={"crm_id": "123", "owner": None},
    )


def test_full_plan_lifecycle(api: Any, runtime: Any) -> None:
    c = make_catalog(api)
    add_endpoint(api)
    before = counts(runtime)

    created = ok(api.post("/plans", {"plan": full_body(c)}))["plan"]
    expected = expected_plan(c, created)
    assert created == expected
    after = counts(runtime)
    assert {k: after[k] - before[k] for k in after} == {
        "plans": 1,
        "charges": 8,
        "charge_filters": 2,
        "fixed_charges": 1,
        "usage_thresholds": 2,
        "commitments": 1,
        "plan_item_taxes": 4,
        "jobs": 1,
        "webhooks": 1,
    }
    hooks = webhooks(runtime, "plan.created")
    assert len(hooks) == 1
    assert hooks[0] == {
        "webhook_type": "plan.created",
        "object_type": "plan",
        "organization_id": hooks[0]["organization_id"],
        "plan": webhook_plan(expected),
    }
    assert_matches_webhook("plan.created", hooks[0])

    # Read back: identical, alone and in the index (which has no fixed charges).
    assert ok(api.get("/plans/startup")) == {"plan": expected}
    index = ok(api.get("/plans"))
    assert index["plans"] == [{k: v for k, v in expected.items() if k != "fixed_charges"}]
    assert index["meta"] == {
        "current_page": 1,
        "next_page": None,
        "prev_page": None,
        "total_pages": 1,
        "total_count": 1,
    }

    # Update: the dynamic charge goes, a standard one comes, the graduated one changes.
    charges = full_body(c)["charges"]
    sent = [dict(raw, id=got["lago_id"]) for raw, got in zip(charges, created["charges"], strict=True)]
    sent[1] = dict(
        sent[1],
        invoice_display_name="Storage",
        properties={"graduated_ranges": [GRADUATED["graduated_ranges"][1] | {"from_value": 0}]},
    )
    del sent[6]
    sent.append(
        {
            "billable_metric_id": c.metric_id("seats"),
            "charge_model": "standard",
            "properties": {"amount": "4"},
        }
    )
    r = api.put("/plans/startup", {"plan": {"name": "Startup v2", "amount_cents": 12000, "charges": sent}})
    updated = ok(r)["plan"]
    new_charge = updated["charges"][-1]
    graduated = {
        "graduated_ranges": [
            {"from_value": 0, "to_value": None, "per_unit_amount": "0.5", "flat_amount": "10"}
        ]
    }
    expected_update = dict(
        expected,
        name="Startup v2",
        amount_cents=12000,
        charges=[
            *expected["charges"][:1],
            dict(
                expected["charges"][1],
                invoice_display_name="Storage",
                properties=graduated,
                min_amount_cents=1000,
            ),
            *expected["charges"][2:6],
            expected["charges"][7],
            charge_json(new_charge, c.seats, "standard", {"amount": "4"}, code="seats_2"),
        ],
    )
    assert updated == expected_update
    assert ok(api.get("/plans/startup")) == {"plan": expected_update}
    hooks = webhooks(runtime, "plan.updated")
    assert len(hooks) == 1 and hooks[0]["plan"] == webhook_plan(expected_update)
    assert counts(runtime)["charges"] == after["charges"] + 1  # soft-deleted rows stay

    # Delete: pending deletion and plan.deleted now, soft delete by the queued job.
    r = api.delete("/plans/startup")
    deleted = dict(expected_update, pending_deletion=True)
    assert ok(r) == {"plan": deleted}
    hooks = webhooks(runtime, "plan.deleted")
    assert len(hooks) == 1 and hooks[0]["plan"] == webhook_plan(deleted, deleted=True)
    assert_matches_webhook("plan.deleted", hooks[0])
    assert ok(api.get("/plans/startup"))["plan"]["pending_deletion"] is True
    runtime.worker.drain()
    assert api.get("/plans/startup").json() == error(404, "plan_not_found")
    assert ok(api.get("/plans"))["plans"] == []
    # The code is free again.
    ok(api.post("/plans", {"plan": plan_body()}))


def test_minimal_plan_defaults(api: Any, runtime: Any) -> None:
    created = ok(api.post("/plans", {"plan": plan_body(pay_in_advance="true", amount_cents="0")}))["plan"]
    expected = base_json(created["lago_id"], pay_in_advance=True, amount_cents=0)
    assert created == expected
    assert "metadata" not in created and "minimum_commitment" not in created
    assert counts(runtime)["webhooks"] == 0  # no endpoint, nothing queued


def test_monthly_split_only_for_yearly_and_semiannual(api: Any) -> None:
    p = ok(api.post("/plans", {"plan": plan_body(bill_charges_monthly=True)}))["plan"]
    assert (p["bill_charges_monthly"], p["bill_fixed_charges_monthly"]) == (None, None)
    p = ok(
        api.put("/plans/startup", {"plan": {"interval": "semiannual", "bill_fixed_charges_monthly": True}})
    )["plan"]
    assert (p["bill_charges_monthly"], p["bill_fixed_charges_monthly"]) == (False, True)
    p = ok(api.put("/plans/startup", {"plan": {"name": "Renamed"}}))["plan"]
    assert (p["bill_charges_monthly"], p["bill_fixed_charges_monthly"]) == (False, True)


def test_update_replaces_nested_lists(api: Any, runtime: Any) -> None:
    c = make_catalog(api)
    body = full_body(c)
    created = ok(api.post("/plans", {"plan": body}))["plan"]
    threshold_ids = {t["lago_id"] for t in created["usage_thresholds"]}
    r = api.put(
        "/plans/startup",
        {
            "plan": {
                "charges": [],
                "fixed_charges": [],
                "usage_thresholds": [{"amount_cents": 777}],
                "minimum_commitment": {},
                "tax_codes": [],
                "metadata": None,
            }
        },
    )
    got = ok(r)["plan"]
    assert got["charges"] == [] and got["fixed_charges"] == [] and got["taxes"] == []
    assert "minimum_commitment" not in got and "metadata" not in got
    assert [(t["amount_cents"], t["recurring"]) for t in got["usage_thresholds"]] == [(777, False)]
    assert threshold_ids.isdisjoint({t["lago_id"] for t in got["usage_thresholds"]})
    assert counts(runtime)["commitments"] == 0


def test_update_matches_charges_by_code_without_id(api: Any) -> None:
    c = make_catalog(api)
    created = ok(
        api.post(
            "/plans",
            {
                "plan": plan_body(
                    charges=[{"billable_metric_id": c.metric_id("seats"), "charge_model": "standard"}]
                )
            },
        )
    )["plan"]
    charge = created["charges"][0]
    raw = {
        "billable_metric_id": c.metric_id("seats"),
        "code": "seats",
        "charge_model": "standard",
        "properties": {"amount": "9"},
    }
    got = ok(api.put("/plans/startup", {"plan": {"charges": [raw]}}))["plan"]["charges"]
    assert [(x["lago_id"], x["properties"]) for x in got] == [(charge["lago_id"], {"amount": "9"})]


def test_update_commitment_fields_and_taxes(api: Any) -> None:
    c = make_catalog(api)
    ok(api.post("/plans", {"plan": plan_body(minimum_commitment={"amount_cents": 500})}))
    got = ok(
        api.put(
            "/plans/startup",
            {"plan": {"minimum_commitment": {"invoice_display_name": "Min", "tax_codes": ["vat"]}}},
        )
    )
    commitment = got["plan"]["minimum_commitment"]
    assert (commitment["amount_cents"], commitment["invoice_display_name"], commitment["taxes"]) == (
        500,
        "Min",
        [c.vat],
    )
    r = api.put("/plans/startup", {"plan": {"minimum_commitment": {"amount_cents": 0}}})
    assert r.json() == validation({"amount_cents": ["value_is_out_of_range"]})


def test_list_is_newest_first_and_paginated(api: Any, runtime: Any) -> None:
    for hour, code in enumerate(("a", "b", "c")):
        runtime.clock.set(datetime(2024, 1, 1, hour, tzinfo=UTC))
        ok(api.post("/plans", {"plan": plan_body(code=code)}))
    body = ok(api.get("/plans", per_page=2))
    assert [p["code"] for p in body["plans"]] == ["c", "b"]
    assert body["meta"] == {
        "current_page": 1,
        "next_page": 2,
        "prev_page": None,
        "total_pages": 2,
        "total_count": 3,
    }
    assert [p["code"] for p in ok(api.get("/plans", page=2, per_page=2))["plans"]] == ["a"]


def test_deleting_twice_before_the_job_and_404_after(api: Any, runtime: Any) -> None:
    ok(api.post("/plans", {"plan": plan_body()}))
    add_endpoint(api)
    ok(api.delete("/plans/startup"))
    runtime.worker.drain()
    assert api.delete("/plans/startup").json() == error(404, "plan_not_found")
    assert len(webhooks(runtime, "plan.deleted")) == 1


def test_payloads_match_lago_openapi(api: Any) -> None:
    """Lago's document, except fixed charge ``units``: Lago's serializer sends the decimal as a
    string (``"2.5"``, as its own specs assert) where the document says number."""
    c = make_catalog(api)
    body = full_body(c)
    body.pop("fixed_charges")
    assert_response_matches_openapi(ok_response(api.post("/plans", {"plan": body})), "/plans")
    assert_response_matches_openapi(ok_response(api.get("/plans")), "/plans")
    assert_response_matches_openapi(ok_response(api.get("/plans/startup")), "/plans/{code}")
    path = "/plans/{code}/charges/{charge_code}"
    assert_response_matches_openapi(ok_response(api.get("/plans/startup/charges/storage_by_region")), path)
    assert_response_matches_openapi(ok_response(api.get("/plans/startup/charges")), "/plans/{code}/charges")
    filters = ok_response(api.get("/plans/startup/charges/storage_by_region/filters"))
    assert_response_matches_openapi(filters, "/plans/{code}/charges/{charge_code}/filters")


def ok_response(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response
