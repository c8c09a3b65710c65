"""``clone_plan_with_overrides`` (billing.md §1 plan_overrides), the lookups subscriptions use,
and ``cascade_updates`` reaching child plans."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest

from billow.core.errors import Forbidden, NotFound, ValidationFailed
from billow.db.context import Ctx
from billow.jobs.registry import JobRegistry
from billow.pricing.plans.jobs import plan_job_kinds
from billow.pricing.plans.lookup import (
    applicable_usage_thresholds,
    charges_for_plan,
    find_plan_by_code,
    fixed_charges_for_plan,
    get_plan,
)
from billow.pricing.plans.overrides import clone_plan_with_overrides
from billow.pricing.plans.serializers import plan_payload
from billow.runtime import Runtime
from tests.pricing.helpers import ok
from tests.pricing.plans_support import T0, Catalog, counts, make_catalog, plan_body

GRADUATED = {
    "graduated_ranges": [
        {"from_value": 0, "to_value": 10, "per_unit_amount": "1", "flat_amount": "0"},
        {"from_value": 11, "to_value": None, "per_unit_amount": "0.5", "flat_amount": "0"},
    ]
}


def make_parent(api: Any, c: Catalog) -> dict[str, Any]:
    body = plan_body(
        trial_period=7,
        tax_codes=["vat"],
        charges=[
            {
                "billable_metric_id": c.metric_id("storage"),
                "charge_model": "standard",
                "properties": {"amount": "1"},
                "filters": [{"properties": {"amount": "2"}, "values": {"region": ["eu"]}}],
                "tax_codes": ["vat"],
            },
            {
                "billable_metric_id": c.metric_id("api_calls"),
                "charge_model": "graduated",
                "properties": GRADUATED,
                "applied_pricing_unit": {"code": "credits", "conversion_rate": "0.5"},
            },
        ],
        fixed_charges=[
            {"add_on_code": "setup", "charge_model": "standard", "units": 1, "properties": {"amount": "10"}}
        ],
        usage_thresholds=[{"amount_cents": 1000}],
        minimum_commitment={"amount_cents": 5000},
    )
    return ok(api.post("/plans", {"plan": body}))["plan"]


def test_clone_with_every_override(api: Any, runtime: Runtime, ctx: Ctx) -> None:
    c = make_catalog(api)
    ok(api.post("/taxes", {"tax": {"name": "GST", "code": "gst", "rate": "5"}}))
    gst = {
        k: v for k, v in ok(api.get("/taxes/gst"))["tax"].items() if k != "applied_to_billing_entities_codes"
    }
    parent = make_parent(api, c)
    std, grad = parent["charges"]
    fixed = parent["fixed_charges"][0]
    overrides = {
        "amount_cents": 9000,
        "amount_currency": "USD",
        "name": "Startup (ACME)",
        "invoice_display_name": "ACME plan",
        "description": "negotiated",
        "trial_period": 0,
        "tax_codes": ["gst"],
        "charges": [
            {
                "id": std["lago_id"],
                "properties": {"amount": "0.8"},
                "min_amount_cents": 300,
                "invoice_display_name": "Storage (ACME)",
                "filters": [{"properties": {"amount": "1.5"}, "values": {"region": ["us"]}}],
                "tax_codes": ["gst"],
            },
            {"id": grad["lago_id"], "applied_pricing_unit": {"conversion_rate": "0.25"}},
        ],
        "fixed_charges": [
            {"id": fixed["lago_id"], "units": "4", "invoice_display_name": "Setup x4", "tax_codes": ["gst"]}
        ],
        "usage_thresholds": [{"amount_cents": 2500, "recurring": True}],
        "minimum_commitment": {"amount_cents": 7000, "invoice_display_name": "ACME commitment"},
    }
    plan = find_plan_by_code(ctx, "startup")
    assert plan is not None
    child = clone_plan_with_overrides(ctx, plan, overrides)
    got = plan_payload(ctx.session, child)
    ch = got["charges"]
    assert got == {
        **parent,
        "lago_id": str(child.id),
        "parent_id": parent["lago_id"],
        "name": "Startup (ACME)",
        "invoice_display_name": "ACME plan",
        "description": "negotiated",
        "amount_cents": 9000,
        "amount_currency": "USD",
        "trial_period": 0.0,
        "taxes": [gst],
        "charges": [
            {
                **std,
                "lago_id": ch[0]["lago_id"],
                "lago_parent_id": std["lago_id"],
                "properties": {"amount": "0.8"},
                "min_amount_cents": 300,
                "invoice_display_name": "Storage (ACME)",
                "filters": [
                    {
                        "lago_id": ch[0]["filters"][0]["lago_id"],
                        "charge_code": "storage",
                        "invoice_display_name": None,
                        "properties": {"amount": "1.5"},
                        "values": {"region": ["us"]},
                    }
                ],
                "taxes": [gst],
            },
            {
                **grad,
                "lago_id": ch[1]["lago_id"],
                "lago_parent_id": grad["lago_id"],
                "applied_pricing_unit": {"conversion_rate": "0.25", "code": "credits"},
            },
        ],
        "fixed_charges": [
            {
                **fixed,
                "lago_id": got["fixed_charges"][0]["lago_id"],
                "lago_parent_id": fixed["lago_id"],
                "units": "4.0",
                "invoice_display_name": "Setup x4",
                "taxes": [gst],
            }
        ],
        "usage_thresholds": [
            {
                "lago_id": got["usage_thresholds"][0]["lago_id"],
                "threshold_display_name": None,
                "amount_cents": 2500,
                "recurring": True,
                "created_at": T0,
                "updated_at": T0,
            }
        ],
        "applicable_usage_thresholds": parent["applicable_usage_thresholds"],
        "minimum_commitment": {
            "lago_id": got["minimum_commitment"]["lago_id"],
            "plan_code": "startup",
            "invoice_display_name": "ACME commitment",
            "amount_cents": 7000,
            "interval": "monthly",
            "created_at": T0,
            "updated_at": T0,
            "taxes": [],
        },
    }
    # The lookups subscriptions use see the child; the parent is untouched.
    assert get_plan(ctx, child.id) is child and get_plan(ctx, str(child.id)) is child
    views = charges_for_plan(ctx, child.id)
    assert [(v.charge.code, v.metric.code, len(v.filters)) for v in views] == [
        ("storage", "storage", 1),
        ("api_calls", "api_calls", 0),
    ]
    assert views[1].pricing_unit is not None and views[1].charge.pricing_unit_conversion_rate == Decimal(
        "0.25"
    )
    assert [(f.fixed_charge.units, f.add_on.code) for f in fixed_charges_for_plan(ctx, child.id)] == [
        (Decimal(4), "setup")
    ]
    assert [t.amount_cents for t in applicable_usage_thresholds(ctx, child)] == [1000]
    assert plan_payload(ctx.session, plan) == parent


def test_clone_without_overrides_copies_charges_not_taxes(api: Any, ctx: Ctx) -> None:
    c = make_catalog(api)
    parent = make_parent(api, c)
    plan = find_plan_by_code(ctx, "startup")
    assert plan is not None
    child = clone_plan_with_overrides(ctx, plan, {})
    got = plan_payload(ctx.session, child)
    assert got["taxes"] == [] and "minimum_commitment" not in got and got["usage_thresholds"] == []
    assert [(x["code"], x["properties"], x["taxes"], x["lago_parent_id"]) for x in got["charges"]] == [
        (p["code"], p["properties"], [], p["lago_id"]) for p in parent["charges"]
    ]
    assert [f["values"] for f in got["charges"][0]["filters"]] == [{"region": ["eu"]}]
    assert (got["code"], got["trial_period"], got["amount_cents"]) == ("startup", 7.0, 10000)
    # A child does not take the code: the parent is still what the code names.
    assert find_plan_by_code(ctx, "startup") is plan


def test_invalid_override_raises_and_stores_nothing(api: Any, runtime: Runtime, org: Any) -> None:
    c = make_catalog(api)
    parent = make_parent(api, c)
    before = counts(runtime)
    cases: list[tuple[dict[str, Any], type[Exception], Any]] = [
        ({"amount_currency": "XYZ"}, ValidationFailed, {"amount_currency": ["value_is_invalid"]}),
        (
            {"charges": [{"id": parent["charges"][0]["lago_id"], "properties": {"amount": 3}}]},
            ValidationFailed,
            {"properties": ["invalid_amount"]},
        ),
        (
            {"charges": [{"id": parent["charges"][1]["lago_id"], "min_amount_cents": -1}]},
            ValidationFailed,
            {"min_amount_cents": ["value_is_out_of_range"]},
        ),
        (
            {"fixed_charges": [{"id": parent["fixed_charges"][0]["lago_id"], "charge_model": "volume"}]},
            Forbidden,
            "cannot_override_charge_model",
        ),
        (
            {"minimum_commitment": {"amount_cents": 0}},
            ValidationFailed,
            {"amount_cents": ["value_is_out_of_range"]},
        ),
        ({"tax_codes": ["nope"]}, NotFound, "tax_not_found"),
    ]
    for overrides, kind, expected in cases:
        with pytest.raises(kind) as raised, runtime.db.session() as session:
            ctx = Ctx(session=session, clock=runtime.clock, settings=runtime.settings, organization_id=org.id)
            plan = find_plan_by_code(ctx, "startup")
            assert plan is not None
            clone_plan_with_overrides(ctx, plan, overrides)
        exc = raised.value
        assert (exc.details if isinstance(exc, ValidationFailed) else exc.code) == expected  # type: ignore[attr-defined]
    assert counts(runtime) == before


@contextmanager
def unit(runtime: Runtime, org: Any) -> Iterator[Ctx]:
    """A short transaction (SQLite: never hold the write lock across an API call)."""
    with runtime.db.session() as session:
        yield Ctx(session=session, clock=runtime.clock, settings=runtime.settings, organization_id=org.id)


def test_cascade_updates_reach_children(api: Any, runtime: Runtime, org: Any) -> None:
    c = make_catalog(api)
    parent = make_parent(api, c)
    std, grad = parent["charges"]
    overridden = {
        "graduated_ranges": [
            {"from_value": 0, "to_value": None, "per_unit_amount": "0.1", "flat_amount": "0"}
        ]
    }
    with unit(runtime, org) as ctx:
        plan = find_plan_by_code(ctx, "startup")
        assert plan is not None
        child_id = clone_plan_with_overrides(
            ctx, plan, {"charges": [{"id": grad["lago_id"], "properties": overridden}]}
        ).id

    def child_payload() -> dict[str, Any]:
        with unit(runtime, org) as ctx:
            return plan_payload(ctx.session, get_plan(ctx, child_id))

    charges = [
        {
            "id": std["lago_id"],
            "billable_metric_id": c.metric_id("storage"),
            "charge_model": "standard",
            "properties": {"amount": "2", "pricing_group_keys": ["cluster"]},
        },
        {
            "id": grad["lago_id"],
            "billable_metric_id": c.metric_id("api_calls"),
            "charge_model": "graduated",
            "properties": {"graduated_ranges": [GRADUATED["graduated_ranges"][1] | {"from_value": 0}]},
        },
        {
            "billable_metric_id": c.metric_id("seats"),
            "charge_model": "standard",
            "properties": {"amount": "7"},
        },
    ]
    ok(
        api.put(
            "/plans/startup", {"plan": {"amount_cents": 20000, "charges": charges, "cascade_updates": True}}
        )
    )
    got = child_payload()
    assert got["amount_cents"] == 20000
    by_code = {x["code"]: x for x in got["charges"]}
    assert by_code["storage"]["properties"] == {
        "amount": "2",
        "pricing_group_keys": ["cluster"],
        "grouped_by": ["cluster"],
    }
    assert by_code["api_calls"]["properties"] == overridden  # an override is kept
    assert by_code["seats"]["properties"] == {"amount": "7"}
    new_parent = ok(api.get("/plans/startup"))["plan"]["charges"][2]
    assert by_code["seats"]["lago_parent_id"] == new_parent["lago_id"]

    ok(api.put("/plans/startup", {"plan": {"charges": charges[:1], "cascade_updates": True}}))
    assert [x["code"] for x in child_payload()["charges"]] == ["storage"]
    # Without cascade_updates children are left alone.
    ok(api.put("/plans/startup", {"plan": {"amount_cents": 1}}))
    assert child_payload()["amount_cents"] == 20000


def test_delete_cascade_runs_hooks_then_soft_deletes_once(api: Any, runtime: Runtime, org: Any) -> None:
    plan_id = ok(api.post("/plans", {"plan": plan_body()}))["plan"]["lago_id"]
    ok(api.delete("/plans/startup"))
    seen: list[tuple[str, bool]] = []
    handler = JobRegistry(
        plan_job_kinds([lambda _ctx, plan: seen.append((plan.code, plan.pending_deletion))])
    ).handler("plans.delete_cascade")
    assert handler is not None
    for _ in range(2):
        with unit(runtime, org) as ctx:
            assert handler(ctx, {"plan_id": plan_id}) is None
    assert seen == [("startup", True)]
    with unit(runtime, org) as ctx, pytest.raises(NotFound):
        get_plan(ctx, plan_id)
