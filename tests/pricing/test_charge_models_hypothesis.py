"""Property-based checks of the charge models (exact Decimal arithmetic throughout)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from billow.core.money import ceil
from billow.pricing.charge_models import ChargeInput, build_charge_model_registry

D = Decimal
MODELS = build_charge_model_registry()

prices = st.decimals(min_value=0, max_value=1_000, places=4, allow_nan=False, allow_infinity=False)
units_values = st.decimals(min_value=0, max_value=100_000, places=3, allow_nan=False, allow_infinity=False)


@st.composite
def tiers(draw: st.DrawFn, *, volume: bool) -> list[dict[str, Any]]:
    """Valid ranges: inclusive integer bounds (volume needs them), graduated sometimes adjacent."""
    count = draw(st.integers(min_value=1, max_value=5))
    widths = draw(st.lists(st.integers(min_value=1, max_value=50), min_size=count - 1, max_size=count - 1))
    adjacent = not volume and draw(st.booleans())
    ranges: list[dict[str, Any]] = []
    start = draw(st.sampled_from([0, 1]))
    for index in range(count):
        end = None if index == count - 1 else start + widths[index]
        ranges.append(
            {
                "from_value": start,
                "to_value": end,
                "per_unit_amount": str(draw(prices)),
                "flat_amount": str(draw(prices)),
            }
        )
        if end is not None:
            start = end if adjacent else end + 1
    return ranges


def amount(model: str, units: Decimal, properties: dict[str, Any]) -> Decimal:
    return MODELS[model].compute(ChargeInput(units=units, properties=properties)).amount


@given(tiers(volume=False), units_values, units_values)
def test_graduated_is_monotone_in_units(ranges: list[dict[str, Any]], a: Decimal, b: Decimal) -> None:
    low, high = sorted((a, b))
    props = {"graduated_ranges": ranges}
    assert amount("graduated", low, props) <= amount("graduated", high, props)


@given(tiers(volume=True), units_values, units_values)
def test_volume_is_monotone_in_units(ranges: list[dict[str, Any]], a: Decimal, b: Decimal) -> None:
    # Volume pricing is only monotone when a higher tier never undercuts the one below; make the
    # per-unit price and flat fee non-decreasing tier by tier.
    running_unit = D(0)
    running_flat = D(0)
    for tier in ranges:
        running_unit += D(tier["per_unit_amount"])
        running_flat += D(tier["flat_amount"])
        tier["per_unit_amount"] = str(running_unit)
        tier["flat_amount"] = str(running_flat)
    low, high = sorted((a, b))
    props = {"volume_ranges": ranges}
    assert amount("volume", low, props) <= amount("volume", high, props)


@given(
    units=units_values,
    free_units=st.integers(min_value=0, max_value=1_000),
    size=st.integers(min_value=1, max_value=500),
    price=prices,
)
def test_package_amount(units: Decimal, free_units: int, size: int, price: Decimal) -> None:
    props = {"amount": str(price), "package_size": size, "free_units": free_units}
    expected = ceil((units - free_units) / size) * price if units > free_units else D(0)
    assert amount("package", units, props) == expected


@given(
    values=st.lists(st.decimals(min_value=0, max_value=10_000, places=2), min_size=1, max_size=20),
    rate=st.decimals(min_value=0, max_value=100, places=3),
    fixed=st.decimals(min_value=0, max_value=5, places=2),
    bounds=st.tuples(
        st.decimals(min_value=0, max_value=50, places=2), st.decimals(min_value=0, max_value=50, places=2)
    ),
    free_events=st.integers(min_value=0, max_value=5),
)
def test_percentage_min_max_bounds(
    values: list[Decimal], rate: Decimal, fixed: Decimal, bounds: tuple[Decimal, Decimal], free_events: int
) -> None:
    minimum, maximum = sorted(bounds)
    props: dict[str, Any] = {
        "rate": str(rate),
        "fixed_amount": str(fixed),
        "per_transaction_min_amount": str(minimum),
        "per_transaction_max_amount": str(maximum),
    }
    if free_events:
        props["free_units_per_events"] = free_events
    inp = ChargeInput(
        units=sum(values, D(0)), properties=props, events_count=len(values), event_values=tuple(values)
    )
    paying = max(len(values) - free_events, 0)
    result = MODELS["percentage"].compute(inp).amount
    assert paying * minimum <= result <= paying * maximum
