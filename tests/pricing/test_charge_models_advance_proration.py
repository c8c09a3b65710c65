"""Pay-in-advance delta rule (V21–V23) and prorated pricing (V24–V25, prorated volume)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest

from billow.core.money import to_cents
from billow.pricing.charge_models import (
    AdvanceEvent,
    ChargeInput,
    ProratedEventValue,
    build_charge_model_registry,
    input_without_event,
    pay_in_advance_delta,
    prorated_graduated_amount,
)
from billow.pricing.charge_models.base import parse_ranges

D = Decimal
MODELS = build_charge_model_registry()


def advance_fees(
    model: str,
    properties: Mapping[str, Any],
    steps: Sequence[tuple[int, int]],
    aggregation_type: str = "sum_agg",
) -> list[int]:
    """Fees (cents) for successive events given ``(period total A, units applied a)``."""
    fees = []
    for count, (total, applied) in enumerate(steps, start=1):
        with_event = ChargeInput(
            units=D(total), properties=properties, events_count=count, aggregation_type=aggregation_type
        )
        result = pay_in_advance_delta(MODELS[model], with_event, AdvanceEvent(units=D(applied)))
        fees.append(to_cents(result.amount, "EUR"))
    return fees


def test_v21_sum_pay_in_advance_high_water_mark() -> None:
    # +10, −4, +8: totals 10, 6, 14; units applied 10, 0, 4 (the peak rises from 10 to 14)
    assert advance_fees("standard", {"amount": "1"}, [(10, 10), (6, 0), (14, 4)]) == [1_000, 0, 400]


def test_v21_units_and_unit_amount() -> None:
    with_event = ChargeInput(units=D(14), properties={"amount": "1"}, events_count=3)
    result = pay_in_advance_delta(MODELS["standard"], with_event, AdvanceEvent(units=D(4)))
    assert (result.amount, result.units, result.unit_amount) == (D(4), D(4), D(1))
    zero = pay_in_advance_delta(MODELS["standard"], with_event, AdvanceEvent(units=D(0)))
    assert (zero.amount, zero.unit_amount) == (D(0), D(0))


def test_v22_count_pay_in_advance_graduated() -> None:
    props = {
        "graduated_ranges": [
            {"from_value": 0, "to_value": 2, "per_unit_amount": "0", "flat_amount": "0"},
            {"from_value": 3, "to_value": None, "per_unit_amount": "2", "flat_amount": "0"},
        ]
    }
    assert advance_fees("graduated", props, [(1, 1), (2, 1), (3, 1)], "count_agg") == [0, 0, 200]


def test_v23_unique_count_pay_in_advance() -> None:
    # id_1 add, id_1 remove, id_1 add, id_2, id_2, id_3, id_3 remove
    steps = [(1, 1), (0, 0), (1, 0), (2, 1), (2, 0), (3, 1), (2, 0)]
    fees = advance_fees("standard", {"amount": "12"}, steps, "unique_count_agg")
    assert fees == [1_200, 0, 0, 1_200, 0, 1_200, 0]


FLAT_FIRST = {
    "graduated_ranges": [
        {"from_value": 0, "to_value": 5, "per_unit_amount": "1", "flat_amount": "10"},
        {"from_value": 6, "to_value": None, "per_unit_amount": "0.5", "flat_amount": "3"},
    ]
}


def test_first_event_carries_the_first_range_flat_fee() -> None:
    # The "before event" side prices 0 (not the 10 flat fee) so the first event pays 1 + 10.
    with_event = ChargeInput(units=D(1), properties=FLAT_FIRST, events_count=1, aggregation_type="count_agg")
    result = pay_in_advance_delta(MODELS["graduated"], with_event, AdvanceEvent(units=D(1)))
    assert result.amount == D(11)
    assert result.without_event.amount == 0
    # Crossing into the second tier adds its flat fee.
    crossing = ChargeInput(units=D(6), properties=FLAT_FIRST, events_count=6, aggregation_type="count_agg")
    assert pay_in_advance_delta(MODELS["graduated"], crossing, AdvanceEvent(units=D(1))).amount == D("3.5")


def test_estimate_path_keeps_the_flat_fee_on_the_before_side() -> None:
    with_event = ChargeInput(units=D(1), properties=FLAT_FIRST, events_count=1)
    result = pay_in_advance_delta(
        MODELS["graduated"], with_event, AdvanceEvent(units=D(1)), suppress_first_flat_fee=False
    )
    assert result.amount == D(1)


def test_graduated_percentage_first_event_flat_fee_and_details() -> None:
    props = {
        "graduated_percentage_ranges": [
            {"from_value": 0, "to_value": 100, "rate": "5", "flat_amount": "2"},
            {"from_value": 101, "to_value": None, "rate": "2", "flat_amount": "10"},
        ]
    }
    with_event = ChargeInput(units=D(50), properties=props, events_count=1, event_values=(D(50),))
    result = pay_in_advance_delta(MODELS["graduated_percentage"], with_event, AdvanceEvent(units=D(50)))
    assert result.amount == D("4.5")
    assert result.amount_details == {
        "graduated_percentage_ranges": [
            {
                "from_value": 0,
                "to_value": 100,
                "flat_unit_amount": "2.0",
                "rate": "5.0",
                "units": "50.0",
                "per_unit_total_amount": "0.09",
                "total_with_flat_amount": "4.5",
            }
        ]
    }


def test_percentage_pay_in_advance_delta_and_details() -> None:
    # V10 as pay-in-advance: the fourth event of 10 pays 1 % of 10 + the fixed 5.
    props = {"rate": "1", "fixed_amount": "5", "free_units_per_events": 3}
    values = (D(10),) * 4
    with_event = ChargeInput(units=D(40), properties=props, events_count=4, event_values=values)
    result = pay_in_advance_delta(MODELS["percentage"], with_event, AdvanceEvent(units=D(10)))
    assert result.amount == D("5.1")
    assert result.amount_details == {
        "rate": "1.0",
        "fixed_fee_unit_amount": "5.0",
        "units": "10.0",
        "free_units": "0.0",
        "paid_units": "10.0",
        "free_events": "0.0",
        "paid_events": "1.0",
        "fixed_fee_total_amount": "5.0",
        "min_max_adjustment_total_amount": "0.0",
        "per_unit_total_amount": "0.1",
    }
    third = ChargeInput(units=D(30), properties=props, events_count=3, event_values=values[:3])
    assert pay_in_advance_delta(MODELS["percentage"], third, AdvanceEvent(units=D(10))).amount == 0


def test_percentage_min_max_pay_in_advance_prices_the_event_alone() -> None:
    props = {"rate": "1", "fixed_amount": "1", "per_transaction_min_amount": "1.75"}
    values = (D(100), D(10))
    with_event = ChargeInput(units=D(110), properties=props, events_count=2, event_values=values)
    assert pay_in_advance_delta(MODELS["percentage"], with_event, AdvanceEvent(units=D(10))).amount == D(
        "1.75"
    )


def test_dynamic_pay_in_advance_delta() -> None:
    with_event = ChargeInput(units=D(2), properties={}, events_count=2, precise_total_amount_cents=D("912"))
    event = AdvanceEvent(units=D(1), precise_total_amount_cents=D("901.9"))
    assert to_cents(pay_in_advance_delta(MODELS["dynamic"], with_event, event).amount, "EUR") == 902


def test_input_without_event() -> None:
    with_event = ChargeInput(
        units=D(30),
        properties={},
        events_count=3,
        event_values=(D(5), D(10), D(15)),
        precise_total_amount_cents=D(9),
        full_units_number=D(40),
        custom_amount=D(7),
    )
    before = input_without_event(with_event, AdvanceEvent(units=D(15), precise_total_amount_cents=D(4)))
    assert before.units == D(15)
    assert before.events_count == 2
    assert before.event_values == (D(5), D(10))
    assert before.precise_total_amount_cents == D(5)
    assert before.full_units_number is None
    assert before.custom_amount is None
    assert before.excluding_event is True
    middle = input_without_event(with_event, AdvanceEvent(units=D(10), value_index=1))
    assert middle.event_values == (D(5), D(15))
    untouched = input_without_event(with_event, AdvanceEvent(units=D(1), value_index=None))
    assert untouched.event_values == with_event.event_values


# --------------------------------------------------------------------------- prorated graduated

V24_PROPS = {
    "graduated_ranges": [
        {"from_value": 0, "to_value": 5, "per_unit_amount": "10", "flat_amount": "100"},
        {"from_value": 6, "to_value": 15, "per_unit_amount": "5", "flat_amount": "50"},
        {"from_value": 16, "to_value": None, "per_unit_amount": "2", "flat_amount": "0"},
    ]
}


def prorated_cents(properties: Mapping[str, Any], events: Sequence[ProratedEventValue]) -> int:
    units = sum((event.prorated for event in events), D(0))
    full = sum((event.full for event in events), D(0))
    inp = ChargeInput(
        units=units,
        properties=properties,
        prorated=True,
        prorated_events=tuple(events),
        full_units_number=full,
    )
    return to_cents(MODELS["graduated"].compute(inp).amount, "EUR")


def test_v24_prorated_graduated_event_walk() -> None:
    # Sept 2023 (30 days): (value, days left in the period incl. the event's day)
    steps = [(2, 21), (5, 15), (-6, 11), (10, 6), (4, 5), (60, 1)]
    expected = [11_400, 18_400, 16_567, 17_967, 18_300, 18_700]
    events: list[ProratedEventValue] = []
    assert prorated_cents(V24_PROPS, events) == 10_000
    for (value, days), amount in zip(steps, expected, strict=True):
        events.append(ProratedEventValue(full=D(value), prorated=D(value) * days / 30))
        assert prorated_cents(V24_PROPS, events) == amount


def test_v24_carried_units_next_period() -> None:
    # October: the 75 units carried over enter as one event prorated at 31/31
    carried = [ProratedEventValue(full=D(75), prorated=D(75))]
    assert prorated_cents(V24_PROPS, carried) == 37_000


V25_PROPS = {
    "graduated_ranges": [
        {"from_value": 0, "to_value": 5, "per_unit_amount": "0", "flat_amount": "0"},
        {"from_value": 6, "to_value": None, "per_unit_amount": "12", "flat_amount": "0"},
    ]
}


def test_v25_prorated_graduated_with_carry_over() -> None:
    december = [ProratedEventValue(full=D(10), prorated=D(10))]
    assert prorated_cents(V25_PROPS, december) == 6_000
    january = [*december, ProratedEventValue(full=D(2), prorated=D(2) * 26 / 31)]
    assert prorated_cents(V25_PROPS, january) == 8_013


def test_prorated_graduated_skips_zero_prorated_additions_and_orphan_removals() -> None:
    ranges = parse_ranges(V25_PROPS["graduated_ranges"])
    events = [
        ProratedEventValue(full=D(1), prorated=D(0)),  # removed before the period: no level change
        ProratedEventValue(full=D(-1), prorated=D(0)),  # its orphan removal
        ProratedEventValue(full=D(7), prorated=D(7)),
    ]
    assert prorated_graduated_amount(ranges, events, D(7)) == D(24)


def test_prorated_graduated_negative_level_prices_nothing() -> None:
    ranges = parse_ranges(V24_PROPS["graduated_ranges"])
    events = [ProratedEventValue(full=D(-3), prorated=D(-1))]
    assert prorated_graduated_amount(ranges, events, D(-1)) == 0


def test_prorated_graduated_unit_amount_over_full_units() -> None:
    # 12 full units prorated to 6: 5 in the free tier, 7 × 0.5 × 12 = 42 in the paid one
    events = (ProratedEventValue(full=D(12), prorated=D(6)),)
    inp = ChargeInput(units=D(6), properties=V25_PROPS, prorated=True, prorated_events=events)
    result = MODELS["graduated"].compute(inp)
    assert result.amount == D(42)
    assert result.unit_amount == D("3.5")
    assert result.amount_details == {}


# --------------------------------------------------------------------------- prorated volume


@pytest.mark.parametrize(
    ("prorated_units", "full_units", "expected"),
    [(D("5"), D("15"), D("60")), (D("5"), D("10"), D("125")), (D("0"), D("0"), D("100"))],
)
def test_prorated_volume_tier_from_full_units(
    prorated_units: Decimal, full_units: Decimal, expected: Decimal
) -> None:
    props = {
        "volume_ranges": [
            {"from_value": 0, "to_value": 10, "per_unit_amount": "5", "flat_amount": "100"},
            {"from_value": 11, "to_value": None, "per_unit_amount": "2", "flat_amount": "50"},
        ]
    }
    inp = ChargeInput(units=prorated_units, properties=props, prorated=True, full_units_number=full_units)
    result = MODELS["volume"].compute(inp)
    assert result.amount == expected
