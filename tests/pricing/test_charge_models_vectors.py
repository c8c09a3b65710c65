"""metering.md §6 pricing vectors for the pure charge models (amounts in cents unless noted)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest

from billow.core.money import round_half_up, to_cents
from billow.pricing.charge_models import (
    ChargeInput,
    ChargeModel,
    build_charge_model_registry,
    convert_pricing_unit_amount,
    true_up_amount,
)

D = Decimal
MODELS = build_charge_model_registry()


def tier(start: int | str, end: int | str | None, per_unit: str = "0", flat: str = "0") -> dict[str, Any]:
    return {
        "from_value": D(start) if isinstance(start, str) else start,
        "to_value": D(end) if isinstance(end, str) else end,
        "per_unit_amount": per_unit,
        "flat_amount": flat,
    }


def price(model: str, units: Decimal | int | str, properties: Mapping[str, Any], **kwargs: Any) -> Decimal:
    inp = ChargeInput(units=D(units), properties=properties, **kwargs)
    return MODELS[model].compute(inp).amount


def cents(amount: Decimal) -> int:
    return to_cents(amount, "EUR")


def successive_percentage(properties: Mapping[str, Any], values: Sequence[int]) -> list[int]:
    """Period amount (cents) after each event of a sum metric."""
    model: ChargeModel = MODELS["percentage"]
    out = []
    for n in range(1, len(values) + 1):
        seen = tuple(D(v) for v in values[:n])
        inp = ChargeInput(units=sum(seen, D(0)), properties=properties, events_count=n, event_values=seen)
        out.append(cents(model.compute(inp).amount))
    return out


# V6 graduated [0–5: 10/u + 100, 6–∞: 5/u + 50]
V6 = {"graduated_ranges": [tier(0, 5, "10", "100"), tier(6, None, "5", "50")]}


@pytest.mark.parametrize(("units", "expected"), [(3, 13_000), (8, 21_500)])
def test_v6_graduated(units: int, expected: int) -> None:
    assert cents(price("graduated", units, V6, events_count=units)) == expected


def test_v6_graduated_amount_details() -> None:
    result = MODELS["graduated"].compute(ChargeInput(units=D(8), properties=V6, events_count=8))
    assert result.amount_details == {
        "graduated_ranges": [
            {
                "from_value": 0,
                "to_value": 5,
                "flat_unit_amount": "100.0",
                "per_unit_amount": "10.0",
                "units": "5.0",
                "per_unit_total_amount": "50.0",
                "total_with_flat_amount": "150.0",
            },
            {
                "from_value": 6,
                "to_value": None,
                "flat_unit_amount": "50.0",
                "per_unit_amount": "5.0",
                "units": "3.0",
                "per_unit_total_amount": "15.0",
                "total_with_flat_amount": "65.0",
            },
        ]
    }
    assert result.unit_amount == D("26.875")


def test_v7_graduated_first_flat_fee_without_usage() -> None:
    props = {"graduated_ranges": [tier(0, 10, "2", "100"), tier(11, None, "1", "50")]}
    result = MODELS["graduated"].compute(ChargeInput(units=D(0), properties=props))
    assert cents(result.amount) == 10_000
    assert result.unit_amount == 0
    amount_cents = cents(result.amount)
    assert amount_cents + int(round_half_up(D(amount_cents) * D(20) / D(100))) == 12_000
    details = result.amount_details["graduated_ranges"]
    assert len(details) == 1
    assert details[0]["units"] == "0.0"
    assert details[0]["per_unit_amount"] == "0.0"


@pytest.mark.parametrize(("units", "expected"), [(5, 12_500), (15, 8_000)])
def test_v8_volume(units: int, expected: int) -> None:
    props = {"volume_ranges": [tier(0, 10, "5", "100"), tier(11, None, "2", "50")]}
    assert cents(price("volume", units, props)) == expected


def test_v8_volume_amount_details() -> None:
    props = {"volume_ranges": [tier(0, 10, "5", "100"), tier(11, None, "2", "50")]}
    result = MODELS["volume"].compute(ChargeInput(units=D(15), properties=props))
    assert result.amount_details == {
        "flat_unit_amount": "50.0",
        "per_unit_amount": "2.0",
        "per_unit_total_amount": "30.0",
    }
    empty = MODELS["volume"].compute(ChargeInput(units=D(0), properties=props))
    assert empty.amount == D(100)
    assert empty.amount_details["per_unit_amount"] == "0.0"


@pytest.mark.parametrize(
    ("free_units", "units", "expected"),
    [(0, 3, 10_000), (0, 15, 20_000), (5, 3, 0), (5, 12, 10_000)],
)
def test_v9_package(free_units: int, units: int, expected: int) -> None:
    props = {"amount": "100", "package_size": 10, "free_units": free_units}
    assert cents(price("package", units, props)) == expected


def with_tax(amount_cents: int, rate: int = 20) -> int:
    return amount_cents + int(round_half_up(D(amount_cents) * rate / 100))


def test_v10_percentage_free_units_per_events() -> None:
    props = {"rate": "1", "fixed_amount": "5", "free_units_per_events": 3}
    amounts = successive_percentage(props, [10, 10, 10, 10])
    assert amounts == [0, 0, 0, 510]
    assert with_tax(amounts[-1]) == 612


def test_v11_percentage_free_units_per_total_aggregation() -> None:
    props = {"rate": "1", "fixed_amount": "5", "free_units_per_total_aggregation": "15.0"}
    amounts = successive_percentage(props, [4, 4, 4, 4, 10])
    assert amounts == [0, 0, 0, 501, 1_011]
    assert [with_tax(a) for a in amounts[3:]] == [601, 1_213]


def test_v12_percentage_both_free_settings() -> None:
    props = {
        "rate": "1",
        "fixed_amount": "5",
        "free_units_per_events": 3,
        "free_units_per_total_aggregation": "15.0",
    }
    assert successive_percentage(props, [10, 10, 10]) == [0, 505, 1_015]


def test_v12_percentage_amount_details() -> None:
    props = {
        "rate": "1",
        "fixed_amount": "5",
        "free_units_per_events": 3,
        "free_units_per_total_aggregation": "15.0",
    }
    values = (D(10), D(10), D(10))
    inp = ChargeInput(units=D(30), properties=props, events_count=3, event_values=values)
    assert MODELS["percentage"].compute(inp).amount_details == {
        "units": "30.0",
        "free_units": "15.0",
        "free_events": 1,
        "paid_units": "15.0",
        "rate": "1.0",
        "per_unit_total_amount": "0.15",
        "paid_events": 2,
        "fixed_fee_unit_amount": "5.0",
        "fixed_fee_total_amount": "10.0",
        "min_max_adjustment_total_amount": "0.0",
    }


def test_v13_percentage_per_transaction_min_max() -> None:
    props = {
        "rate": "1",
        "fixed_amount": "1",
        "per_transaction_min_amount": "1.75",
        "per_transaction_max_amount": "12",
    }
    assert successive_percentage(props, [100, 1_000, 10_000]) == [200, 1_300, 2_500]
    values = (D(100), D(1_000), D(10_000))
    inp = ChargeInput(units=D(11_100), properties=props, events_count=3, event_values=values)
    details = MODELS["percentage"].compute(inp).amount_details
    # 111 % + 3 fixed = 114; clamped per event to 2 + 11 + 12 = 25
    assert details["min_max_adjustment_total_amount"] == "-89.0"


def test_v13_percentage_min_lifts_small_transactions() -> None:
    props = {"rate": "1", "per_transaction_min_amount": "1.75"}
    values = (D(10), D(20))
    inp = ChargeInput(units=D(30), properties=props, events_count=2, event_values=values)
    assert MODELS["percentage"].compute(inp).amount == D("3.50")


def test_percentage_count_metric_running_totals() -> None:
    # count_agg: running totals are [1, 2, .., U]; 2 free events, 1 % of the rest + 1 per paid event.
    props = {"rate": "1", "fixed_amount": "1", "free_units_per_events": 2}
    inp = ChargeInput(units=D(5), properties=props, events_count=5, aggregation_type="count_agg")
    result = MODELS["percentage"].compute(inp)
    assert result.amount == D("3.03")
    assert result.amount_details["free_units"] == "2.0"
    assert result.amount_details["paid_events"] == 3


V14 = {
    "graduated_percentage_ranges": [
        {"from_value": 0, "to_value": 100, "rate": "5", "flat_amount": "0"},
        {"from_value": 101, "to_value": None, "rate": "2", "flat_amount": "10"},
    ]
}


@pytest.mark.parametrize(("units", "expected"), [(50, 250), (150, 1_600)])
def test_v14_graduated_percentage(units: int, expected: int) -> None:
    assert cents(price("graduated_percentage", units, V14, events_count=1)) == expected


def test_v14_graduated_percentage_details() -> None:
    result = MODELS["graduated_percentage"].compute(ChargeInput(units=D(150), properties=V14))
    assert result.amount_details["graduated_percentage_ranges"][1] == {
        "from_value": 101,
        "to_value": None,
        "flat_unit_amount": "10.0",
        "rate": "2.0",
        "units": "50.0",
        "per_unit_total_amount": "1.0",
        "total_with_flat_amount": "11.0",
    }


def test_v15_dynamic() -> None:
    first = price("dynamic", 1, {}, precise_total_amount_cents=D("10.1"))
    both = price("dynamic", 2, {}, precise_total_amount_cents=D("10.1") + D("901.9"))
    assert (cents(first), cents(both)) == (10, 912)
    # grouped: each group is its own fee
    assert cents(price("dynamic", 1, {}, precise_total_amount_cents=D("901.9"))) == 902
    # no units, no amount
    assert price("dynamic", 0, {}, precise_total_amount_cents=D("10.1")) == 0


def test_v15_dynamic_zero_decimal_currency() -> None:
    amount = price("dynamic", 1, {}, precise_total_amount_cents=D("1234"), currency_exponent=0)
    assert amount == D(1234)


def test_v19_prorated_pay_in_advance_standard_units() -> None:
    # 10 units × 24/29 days, ceil to 5 decimals by the metering engine, × 29
    units = D("8.27587")
    assert cents(price("standard", units, {"amount": "29"})) == 24_000


def test_v20_prorated_unique_count_units() -> None:
    assert cents(price("standard", D("0.24138"), {"amount": "1"})) == 24


@pytest.mark.parametrize(
    ("units", "expected"),
    [(0, D(2)), (1, D(12)), (10, D(102)), (11, D(110)), (12, D(115)), (21, D(163))],
)
def test_v26_graduated_inclusive_ranges(units: int, expected: Decimal) -> None:
    props = {"graduated_ranges": [tier(0, 10, "10", "2"), tier(11, 20, "5", "3"), tier(21, None, "5", "3")]}
    assert price("graduated", units, props) == expected


@pytest.mark.parametrize(("units", "expected"), [("0.05", D("0.5")), ("0.5", D("3.0"))])
def test_v27_graduated_adjacent_decimal_ranges(units: str, expected: Decimal) -> None:
    props = {"graduated_ranges": [tier(0, "0.1", "10"), tier("0.1", 1, "5"), tier(1, None, "2")]}
    assert price("graduated", units, props) == expected


def test_v27_adjacent_details_echo_decimal_bounds() -> None:
    props = {"graduated_ranges": [tier(0, "0.1", "10"), tier("0.1", 1, "5"), tier(1, None, "2")]}
    result = MODELS["graduated"].compute(ChargeInput(units=D("0.5"), properties=props))
    second = result.amount_details["graduated_ranges"][1]
    assert second["from_value"] == D("0.1")
    assert second["units"] == "0.4"
    assert second["per_unit_total_amount"] == "2.0"


@pytest.mark.parametrize(
    ("units", "expected"),
    [
        ("0", D(10)),
        ("1", D(12)),
        ("100", D(210)),
        ("100.5", D("100.5")),
        ("101", D(101)),
        ("200", D(200)),
        ("300", D(200)),
    ],
)
def test_v28_volume(units: str, expected: Decimal) -> None:
    props = {"volume_ranges": [tier(0, 100, "2", "10"), tier(101, 200, "1"), tier(201, None, "0.5", "50")]}
    assert price("volume", units, props) == expected


def test_volume_ranges_sorted_by_from_value() -> None:
    props = {"volume_ranges": [tier(101, 200, "1"), tier(201, None, "0.5", "50"), tier(0, 100, "2", "10")]}
    assert price("volume", 1, props) == D(12)


@pytest.mark.parametrize(
    ("free_units", "amount", "unit_amount"),
    [(0, D(1_300), D("10.74")), (10, D(1_200), D("10.81")), (200, D(0), D(0))],
)
def test_v29_package_unit_amounts(free_units: int, amount: Decimal, unit_amount: Decimal) -> None:
    props = {"amount": "100", "package_size": 10, "free_units": free_units}
    result = MODELS["package"].compute(ChargeInput(units=D(121), properties=props))
    assert result.amount == amount
    assert round_half_up(result.unit_amount, 2) == unit_amount


def test_v29_package_amount_details() -> None:
    props = {"amount": "100", "package_size": 10, "free_units": 10}
    model = MODELS["package"]
    assert model.compute(ChargeInput(units=D(121), properties=props)).amount_details == {
        "free_units": "10.0",
        "paid_units": "111.0",
        "per_package_size": 10,
        "per_package_unit_amount": "100.0",
    }
    assert model.compute(ChargeInput(units=D(5), properties=props)).amount_details["paid_units"] == "0.0"
    assert model.compute(ChargeInput(units=D(0), properties=props)).amount_details == {
        "free_units": "0.0",
        "paid_units": "0.0",
        "per_package_size": 0,
        "per_package_unit_amount": "0.0",
    }


def test_v30_pricing_unit_conversion() -> None:
    result = MODELS["standard"].compute(ChargeInput(units=D(300), properties={"amount": "1.0"}))
    conversion = convert_pricing_unit_amount(result.amount, result.unit_amount, D("0.5"), 2)
    assert conversion.pricing_unit_amount_cents == 30_000
    assert conversion.amount_cents == 15_000
    assert conversion.precise_amount_cents == D(15_000)
    assert conversion.pricing_unit_unit_amount_cents == 100
    assert conversion.unit_amount_cents == D(50)


def test_pricing_unit_conversion_double_rounding() -> None:
    # 1.005 PU → 101 PU cents (first rounding) → × 0.333 = 0.33633 → 34 cents (second rounding)
    conversion = convert_pricing_unit_amount(D("1.005"), D("1.005"), D("0.333"), 2)
    assert conversion.pricing_unit_amount_cents == 101
    assert conversion.pricing_unit_precise_amount_cents == D("100.5")
    assert conversion.amount_cents == 34
    assert conversion.precise_amount_cents == D("33.633")
    # JPY has no minor unit: 0.33633 → 0
    assert convert_pricing_unit_amount(D("1.005"), D(0), D("0.333"), 0).amount_cents == 0


def test_pricing_unit_conversion_rejects_non_positive_rate() -> None:
    with pytest.raises(ValueError, match="conversion_rate"):
        convert_pricing_unit_amount(D(1), D(1), D(0), 2)


@pytest.mark.parametrize(
    ("used", "period_days", "covered_days", "expected"),
    [(700, 31, 31, 300), (200, 31, 15, 284), (1_000, 31, 31, 0), (500, 31, 15, 0)],
)
def test_v33_true_up(used: int, period_days: int, covered_days: int, expected: int) -> None:
    assert true_up_amount(1_000, used, period_days, covered_days) == expected


def test_v34_graduated_small_amounts_with_tax() -> None:
    props = {"graduated_ranges": [tier(0, None, "0.01", "0.01")]}
    amount_cents = cents(price("graduated", 4, props, events_count=4))
    taxes = int(round_half_up(D(amount_cents) * 20 / 100))
    assert (amount_cents, taxes, amount_cents + taxes) == (5, 1, 6)


def test_standard_amount_and_unit_amount() -> None:
    result = MODELS["standard"].compute(ChargeInput(units=D("20.0"), properties={"amount": "10"}))
    assert result.amount == D(200)
    assert result.unit_amount == D(10)
    assert result.amount_details == {}


def test_unit_amount_uses_full_units_when_given() -> None:
    inp = ChargeInput(units=D(5), properties={"amount": "2"}, full_units_number=D(10))
    assert MODELS["standard"].compute(inp).unit_amount == D(1)


def test_negative_usage_prices_nothing() -> None:
    result = MODELS["standard"].compute(ChargeInput(units=D(-3), properties={"amount": "5"}))
    assert (result.units, result.amount, result.unit_amount) == (D(0), D(0), D(0))
    raw = MODELS["standard"].compute_raw(ChargeInput(units=D(-3), properties={"amount": "5"}))
    assert raw.amount == D(-15)


def test_custom_model_returns_the_aggregation_amount() -> None:
    assert price("custom", 3, {}, custom_amount=D("12.5")) == D("12.5")
    assert price("custom", 3, {}) == 0
    result = MODELS["custom"].compute(ChargeInput(units=D(5), properties={}, custom_amount=D(10)))
    assert result.unit_amount == D(2)


def test_registry_keys_and_fresh_instances() -> None:
    registry = build_charge_model_registry()
    assert set(registry) == {
        "standard",
        "graduated",
        "graduated_percentage",
        "package",
        "percentage",
        "volume",
        "dynamic",
        "custom",
    }
    assert all(model.name == key for key, model in registry.items())
    assert registry["standard"] is not build_charge_model_registry()["standard"]
    with pytest.raises(TypeError):
        registry["extra"] = registry["standard"]  # type: ignore[index]


# --------------------------------------------------------------------------- projection (§4.2)


def project(
    model: str, units: int, properties: Mapping[str, Any], ratio: str, **kwargs: Any
) -> tuple[Any, ...]:
    projection = MODELS[model].project(ChargeInput(units=D(units), properties=properties, **kwargs), D(ratio))
    return projection.units, projection.amount


def test_projection_per_model() -> None:
    assert project("standard", 10, {"amount": "2"}, "0.5") == (D(20), D(40))
    assert project("graduated", 4, V6, "0.5") == (D(8), D(215))
    volume = {"volume_ranges": [tier(0, 10, "5", "100"), tier(11, None, "2", "50")]}
    assert project("volume", 5, volume, "0.5") == (D(10), D(150))
    package = {"amount": "100", "package_size": 10, "free_units": 5}
    assert project("package", 6, package, "0.5") == (D(12), D(100))
    assert project("percentage", 100, {"rate": "1"}, "0.25") == (D(400), D(4))
    assert project("standard", 0, {"amount": "2"}, "0.5") == (D(0), D(0))
    assert project("standard", 3, {"amount": "2"}, "0") == (D(0), D(0))
    # projected units are rounded to 2 decimals
    assert project("standard", 1, {"amount": "1"}, "0.3") == (D("3.33"), D("3.33"))
