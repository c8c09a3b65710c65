"""Charge properties: defaults, slicing and Lago's validation codes (metering.md §3.1–3.2)."""

from __future__ import annotations

from typing import Any

import pytest

from billow.pricing.charge_models import (
    CHARGE_MODELS,
    default_properties,
    normalize_properties,
    prepare_properties,
    properties_error_details,
    validate_charge_rules,
    validate_properties,
)


def rng(start: Any, end: Any, per_unit: Any = "1", flat: Any = "0") -> dict[str, Any]:
    return {"from_value": start, "to_value": end, "per_unit_amount": per_unit, "flat_amount": flat}


def pct_rng(start: Any, end: Any, rate: Any = "1", flat: Any = "0") -> dict[str, Any]:
    return {"from_value": start, "to_value": end, "rate": rate, "flat_amount": flat}


# --------------------------------------------------------------------------- defaults & slicing


@pytest.mark.parametrize("model", CHARGE_MODELS)
def test_defaults_are_valid(model: str) -> None:
    assert validate_properties(model, normalize_properties(model, None)) == {}


def test_default_values() -> None:
    assert default_properties("standard") == {"amount": "0"}
    assert default_properties("package") == {"package_size": 1, "amount": "0", "free_units": 0}
    assert default_properties("percentage") == {"rate": "0"}
    assert default_properties("graduated") == {
        "graduated_ranges": [{"from_value": 0, "to_value": None, "per_unit_amount": "0", "flat_amount": "0"}]
    }
    assert default_properties("volume")["volume_ranges"][0]["to_value"] is None
    assert default_properties("graduated_percentage") == {
        "graduated_percentage_ranges": [
            {"from_value": 0, "to_value": None, "rate": "0", "fixed_amount": "0", "flat_amount": "0"}
        ]
    }
    assert default_properties("dynamic") == {}
    assert default_properties("custom") == {}
    first = default_properties("graduated")
    first["graduated_ranges"].append({})
    assert len(default_properties("graduated")["graduated_ranges"]) == 1


def test_empty_properties_get_defaults() -> None:
    assert normalize_properties("standard", {}) == {"amount": "0"}
    assert normalize_properties("standard", None) == {"amount": "0"}


def test_unknown_keys_are_dropped() -> None:
    given = {"amount": "5", "rate": "3", "graduated_ranges": [], "foo": 1}
    assert normalize_properties("standard", given) == {"amount": "5"}
    package = {"amount": "5", "package_size": 10, "free_units": 0, "fixed_amount": "1"}
    assert normalize_properties("package", package) == {"amount": "5", "package_size": 10, "free_units": 0}
    percentage = {
        "rate": "1",
        "fixed_amount": "1",
        "free_units_per_events": 2,
        "free_units_per_total_aggregation": "3",
        "per_transaction_min_amount": "1",
        "per_transaction_max_amount": "2",
        "amount": "9",
    }
    assert "amount" not in normalize_properties("percentage", percentage)
    assert len(normalize_properties("percentage", percentage)) == 6
    assert normalize_properties("dynamic", {"amount": "1"}) == {}


def test_grouped_by_becomes_pricing_group_keys() -> None:
    normalized = normalize_properties("standard", {"amount": "1", "grouped_by": ["region", ""]})
    assert normalized == {"amount": "1", "pricing_group_keys": ["region"]}
    both = normalize_properties("standard", {"amount": "1", "grouped_by": ["a"], "pricing_group_keys": ["b"]})
    assert both == {"amount": "1", "pricing_group_keys": ["b"]}
    blank = normalize_properties("standard", {"amount": "1", "pricing_group_keys": []})
    assert blank == {"amount": "1"}


def test_presentation_group_keys_kept() -> None:
    keys = [{"value": "region", "options": {"display_in_invoice": True}}]
    assert normalize_properties("standard", {"amount": "1", "presentation_group_keys": keys}) == {
        "amount": "1",
        "presentation_group_keys": keys,
    }


def test_custom_properties_only_for_custom_agg() -> None:
    given = {"custom_properties": '{"ratio": "2"}'}
    assert normalize_properties("custom", given) == {}
    assert normalize_properties("custom", given, custom_agg=True) == {"custom_properties": {"ratio": "2"}}
    broken = normalize_properties("custom", {"custom_properties": "{oops"}, custom_agg=True)
    assert broken == {"custom_properties": {}}


def test_normalize_does_not_alias_input() -> None:
    ranges = [rng(0, None)]
    normalized = normalize_properties("graduated", {"graduated_ranges": ranges})
    normalized["graduated_ranges"][0]["flat_amount"] = "9"
    assert ranges[0]["flat_amount"] == "0"


# --------------------------------------------------------------------------- amounts


@pytest.mark.parametrize("amount", [5, 5.5, None, "abc", "-1", "NaN", "Infinity", "", True])
def test_standard_invalid_amount(amount: Any) -> None:
    assert validate_properties("standard", {"amount": amount}) == {"amount": ["invalid_amount"]}


@pytest.mark.parametrize("amount", ["0", "5", "0.0001", " 2.5 ", "1e3"])
def test_standard_valid_amount(amount: str) -> None:
    assert validate_properties("standard", {"amount": amount}) == {}


# --------------------------------------------------------------------------- ranges


def test_missing_ranges() -> None:
    assert validate_properties("graduated", {}) == {"graduated_ranges": ["missing_graduated_ranges"]}
    assert validate_properties("volume", {"volume_ranges": []}) == {
        "volume_ranges": ["missing_volume_ranges"]
    }
    assert validate_properties("graduated_percentage", {}) == {
        "graduated_percentage_ranges": ["missing_graduated_percentage_ranges"]
    }


@pytest.mark.parametrize(
    "ranges",
    [
        [rng(0, 10), rng(11, None)],  # inclusive
        [rng(0, 10), rng(10, None)],  # adjacent
        [rng(1, 10), rng(11, None)],  # first range may start at 1
        [rng(0, None)],
        [rng(0, 0.1), rng(0.1, 1), rng(1, None)],  # decimals
    ],
)
def test_valid_graduated_ranges(ranges: list[dict[str, Any]]) -> None:
    assert validate_properties("graduated", {"graduated_ranges": ranges}) == {}


@pytest.mark.parametrize(
    "ranges",
    [
        [rng(2, None)],  # first range must start at 0 or 1
        [rng(0, 10), rng(12, None)],  # gap
        [rng(0, 10), rng(5, None)],  # overlap
        [rng(0, 10), rng(11, 20)],  # last range must be open
        [rng(0, None), rng(1, None)],  # only the last may be open
        [rng(5, 5), rng(6, None)],  # wrong start
        [rng(0, 0), rng(1, None)],  # to must exceed from
        [rng("0", None)],  # bounds are JSON numbers
        [rng(None, None)],
        ["not a range"],
    ],
)
def test_invalid_graduated_ranges(ranges: list[Any]) -> None:
    errors = validate_properties("graduated", {"graduated_ranges": ranges})
    assert errors["graduated_ranges"] == ["invalid_graduated_ranges"]


def test_invalid_ranges_not_a_list() -> None:
    errors = validate_properties("graduated", {"graduated_ranges": {"from_value": 0}})
    assert errors == {"graduated_ranges": ["invalid_graduated_ranges"]}


def test_graduated_range_amounts() -> None:
    errors = validate_properties(
        "graduated", {"graduated_ranges": [rng(0, 10, 1, "x"), rng(11, None, "1", "0")]}
    )
    assert errors == {"per_unit_amount": ["invalid_amount"], "flat_amount": ["invalid_amount"]}


def test_volume_ranges_may_not_be_adjacent() -> None:
    assert validate_properties("volume", {"volume_ranges": [rng(0, 10), rng(11, None)]}) == {}
    assert validate_properties("volume", {"volume_ranges": [rng(0, 10), rng(12, None)]}) == {}
    adjacent = validate_properties("volume", {"volume_ranges": [rng(0, 10), rng(10, None)]})
    assert adjacent == {"volume_ranges": ["invalid_volume_ranges"]}
    amounts = validate_properties("volume", {"volume_ranges": [rng(0, None, "-1", 3)]})
    assert amounts == {"per_unit_amount": ["invalid_amount"], "flat_amount": ["invalid_amount"]}


def test_graduated_percentage_ranges() -> None:
    valid = {"graduated_percentage_ranges": [pct_rng(0, 10), pct_rng(11, None)]}
    assert validate_properties("graduated_percentage", valid) == {}
    adjacent = {"graduated_percentage_ranges": [pct_rng(0, 10), pct_rng(10, None)]}
    assert validate_properties("graduated_percentage", adjacent) == {}
    bad = {"graduated_percentage_ranges": [pct_rng(0, 10, 5, "1"), pct_rng(13, None, "1", 2)]}
    assert validate_properties("graduated_percentage", bad) == {
        "rate": ["invalid_rate"],
        "graduated_percentage_ranges": ["invalid_graduated_percentage_ranges"],
        "flat_amount": ["invalid_amount"],
    }


def test_graduated_percentage_not_on_latest_agg() -> None:
    valid = {"graduated_percentage_ranges": [pct_rng(0, None)]}
    errors = validate_properties("graduated_percentage", valid, aggregation_type="latest_agg")
    assert errors == {"billable_metric": ["invalid_value"]}


# --------------------------------------------------------------------------- package


@pytest.mark.parametrize("size", [0, -1, 1.0, "10", None, True])
def test_invalid_package_size(size: Any) -> None:
    errors = validate_properties("package", {"amount": "1", "free_units": 0, "package_size": size})
    assert errors == {"package_size": ["invalid_package_size"]}


@pytest.mark.parametrize("free_units", [-1, 1.5, "1", None, False])
def test_invalid_free_units(free_units: Any) -> None:
    errors = validate_properties("package", {"amount": "1", "free_units": free_units, "package_size": 10})
    assert errors == {"free_units": ["invalid_free_units"]}


def test_package_amount() -> None:
    errors = validate_properties("package", {"amount": 100, "free_units": 0, "package_size": 10})
    assert errors == {"amount": ["invalid_amount"]}


# --------------------------------------------------------------------------- percentage


def test_percentage_valid_full() -> None:
    props = {
        "rate": "1.5",
        "fixed_amount": "0.5",
        "free_units_per_events": 3,
        "free_units_per_total_aggregation": "15.0",
        "per_transaction_min_amount": "1",
        "per_transaction_max_amount": "12",
    }
    assert validate_properties("percentage", props, aggregation_type="sum_agg") == {}


def test_percentage_error_codes() -> None:
    props = {
        "rate": 1,
        "fixed_amount": 5,
        "free_units_per_events": 0,
        "free_units_per_total_aggregation": 15,
        "per_transaction_min_amount": "x",
        "per_transaction_max_amount": 3,
    }
    assert validate_properties("percentage", props, aggregation_type="latest_agg") == {
        "billable_metric": ["invalid_value"],
        "rate": ["invalid_rate"],
        "fixed_amount": ["invalid_fixed_amount"],
        "free_units_per_events": ["invalid_free_units_per_events"],
        "free_units_per_total_aggregation": ["invalid_free_units_per_total_aggregation"],
        "per_transaction_min_amount": ["invalid_amount"],
        "per_transaction_max_amount": ["invalid_amount"],
    }


def test_percentage_min_above_max() -> None:
    props = {"rate": "1", "per_transaction_min_amount": "5", "per_transaction_max_amount": "2"}
    assert validate_properties("percentage", props) == {
        "per_transaction_max_amount": ["per_transaction_max_lower_than_per_transaction_min"]
    }
    assert validate_properties("percentage", props, premium=False) == {}


def test_percentage_free_units_per_events_must_be_integer() -> None:
    errors = validate_properties("percentage", {"rate": "1", "free_units_per_events": "3"})
    assert errors == {"free_units_per_events": ["invalid_free_units_per_events"]}


# --------------------------------------------------------------------------- group keys


@pytest.mark.parametrize("keys", [["region", ""], ["region", 3], "region", {"a": 1}])
def test_pricing_group_keys_invalid_type(keys: Any) -> None:
    errors = validate_properties("standard", {"amount": "1", "pricing_group_keys": keys})
    assert errors == {"pricing_group_keys": ["invalid_type"]}


def test_grouped_by_invalid_type_reported_under_its_name() -> None:
    errors = validate_properties("dynamic", {"grouped_by": [1]})
    assert errors == {"grouped_by": ["invalid_type"]}


def test_pricing_group_keys_valid() -> None:
    assert validate_properties("standard", {"amount": "1", "pricing_group_keys": ["a", "b"]}) == {}
    assert validate_properties("standard", {"amount": "1", "pricing_group_keys": []}) == {}


@pytest.mark.parametrize(
    "keys",
    [
        [{"value": ""}],
        [{"value": "a", "extra": 1}],
        [{"options": {"display_in_invoice": True}}],
        [{"value": "a", "options": {"display_in_invoice": "yes"}}],
        [{"value": "a", "options": {"other": True}}],
        ["region"],
        "region",
    ],
)
def test_presentation_group_keys_invalid_type(keys: Any) -> None:
    errors = validate_properties("standard", {"amount": "1", "presentation_group_keys": keys})
    assert "invalid_type" in errors["presentation_group_keys"]


def test_presentation_group_keys_limits() -> None:
    three = [{"value": "a"}, {"value": "b"}, {"value": "c"}]
    errors = validate_properties("standard", {"amount": "1", "presentation_group_keys": three})
    assert errors == {"presentation_group_keys": ["too_many_keys"]}
    duplicated = [{"value": "a"}, {"value": "a", "options": {"display_in_invoice": False}}]
    errors = validate_properties("standard", {"amount": "1", "presentation_group_keys": duplicated})
    assert errors == {"presentation_group_keys": ["value_is_duplicated"]}
    valid = [{"value": "a", "options": {"display_in_invoice": True}}, {"value": "b"}]
    assert validate_properties("standard", {"amount": "1", "presentation_group_keys": valid}) == {}


# --------------------------------------------------------------------------- entry points


def test_prepare_properties() -> None:
    prepared = prepare_properties("package", {"amount": 5, "package_size": 0, "free_units": 0, "x": 1})
    assert prepared.properties == {"amount": 5, "package_size": 0, "free_units": 0}
    assert not prepared.is_valid
    assert prepared.errors == {"amount": ["invalid_amount"], "package_size": ["invalid_package_size"]}
    ok = prepare_properties("custom", {"custom_properties": {"a": 1}}, aggregation_type="custom_agg")
    assert ok.is_valid
    assert ok.properties == {"custom_properties": {"a": 1}}


def test_properties_error_details() -> None:
    errors = {
        "amount": ["invalid_amount"],
        "flat_amount": ["invalid_amount"],
        "ranges": ["invalid_graduated_ranges"],
    }
    assert properties_error_details(errors) == {"properties": ["invalid_amount", "invalid_graduated_ranges"]}
    assert properties_error_details({}) == {}


# --------------------------------------------------------------------------- charge rules (§3.1 matrix)


def test_charge_rules_valid() -> None:
    assert validate_charge_rules(charge_model="standard", aggregation_type="sum_agg") == {}
    assert (
        validate_charge_rules(
            charge_model="standard",
            aggregation_type="sum_agg",
            recurring=True,
            pay_in_advance=True,
            prorated=True,
        )
        == {}
    )
    assert (
        validate_charge_rules(
            charge_model="volume", aggregation_type="sum_agg", recurring=True, prorated=True
        )
        == {}
    )


def test_charge_rules_pay_in_advance() -> None:
    for model, aggregation in (("volume", "sum_agg"), ("standard", "max_agg"), ("standard", "latest_agg")):
        errors = validate_charge_rules(charge_model=model, aggregation_type=aggregation, pay_in_advance=True)
        assert errors == {"pay_in_advance": ["invalid_aggregation_type_or_charge_model"]}


@pytest.mark.parametrize(
    ("model", "aggregation", "recurring", "pay_in_advance"),
    [
        ("standard", "sum_agg", False, False),  # metric not recurring
        ("standard", "weighted_sum_agg", True, False),
        ("package", "sum_agg", True, False),
        ("graduated", "sum_agg", True, True),
    ],
)
def test_charge_rules_prorated(model: str, aggregation: str, recurring: bool, pay_in_advance: bool) -> None:
    errors = validate_charge_rules(
        charge_model=model,
        aggregation_type=aggregation,
        recurring=recurring,
        pay_in_advance=pay_in_advance,
        prorated=True,
    )
    assert errors["prorated"] == ["invalid_billable_metric_or_charge_model"]


def test_charge_rules_model_and_metric() -> None:
    assert validate_charge_rules(charge_model="dynamic", aggregation_type="count_agg") == {
        "charge_model": ["invalid_aggregation_type_or_charge_model"]
    }
    assert validate_charge_rules(charge_model="custom", aggregation_type="sum_agg") == {
        "charge_model": ["invalid_aggregation_type_or_charge_model"]
    }
    assert validate_charge_rules(
        charge_model="graduated_percentage", aggregation_type="sum_agg", premium=False
    ) == {"charge_model": ["graduated_percentage_requires_premium_license"]}
    assert validate_charge_rules(charge_model="tiered", aggregation_type="sum_agg") == {
        "charge_model": ["value_is_invalid"]
    }


def test_charge_rules_invoicing_options() -> None:
    assert validate_charge_rules(charge_model="standard", aggregation_type="sum_agg", invoiceable=False) == {
        "invoiceable": ["must_be_true_unless_pay_in_advance"]
    }
    assert validate_charge_rules(
        charge_model="standard", aggregation_type="sum_agg", regroup_paid_fees="invoice"
    ) == {"regroup_paid_fees": ["only_compatible_with_pay_in_advance_and_non_invoiceable"]}
    assert (
        validate_charge_rules(
            charge_model="standard",
            aggregation_type="sum_agg",
            pay_in_advance=True,
            invoiceable=False,
            regroup_paid_fees="invoice",
        )
        == {}
    )
    assert validate_charge_rules(
        charge_model="standard", aggregation_type="sum_agg", pay_in_advance=True, min_amount_cents=100
    ) == {"min_amount_cents": ["not_compatible_with_pay_in_advance"]}
