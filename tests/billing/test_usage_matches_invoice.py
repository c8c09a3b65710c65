"""Property: ``current_usage`` just before a period ends equals the charge fees of the invoice that
period produces — per charge and in total — for random events and plans (standard, graduated,
package and percentage charges over count, sum, max and unique-count metrics)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billow.runtime import Runtime
from tests.billing.helpers import customer, drain, invoices, plan, start_clock, subscribe, tick_at
from tests.pricing.helpers import ok
from tests.support.api import Api, make_org
from tests.support.db import wipe
from tests.usage.helpers import by_code, charge, current_usage, metric

START = datetime(2024, 1, 10, 9, tzinfo=UTC)
BILLING_DAY = datetime(2024, 2, 1, tzinfo=UTC)
METRICS = {"calls": "count_agg", "bytes": "sum_agg", "peak": "max_agg", "users": "unique_count_agg"}

amounts = st.decimals(min_value=0, max_value=5, places=2, allow_nan=False).map(str)


@st.composite
def properties(draw: st.DrawFn, model: str) -> dict[str, Any]:
    if model == "standard":
        return {"amount": draw(amounts)}
    if model == "graduated":
        edge = draw(st.integers(1, 40))
        return {
            "graduated_ranges": [
                {
                    "from_value": 0,
                    "to_value": edge,
                    "per_unit_amount": draw(amounts),
                    "flat_amount": draw(amounts),
                },
                {
                    "from_value": edge + 1,
                    "to_value": None,
                    "per_unit_amount": draw(amounts),
                    "flat_amount": "0",
                },
            ]
        }
    if model == "package":
        return {
            "amount": draw(amounts),
            "package_size": draw(st.integers(1, 10)),
            "free_units": draw(st.integers(0, 5)),
        }
    found = {
        "rate": draw(st.decimals(min_value=0, max_value=30, places=1, allow_nan=False).map(str)),
        "fixed_amount": draw(amounts),
    }
    free_events = draw(st.integers(0, 3))
    return found | ({"free_units_per_events": free_events} if free_events else {})


@st.composite
def catalogs(draw: st.DrawFn) -> dict[str, tuple[str, dict[str, Any]]]:
    """Charged metrics (one charge each): code → (charge model, properties)."""
    codes = draw(st.lists(st.sampled_from(sorted(METRICS)), min_size=1, max_size=4, unique=True))
    plans: dict[str, tuple[str, dict[str, Any]]] = {}
    for code in codes:
        model = draw(st.sampled_from(("standard", "graduated", "package", "percentage")))
        plans[code] = (model, draw(properties(model)))
    return plans


events = st.lists(
    st.tuples(
        st.sampled_from(sorted(METRICS)),
        st.integers(0, 21 * 24 - 2),  # hours after the subscription's start, inside January
        st.integers(0, 60),
    ),
    max_size=40,
)


def _api(runtime: Runtime, client: Any) -> Api:
    wipe(runtime.db)
    start_clock(runtime, START)
    return Api(client, make_org(runtime).api_key)


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(catalog=catalogs(), sent=events)
def test_current_usage_before_the_period_ends_equals_the_invoice_charge_fees(
    runtime: Runtime, app_client: Any, catalog: dict[str, tuple[str, dict[str, Any]]], sent: list[Any]
) -> None:
    api = _api(runtime, app_client)
    created = {
        code: metric(api, code, agg, **({} if agg == "count_agg" else {"field_name": "v"}))
        for code, agg in METRICS.items()
    }
    charges = [charge(created[code], model, properties=props) for code, (model, props) in catalog.items()]
    customer(api)
    plan(api, amount_cents=1000, charges=charges)
    subscribe(api)
    drain(api, runtime)
    batch = [
        {
            "transaction_id": f"tx_{n}",
            "external_subscription_id": "sub_1",
            "code": code,
            "timestamp": (START + timedelta(hours=hours + 1)).timestamp(),
            "properties": {"v": value},
        }
        for n, (code, hours, value) in enumerate(sent)
    ]
    if batch:
        ok(api.post("/events/batch", {"events": batch}))
    clock_ = runtime.manual_clock
    assert clock_ is not None
    clock_.set(BILLING_DAY - timedelta(seconds=1))
    usage = current_usage(api)
    tick_at(runtime, BILLING_DAY)
    [invoice] = invoices(api)
    fees = {f["item"]["code"]: f["amount_cents"] for f in invoice["fees"] if f["item"]["type"] == "charge"}
    # A charge without units and amount has no fee on the invoice (Lago's rule): it bills 0.
    expected = {code: c["amount_cents"] for code, c in by_code(usage).items()}
    assert {code: fees.get(code, 0) for code in expected} == expected
    assert set(fees) <= set(expected)
    assert sum(fees.values()) == usage["amount_cents"]
    subscription_fee = sum(f["amount_cents"] for f in invoice["fees"] if f["item"]["type"] == "subscription")
    assert invoice["fees_amount_cents"] == subscription_fee + usage["amount_cents"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, 1800 + 300),  # 10 % of 180, 3 × 1.00: priced from units and count alone
        ({"free_units_per_events": 1}, 800 + 200),  # the first event (100) is free: read per event
        ({"free_units_per_total_aggregation": "120"}, 600 + 200),  # 120 units and 1 event free
    ],
)
def test_percentage_fees_with_and_without_per_event_terms(
    api: Api, runtime: Runtime, extra: dict[str, Any], expected: int
) -> None:
    start_clock(runtime, START)
    amount = metric(api, "amount", "sum_agg", field_name="v")
    props = {"rate": "10", "fixed_amount": "1", **extra}
    customer(api)
    plan(api, amount_cents=0, charges=[charge(amount, "percentage", properties=props)])
    subscribe(api)
    drain(api, runtime)
    for n, value in enumerate((100, 50, 30)):
        when = (START + timedelta(days=1, hours=n)).timestamp()
        body = {"transaction_id": f"t{n}", "external_subscription_id": "sub_1", "code": "amount"}
        ok(api.post("/events", {"event": {**body, "timestamp": when, "properties": {"v": value}}}))
    clock_ = runtime.manual_clock
    assert clock_ is not None
    clock_.set(BILLING_DAY - timedelta(seconds=1))
    assert current_usage(api)["amount_cents"] == expected
    tick_at(runtime, BILLING_DAY)
    [invoice] = invoices(api)
    assert [f["amount_cents"] for f in invoice["fees"] if f["item"]["type"] == "charge"] == [expected]
