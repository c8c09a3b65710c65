"""``GET /customers/{id}/projected_usage`` (metering.md §4.2) and ``/past_usage`` (§4.3)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.billing.helpers import customer, drain, invoices, plan, start_clock, subscribe, tick_at
from tests.usage.helpers import charge, event, metric, past_usage, projected_usage

START = datetime(2024, 1, 10, 12, tzinfo=UTC)


def _plan(api: Any, runtime: Any) -> dict[str, Any]:
    start_clock(runtime, START)
    customer(api)
    std = metric(api, "std", "sum_agg", field_name="n", name="A standard")
    grad = metric(api, "grad", "sum_agg", field_name="n", name="B graduated")
    seats = metric(api, "seats", "sum_agg", field_name="n", name="C seats", recurring=True)
    created = plan(
        api,
        amount_cents=1000,
        charges=[
            charge(std, properties={"amount": "2"}),
            charge(
                grad,
                "graduated",
                properties={
                    "graduated_ranges": [
                        {"from_value": 0, "to_value": 10, "per_unit_amount": "1", "flat_amount": "0"},
                        {"from_value": 11, "to_value": None, "per_unit_amount": "0.5", "flat_amount": "0"},
                    ]
                },
            ),
            charge(seats, properties={"amount": "1"}),
        ],
    )
    subscribe(api, subscription_at="2024-01-01T00:00:00Z")
    drain(api, runtime)
    return created


def test_projected_standard_graduated_and_recurring(api, runtime):
    _plan(api, runtime)
    day = datetime(2024, 1, 5, tzinfo=UTC)
    for code in ("std", "grad", "seats"):
        event(api, code, day, n=10 if code != "seats" else 5)
    usage = projected_usage(api)
    # Day 10 of 31: r = 10/31, so 10 units project to round(10 / r, 2) = 31.
    rows = {
        c["billable_metric"]["code"]: (
            c["units"],
            c["amount_cents"],
            c["projected_units"],
            c["projected_amount_cents"],
        )
        for c in usage["charges_usage"]
    }
    assert rows == {
        "std": ("10.0", 2000, "31.0", 6200),
        "grad": ("10.0", 1000, "31.0", 2050),
        "seats": ("5.0", 500, "5.0", 500),
    }
    assert (usage["amount_cents"], usage["projected_amount_cents"]) == (3500, 8750)
    assert [c["billable_metric"]["code"] for c in usage["charges_usage"]] == ["std", "grad", "seats"]
    first = usage["charges_usage"][0]
    assert set(first) == {
        "units",
        "events_count",
        "amount_cents",
        "amount_currency",
        "projected_units",
        "projected_amount_cents",
        "projected_presentation_breakdowns",
        "pricing_unit_details",
        "charge",
        "billable_metric",
        "filters",
        "grouped_usage",
        "presentation_breakdowns",
    }
    assert set(first["charge"]) == {"lago_id", "charge_model", "invoice_display_name"}
    assert (usage["from_datetime"], usage["to_datetime"], usage["lago_invoice_id"]) == (
        "2024-01-01T00:00:00Z",
        "2024-01-31T23:59:59Z",
        None,
    )


def test_past_usage_after_two_billed_periods(api, runtime):
    _plan(api, runtime)
    event(api, "std", datetime(2024, 1, 5, tzinfo=UTC), n=3)
    event(api, "grad", datetime(2024, 1, 6, tzinfo=UTC), n=12)
    tick_at(runtime, datetime(2024, 2, 1, tzinfo=UTC))
    event(api, "std", datetime(2024, 2, 3, tzinfo=UTC), n=4)
    tick_at(runtime, datetime(2024, 3, 1, tzinfo=UTC))
    billed = invoices(api)
    assert [i["fees_amount_cents"] for i in billed] == [1000 + 600 + 1100, 1000 + 800]

    body = past_usage(api)
    periods = body["usage_periods"]
    assert [(p["from_datetime"], p["to_datetime"], p["issuing_date"]) for p in periods] == [
        ("2024-02-01T00:00:00Z", "2024-02-29T23:59:59Z", "2024-03-01"),
        ("2024-01-01T00:00:00Z", "2024-01-31T23:59:59Z", "2024-02-01"),
    ]
    feb, jan = periods
    assert (jan["amount_cents"], jan["taxes_amount_cents"], jan["total_amount_cents"]) == (2700, 0, 2700)
    assert jan["lago_invoice_id"] == billed[0]["lago_id"]
    assert {c["billable_metric"]["code"]: (c["units"], c["amount_cents"]) for c in jan["charges_usage"]} == {
        "std": ("3.0", 600),
        "grad": ("12.0", 1100),
    }
    assert [(c["billable_metric"]["code"], c["amount_cents"]) for c in feb["charges_usage"]] == [("std", 800)]
    assert body["meta"] == {
        "current_page": 1,
        "next_page": None,
        "prev_page": None,
        "total_pages": 1,
        "total_count": 2,
    }

    one = past_usage(api, periods_count=1)
    assert [p["lago_invoice_id"] for p in one["usage_periods"]] == [billed[1]["lago_id"]]
    assert (one["meta"]["total_pages"], one["meta"]["next_page"]) == (2, 2)
    second = past_usage(api, per_page=1, page=2)
    assert [p["lago_invoice_id"] for p in second["usage_periods"]] == [billed[0]["lago_id"]]
    grad_only = past_usage(api, billable_metric_code="grad")
    assert [
        [c["billable_metric"]["code"] for c in p["charges_usage"]] for p in grad_only["usage_periods"]
    ] == [
        [],
        ["grad"],
    ]

    missing = api.get("/customers/cus_1/past_usage")
    assert (missing.status_code, missing.json()["error_details"]) == (
        422,
        {"external_subscription_id": ["value_is_mandatory"]},
    )
    unknown = api.get(
        "/customers/cus_1/past_usage", external_subscription_id="sub_1", billable_metric_code="x"
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "billable_metric_not_found")
    assert past_usage(api, customer="nobody")["usage_periods"] == []
