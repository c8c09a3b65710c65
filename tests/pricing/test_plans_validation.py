"""Every 422 (and 404) of a plan write (metering.md §3.1–3.2, §3.11; billing.md §1, §5.1, §5.3),
each on the third charge / second fixed charge of a new plan: the exact error body, and nothing
stored, nothing queued."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.pricing.helpers import validation
from tests.pricing.plans_support import (
    Catalog,
    add_endpoint,
    counts,
    create_metric,
    error,
    make_catalog,
    plan_body,
)

NAN = "is not a number"
STD = {"charge_model": "standard", "properties": {"amount": "1"}}


@pytest.fixture
def cat(api: Any) -> Catalog:
    c = make_catalog(api)
    create_metric(api, "peak", "max_agg")
    create_metric(api, "last", "latest_agg")
    create_metric(api, "weighted", "weighted_sum_agg", recurring=True)
    add_endpoint(api)
    return c


def _metric_id(api: Any, code: str) -> str:
    return str(api.get(f"/billable_metrics/{code}").json()["billable_metric"]["lago_id"])


def ranges(*bounds: tuple[Any, Any], key: str = "per_unit_amount") -> list[dict[str, Any]]:
    return [{"from_value": f, "to_value": t, key: "1", "flat_amount": "0"} for f, t in bounds]


# (metric code, extra charge fields, expected error_details)
CHARGE_CASES: dict[str, tuple[str, dict[str, Any], dict[str, list[str]]]] = {
    "charge_model_missing": (
        "api_calls",
        {"properties": {}},
        {"charge_model": ["value_is_invalid", "value_is_mandatory"]},
    ),
    "charge_model_unknown": ("api_calls", {"charge_model": "linear"}, {"charge_model": ["value_is_invalid"]}),
    "pay_in_advance_volume": (
        "api_calls",
        {"charge_model": "volume", "pay_in_advance": True},
        {"pay_in_advance": ["invalid_aggregation_type_or_charge_model"]},
    ),
    "pay_in_advance_max_agg": (
        "peak",
        {**STD, "pay_in_advance": True},
        {"pay_in_advance": ["invalid_aggregation_type_or_charge_model"]},
    ),
    "prorated_not_recurring": (
        "storage",
        {**STD, "prorated": True},
        {"prorated": ["invalid_billable_metric_or_charge_model"]},
    ),
    "prorated_weighted_sum": (
        "weighted",
        {**STD, "prorated": True},
        {"prorated": ["invalid_billable_metric_or_charge_model"]},
    ),
    "prorated_in_advance_graduated": (
        "seats",
        {"charge_model": "graduated", "pay_in_advance": True, "prorated": True},
        {"prorated": ["invalid_billable_metric_or_charge_model"]},
    ),
    "prorated_package": (
        "seats",
        {"charge_model": "package", "prorated": True},
        {"prorated": ["invalid_billable_metric_or_charge_model"]},
    ),
    "dynamic_not_sum": (
        "api_calls",
        {"charge_model": "dynamic"},
        {"charge_model": ["invalid_aggregation_type_or_charge_model"]},
    ),
    "custom_not_custom_agg": (
        "storage",
        {"charge_model": "custom"},
        {"charge_model": ["invalid_aggregation_type_or_charge_model"]},
    ),
    "percentage_latest_agg": ("last", {"charge_model": "percentage"}, {"properties": ["invalid_value"]}),
    "graduated_percentage_latest_agg": (
        "last",
        {"charge_model": "graduated_percentage"},
        {"properties": ["invalid_value"]},
    ),
    "invoiceable_false_in_arrears": (
        "api_calls",
        {**STD, "invoiceable": False},
        {"invoiceable": ["must_be_true_unless_pay_in_advance"]},
    ),
    "regroup_without_advance": (
        "api_calls",
        {**STD, "regroup_paid_fees": "invoice"},
        {"regroup_paid_fees": ["only_compatible_with_pay_in_advance_and_non_invoiceable"]},
    ),
    "regroup_unknown": (
        "api_calls",
        {**STD, "pay_in_advance": True, "invoiceable": False, "regroup_paid_fees": "weekly"},
        {"regroup_paid_fees": ["value_is_invalid"]},
    ),
    "min_amount_in_advance": (
        "api_calls",
        {**STD, "pay_in_advance": True, "min_amount_cents": 100},
        {"min_amount_cents": ["not_compatible_with_pay_in_advance"]},
    ),
    "min_amount_negative": (
        "api_calls",
        {**STD, "min_amount_cents": -1},
        {"min_amount_cents": ["value_is_out_of_range"]},
    ),
    "min_amount_not_a_number": (
        "api_calls",
        {**STD, "min_amount_cents": "lots"},
        {"min_amount_cents": [NAN]},
    ),
    "code_taken": ("api_calls", {**STD, "code": "api_calls"}, {"code": ["value_already_exist"]}),
    # properties (§3.2)
    "standard_amount_number": (
        "api_calls",
        {"charge_model": "standard", "properties": {"amount": 1}},
        {"properties": ["invalid_amount"]},
    ),
    "standard_amount_negative": (
        "api_calls",
        {"charge_model": "standard", "properties": {"amount": "-1"}},
        {"properties": ["invalid_amount"]},
    ),
    "graduated_missing": (
        "api_calls",
        {"charge_model": "graduated", "properties": {"graduated_ranges": []}},
        {"properties": ["missing_graduated_ranges"]},
    ),
    "graduated_first_from_2": (
        "api_calls",
        {"charge_model": "graduated", "properties": {"graduated_ranges": ranges((2, 10), (11, None))}},
        {"properties": ["invalid_graduated_ranges"]},
    ),
    "graduated_open_last_missing": (
        "api_calls",
        {"charge_model": "graduated", "properties": {"graduated_ranges": ranges((0, 10), (11, 20))}},
        {"properties": ["invalid_graduated_ranges"]},
    ),
    "graduated_gap": (
        "api_calls",
        {"charge_model": "graduated", "properties": {"graduated_ranges": ranges((0, 10), (12, None))}},
        {"properties": ["invalid_graduated_ranges"]},
    ),
    "graduated_amount_number": (
        "api_calls",
        {
            "charge_model": "graduated",
            "properties": {
                "graduated_ranges": [
                    {"from_value": 0, "to_value": None, "per_unit_amount": 1, "flat_amount": "0"}
                ]
            },
        },
        {"properties": ["invalid_amount"]},
    ),
    "volume_adjacent": (
        "api_calls",
        {"charge_model": "volume", "properties": {"volume_ranges": ranges((0, 10), (10, None))}},
        {"properties": ["invalid_volume_ranges"]},
    ),
    "volume_missing": (
        "api_calls",
        {"charge_model": "volume", "properties": {"volume_ranges": None, "x": 1}},
        {"properties": ["missing_volume_ranges"]},
    ),
    "graduated_percentage_missing": (
        "storage",
        {"charge_model": "graduated_percentage", "properties": {"graduated_percentage_ranges": []}},
        {"properties": ["missing_graduated_percentage_ranges"]},
    ),
    "graduated_percentage_rate": (
        "storage",
        {
            "charge_model": "graduated_percentage",
            "properties": {
                "graduated_percentage_ranges": [
                    {"from_value": 0, "to_value": None, "rate": 1, "flat_amount": "0"}
                ]
            },
        },
        {"properties": ["invalid_rate"]},
    ),
    "package_size_zero": (
        "api_calls",
        {"charge_model": "package", "properties": {"amount": "1", "free_units": 0, "package_size": 0}},
        {"properties": ["invalid_package_size"]},
    ),
    "package_free_units": (
        "api_calls",
        {"charge_model": "package", "properties": {"amount": "1", "free_units": "1", "package_size": 10}},
        {"properties": ["invalid_free_units"]},
    ),
    "percentage_rate_missing": (
        "transactions",
        {"charge_model": "percentage", "properties": {"fixed_amount": "1"}},
        {"properties": ["invalid_rate"]},
    ),
    "percentage_all_invalid": (
        "transactions",
        {
            "charge_model": "percentage",
            "properties": {
                "rate": "1",
                "fixed_amount": 1,
                "free_units_per_events": 0,
                "free_units_per_total_aggregation": 5,
                "per_transaction_min_amount": 2,
            },
        },
        {
            "properties": [
                "invalid_fixed_amount",
                "invalid_free_units_per_events",
                "invalid_free_units_per_total_aggregation",
                "invalid_amount",
            ]
        },
    ),
    "percentage_min_above_max": (
        "transactions",
        {
            "charge_model": "percentage",
            "properties": {"rate": "1", "per_transaction_min_amount": "5", "per_transaction_max_amount": "2"},
        },
        {"properties": ["per_transaction_max_lower_than_per_transaction_min"]},
    ),
    "pricing_group_keys_blank": (
        "api_calls",
        {"charge_model": "standard", "properties": {"amount": "1", "pricing_group_keys": ["a", 1]}},
        {"properties": ["invalid_type"]},
    ),
    "grouped_by_not_array": (
        "api_calls",
        {"charge_model": "standard", "properties": {"amount": "1", "grouped_by": "region"}},
        {"properties": ["invalid_type"]},
    ),
    "presentation_keys": (
        "api_calls",
        {
            "charge_model": "standard",
            "properties": {
                "amount": "1",
                "presentation_group_keys": [
                    {"value": "a"},
                    {"value": "a"},
                    {"value": "b", "options": {"x": 1}},
                ],
            },
        },
        {"properties": ["invalid_type", "too_many_keys", "value_is_duplicated"]},
    ),
    # filters (§3.4)
    "filter_without_values": (
        "storage",
        {**STD, "filters": [{"properties": {"amount": "1"}}]},
        {"values": ["value_is_mandatory"]},
    ),
    "filter_empty_values": (
        "storage",
        {**STD, "filters": [{"properties": {"amount": "1"}, "values": {"region": []}}]},
        {"values": ["value_is_mandatory"]},
    ),
    "filter_unknown_key": (
        "storage",
        {**STD, "filters": [{"properties": {"amount": "1"}, "values": {"planet": ["mars"]}}]},
        {"billable_metric_filter": ["relation_must_exist"], "values": ["value_is_invalid"]},
    ),
    "filter_undeclared_value": (
        "storage",
        {**STD, "filters": [{"properties": {"amount": "1"}, "values": {"region": ["eu", "mars"]}}]},
        {"values": ["value_is_invalid"]},
    ),
    "filter_all_values_not_alone": (
        "storage",
        {
            **STD,
            "filters": [
                {"properties": {"amount": "1"}, "values": {"region": ["__ALL_FILTER_VALUES__", "eu"]}}
            ],
        },
        {"values": ["value_is_invalid"]},
    ),
    "filter_properties": (
        "storage",
        {**STD, "filters": [{"properties": {}, "values": {"region": ["eu"]}}]},
        {"properties": ["invalid_amount"]},
    ),
    # pricing unit (§3.10)
    "pricing_unit_unknown": (
        "api_calls",
        {**STD, "applied_pricing_unit": {"code": "gold", "conversion_rate": "1"}},
        {"pricing_unit": ["relation_must_exist"]},
    ),
    "conversion_rate_zero": (
        "api_calls",
        {**STD, "applied_pricing_unit": {"code": "credits", "conversion_rate": "0"}},
        {"conversion_rate": ["value_is_out_of_range"]},
    ),
    "conversion_rate_missing": (
        "api_calls",
        {**STD, "applied_pricing_unit": {"code": "credits"}},
        {"conversion_rate": ["value_is_mandatory", NAN]},
    ),
}


def _charges(api: Any, c: Catalog, metric: str, extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"billable_metric_id": c.metric_id("api_calls"), **STD},
        {"billable_metric_id": c.metric_id("storage"), **STD},
        {"billable_metric_id": _metric_id(api, metric), **extra},
    ]


@pytest.mark.parametrize("case", sorted(CHARGE_CASES))
def test_third_charge_invalid_stores_nothing(api: Any, runtime: Any, cat: Catalog, case: str) -> None:
    metric, extra, details = CHARGE_CASES[case]
    before = counts(runtime)
    r = api.post("/plans", {"plan": plan_body(charges=_charges(api, cat, metric, extra))})
    assert r.status_code == 422, r.text
    assert r.json() == validation(details)
    assert counts(runtime) == before


@pytest.mark.parametrize("case", sorted(CHARGE_CASES))
def test_same_errors_on_the_charge_route(api: Any, runtime: Any, cat: Catalog, case: str) -> None:
    metric, extra, details = CHARGE_CASES[case]
    api.post("/plans", {"plan": plan_body(charges=_charges(api, cat, metric, extra)[:2])})
    before = counts(runtime)
    charge = {"billable_metric_id": _metric_id(api, metric), **extra}
    r = api.post("/plans/startup/charges", {"charge": charge})
    assert r.json() == validation(details)
    assert counts(runtime) == before


# (plan fields, expected status, expected body)
PLAN_CASES: dict[str, tuple[Callable[[Catalog], dict[str, Any]], int, dict[str, Any]]] = {
    "all_required_missing": (
        lambda c: {"description": "x"},
        422,
        validation(
            {
                "interval": ["value_is_invalid"],
                "name": ["value_is_mandatory"],
                "code": ["value_is_mandatory"],
                "amount_currency": ["value_is_invalid"],
                "amount_cents": ["value_is_mandatory"],
                "pay_in_advance": ["value_is_invalid"],
            }
        ),
    ),
    "bad_values": (
        lambda c: plan_body(interval="daily", amount_cents="ten", amount_currency="XYZ", trial_period=-1),
        422,
        validation(
            {
                "interval": ["value_is_invalid"],
                "amount_currency": ["value_is_invalid"],
                "amount_cents": ["value_is_invalid"],
                "trial_period": ["value_is_out_of_range"],
            }
        ),
    ),
    "negative_amount": (
        lambda c: plan_body(amount_cents=-5),
        422,
        validation({"amount_cents": ["value_is_out_of_range"]}),
    ),
    "threshold_missing_amount": (
        lambda c: plan_body(usage_thresholds=[{"amount_cents": 10}, {"threshold_display_name": "x"}]),
        422,
        validation({"usage_thresholds": ["missing_amount_cents"]}),
    ),
    "threshold_duplicated": (
        lambda c: plan_body(usage_thresholds=[{"amount_cents": 10}, {"amount_cents": "10"}]),
        422,
        validation({"usage_thresholds": ["duplicated_values"]}),
    ),
    "threshold_two_recurring": (
        lambda c: plan_body(
            usage_thresholds=[
                {"amount_cents": 10, "recurring": True},
                {"amount_cents": 20, "recurring": True},
            ]
        ),
        422,
        validation({"usage_thresholds": ["multiple_recurring_thresholds"]}),
    ),
    "threshold_zero": (
        lambda c: plan_body(usage_thresholds=[{"amount_cents": 0}]),
        422,
        validation({"amount_cents": ["value_is_out_of_range"]}),
    ),
    "commitment_zero": (
        lambda c: plan_body(minimum_commitment={"amount_cents": 0}),
        422,
        validation({"amount_cents": ["value_is_out_of_range"]}),
    ),
    "commitment_without_amount": (
        lambda c: plan_body(minimum_commitment={"invoice_display_name": "x"}),
        422,
        validation({"amount_cents": [NAN]}),
    ),
    "metadata_value_too_long": (
        lambda c: plan_body(metadata={"k": "x" * 256, "n": 1}),
        422,
        validation(
            {
                "value": [
                    "value for key 'k' must be empty or a String up to 255 characters",
                    "value for key 'n' must be empty or a String up to 255 characters",
                ]
            }
        ),
    ),
    "unknown_metric": (
        lambda c: plan_body(
            charges=[
                {"billable_metric_id": c.metric_id("storage"), **STD},
                {"billable_metric_id": "nope", **STD},
            ]
        ),
        404,
        error(404, "billable_metrics_not_found"),
    ),
    "unknown_plan_tax": (lambda c: plan_body(tax_codes=["vat", "gst"]), 404, error(404, "tax_not_found")),
    "unknown_charge_tax": (
        lambda c: plan_body(
            charges=[{"billable_metric_id": c.metric_id("storage"), **STD, "tax_codes": ["gst"]}]
        ),
        404,
        error(404, "tax_not_found"),
    ),
    "unknown_commitment_tax": (
        lambda c: plan_body(minimum_commitment={"amount_cents": 1, "tax_codes": ["gst"]}),
        404,
        error(404, "tax_not_found"),
    ),
    "unknown_add_on_id": (
        lambda c: plan_body(
            fixed_charges=[{"add_on_id": "0190e4c6-0000-7000-8000-000000000000", "charge_model": "standard"}]
        ),
        404,
        error(404, "add_ons_not_found"),
    ),
    "unknown_add_on_code": (
        lambda c: plan_body(fixed_charges=[{"add_on_code": "install", "charge_model": "standard"}]),
        404,
        error(404, "add_ons_not_found"),
    ),
}


@pytest.mark.parametrize("case", sorted(PLAN_CASES))
def test_plan_level_errors_store_nothing(api: Any, runtime: Any, cat: Catalog, case: str) -> None:
    build, status, body = PLAN_CASES[case]
    before = counts(runtime)
    r = api.post("/plans", {"plan": build(cat)})
    assert r.status_code == status, r.text
    assert r.json() == body
    assert counts(runtime) == before


def test_code_taken_among_live_parent_plans(api: Any, runtime: Any, cat: Catalog) -> None:
    assert api.post("/plans", {"plan": plan_body()}).status_code == 200
    before = counts(runtime)
    r = api.post("/plans", {"plan": plan_body(name="Other")})
    assert r.json() == validation({"code": ["value_already_exist"]})
    assert counts(runtime) == before


FIXED_CASES: dict[str, tuple[dict[str, Any], dict[str, list[str]]]] = {
    "volume_in_advance": (
        {"charge_model": "volume", "pay_in_advance": True},
        {"pay_in_advance": ["invalid_charge_model"]},
    ),
    "graduated_in_advance_prorated": (
        {"charge_model": "graduated", "pay_in_advance": True, "prorated": True},
        {"prorated": ["invalid_charge_model"]},
    ),
    "units_negative": ({"charge_model": "standard", "units": -1}, {"units": ["value_is_out_of_range"]}),
    "units_not_a_number": ({"charge_model": "standard", "units": "two"}, {"units": [NAN]}),
    "model_not_fixed": ({"charge_model": "package"}, {"charge_model": ["value_is_invalid"]}),
    "model_missing": ({}, {"charge_model": ["value_is_mandatory"]}),
    "properties": (
        {"charge_model": "standard", "properties": {"amount": 5}},
        {"properties": ["invalid_amount"]},
    ),
    "code_taken": ({"charge_model": "standard", "code": "setup"}, {"code": ["value_already_exist"]}),
}


@pytest.mark.parametrize("case", sorted(FIXED_CASES))
def test_second_fixed_charge_invalid_stores_nothing(api: Any, runtime: Any, cat: Catalog, case: str) -> None:
    extra, details = FIXED_CASES[case]
    fixed = [
        {"add_on_code": "setup", "charge_model": "standard"},
        {"add_on_id": cat.add_on["lago_id"], **extra},
    ]
    before = counts(runtime)
    r = api.post("/plans", {"plan": plan_body(fixed_charges=fixed)})
    assert r.json() == validation(details)
    assert counts(runtime) == before


def test_field_errors_before_unknown_taxes_and_404s_before_fields(api: Any, cat: Catalog) -> None:
    r = api.post("/plans", {"plan": {"tax_codes": ["gst"]}})
    assert r.status_code == 422
    r = api.post("/plans", {"plan": {"charges": [{"billable_metric_id": "x"}]}})
    assert r.json() == error(404, "billable_metrics_not_found")


def test_failed_update_changes_nothing(api: Any, runtime: Any, cat: Catalog) -> None:
    charges = [{"billable_metric_id": cat.metric_id("api_calls"), **STD}]
    created = api.post("/plans", {"plan": plan_body(charges=charges)}).json()["plan"]
    before = counts(runtime)
    bad = [
        {"id": created["charges"][0]["lago_id"], "billable_metric_id": cat.metric_id("api_calls"), **STD},
        {"billable_metric_id": cat.metric_id("storage"), "charge_model": "volume", "pay_in_advance": True},
    ]
    r = api.put("/plans/startup", {"plan": {"name": "Renamed", "charges": bad}})
    assert r.json() == validation({"pay_in_advance": ["invalid_aggregation_type_or_charge_model"]})
    assert counts(runtime) == before
    assert api.get("/plans/startup").json()["plan"] == created


def test_update_charge_requires_charge_model(api: Any, cat: Catalog) -> None:
    charges = [{"billable_metric_id": cat.metric_id("api_calls"), **STD}]
    api.post("/plans", {"plan": plan_body(charges=charges)})
    r = api.put("/plans/startup/charges/api_calls", {"charge": {"invoice_display_name": "x"}})
    assert r.json() == validation({"charge_model": ["value_is_invalid", "value_is_mandatory"]})


def test_malformed_nested_values_answer_like_lago(api: Any, runtime: Any, cat: Catalog) -> None:
    """Values of the wrong shape read as absent (Rails' strong parameters), never a 500."""
    before = counts(runtime)
    r = api.post("/plans", {"plan": plan_body(charges=[{"billable_metric_id": [1], **STD}])})
    assert r.json() == error(404, "billable_metric_not_found")
    r = api.post("/plans", {"plan": plan_body(fixed_charges=[{"add_on_id": {}, "charge_model": "standard"}])})
    assert r.json() == error(404, "add_on_not_found")
    bad_filter = {"properties": {"amount": "1"}, "values": [["region", "eu"]]}
    charge = {"billable_metric_id": cat.metric_id("storage"), **STD, "filters": [bad_filter]}
    assert api.post("/plans", {"plan": plan_body(charges=[charge])}).json() == validation(
        {"values": ["value_is_mandatory"]}
    )
    assert counts(runtime) == before
    created = api.post("/plans", {"plan": plan_body(charges="none", usage_thresholds={"a": 1}, metadata=[1])})
    assert created.status_code == 200
    got = created.json()["plan"]
    assert (got["charges"], got["usage_thresholds"], "metadata" in got) == ([], [], False)


def test_update_with_unknown_metric_is_404_and_changes_nothing(api: Any, runtime: Any, cat: Catalog) -> None:
    api.post("/plans", {"plan": plan_body()})
    before = counts(runtime)
    r = api.put("/plans/startup", {"plan": {"name": "x", "charges": [{"billable_metric_id": "nope", **STD}]}})
    assert r.json() == error(404, "billable_metrics_not_found")
    assert counts(runtime) == before
    assert api.get("/plans/startup").json()["plan"]["name"] == "Startup"
