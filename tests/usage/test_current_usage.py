"""``GET /customers/{id}/current_usage`` (metering.md §4.1 and the §6 vectors V1, V2, V3, V7,
V31, V34; pay-in-advance high-water mark §3.8)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from billow.billing.fees.compute import current_usage_charge_fees
from billow.billing.fees.engine import build_fee_engine
from billow.db.context import Ctx
from billow.pricing.plans.lookup import charges_for_plan
from billow.subscriptions.models import Subscription
from tests.billing import helpers as bh
from tests.billing.helpers import customer, drain, plan, start_clock, subscribe, tick_at
from tests.pricing.helpers import create_tax, ok
from tests.usage.helpers import charge, current_usage, event, metric

START = datetime(2024, 1, 10, 12, tzinfo=UTC)


def day(n: int, hour: int = 10) -> datetime:
    return datetime(2024, 1, n, hour, tzinfo=UTC)


def _setup(api: Any, runtime: Any, charges: list[dict[str, Any]], **plan_fields: Any) -> dict[str, Any]:
    start_clock(runtime, START)
    customer(api)
    created = plan(api, amount_cents=3000, charges=charges, **plan_fields)
    subscribe(api, subscription_at="2024-01-01T00:00:00Z")
    drain(api, runtime)
    return created


def _catalog(api: Any) -> dict[str, dict[str, Any]]:
    cloud = [{"key": "cloud", "values": ["aws", "gcp"]}]
    return {
        "calls": metric(api, "calls", name="Calls"),
        "hours": metric(api, "hours", "sum_agg", field_name="hours", name="hours", filters=cloud),
        "storage": metric(api, "storage", "sum_agg", field_name="gb", name="Storage", filters=cloud),
    }


def _zero(units: str = "0.0") -> dict[str, Any]:
    return {"units": units, "total_aggregated_units": units, "events_count": 0, "amount_cents": 0}


def test_exact_json_with_filters_groups_and_metric_order(api, runtime):
    m = _catalog(api)
    created = _setup(
        api,
        runtime,
        [
            charge(
                m["storage"],
                properties={"amount": "1"},
                filters=[
                    {
                        "invoice_display_name": "All clouds",
                        "properties": {"amount": "5"},
                        "values": {"cloud": ["aws", "gcp"]},
                    },
                    {
                        "invoice_display_name": "AWS only",
                        "properties": {"amount": "3"},
                        "values": {"cloud": ["aws"]},
                    },
                ],
            ),
            charge(m["calls"], properties={"amount": "10", "pricing_group_keys": ["region"]}),
            charge(
                m["hours"],
                properties={"amount": "0.12"},
                filters=[
                    {
                        "invoice_display_name": "GCP",
                        "properties": {"amount": "0.10"},
                        "values": {"cloud": ["gcp"]},
                    },
                    {"properties": {"amount": "0.08"}, "values": {"cloud": ["aws"]}},
                ],
            ),
        ],
    )
    ids = {c["billable_metric_code"]: c["lago_id"] for c in created["charges"]}
    codes = {c["billable_metric_code"]: c["code"] for c in created["charges"]}
    for region in ("us", "us", "eu"):
        event(api, "calls", day(2), region=region)
    event(api, "hours", day(3), cloud="aws", hours=100)
    event(api, "hours", day(3), cloud="gcp", hours=200)
    event(api, "storage", day(4), cloud="aws", gb=10)
    event(api, "storage", day(4), cloud="gcp", gb=7)

    usage = current_usage(api)

    def head(code: str, **numbers: Any) -> dict[str, Any]:
        bm = m[code]
        return {
            **numbers,
            "amount_currency": "EUR",
            "pricing_unit_details": None,
            "charge": {
                "lago_id": ids[code],
                "code": codes[code],
                "charge_model": "standard",
                "invoice_display_name": None,
            },
            "billable_metric": {
                "lago_id": bm["lago_id"],
                "name": bm["name"],
                "code": code,
                "aggregation_type": bm["aggregation_type"],
            },
        }

    def filt(name: str | None, values: Any, **numbers: Any) -> dict[str, Any]:
        return {
            **numbers,
            "pricing_unit_details": None,
            "invoice_display_name": name,
            "values": values,
            "presentation_breakdowns": [],
        }

    calls = head("calls", units="3.0", total_aggregated_units="3.0", events_count=3, amount_cents=3000)
    groups = [
        {
            "units": "2.0",
            "total_aggregated_units": "2.0",
            "events_count": 2,
            "amount_cents": 2000,
            "pricing_unit_details": None,
            "grouped_by": {"region": "us"},
            "filters": [],
            "presentation_breakdowns": [],
        },
        {
            "units": "1.0",
            "total_aggregated_units": "1.0",
            "events_count": 1,
            "amount_cents": 1000,
            "pricing_unit_details": None,
            "grouped_by": {"region": "eu"},
            "filters": [],
            "presentation_breakdowns": [],
        },
    ]
    hours = head("hours", units="300.0", total_aggregated_units="300.0", events_count=2, amount_cents=2800)
    storage = head("storage", units="17.0", total_aggregated_units="17.0", events_count=2, amount_cents=6500)
    assert usage == {
        "from_datetime": "2024-01-01T00:00:00Z",
        "to_datetime": "2024-01-31T23:59:59Z",
        "issuing_date": "2024-01-31",
        "currency": "EUR",
        "amount_cents": 12300,
        "total_amount_cents": 12300,
        "taxes_amount_cents": 0,
        "lago_invoice_id": None,
        "charges_usage": [
            {**calls, "filters": [], "grouped_usage": groups[::-1], "presentation_breakdowns": []},
            {
                **hours,
                "filters": [
                    filt(
                        "GCP",
                        {"cloud": ["gcp"]},
                        units="200.0",
                        total_aggregated_units="200.0",
                        events_count=1,
                        amount_cents=2000,
                    ),
                    filt(
                        None,
                        {"cloud": ["aws"]},
                        units="100.0",
                        total_aggregated_units="100.0",
                        events_count=1,
                        amount_cents=800,
                    ),
                    filt(None, None, **_zero()),
                ],
                "grouped_usage": [],
                "presentation_breakdowns": [],
            },
            {
                **storage,
                "filters": [
                    filt(
                        "All clouds",
                        {"cloud": ["aws", "gcp"]},
                        units="7.0",
                        total_aggregated_units="7.0",
                        events_count=1,
                        amount_cents=3500,
                    ),
                    filt(
                        "AWS only",
                        {"cloud": ["aws"]},
                        units="10.0",
                        total_aggregated_units="10.0",
                        events_count=1,
                        amount_cents=3000,
                    ),
                    filt(None, None, **_zero()),
                ],
                "grouped_usage": [],
                "presentation_breakdowns": [],
            },
        ],
    }


def test_v1_zero_usage_charges_appear_and_taxes_round_once(api, runtime):
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    calls = metric(api, "calls")
    bytes_ = metric(api, "bytes", "sum_agg", field_name="b")
    _setup(
        api,
        runtime,
        [
            charge(
                calls,
                "graduated",
                properties={
                    "graduated_ranges": [
                        {"from_value": 0, "to_value": None, "per_unit_amount": "0.01", "flat_amount": "0.01"}
                    ]
                },
            ),
            charge(
                bytes_,
                "graduated",
                properties={
                    "graduated_ranges": [
                        {"from_value": 0, "to_value": 10, "per_unit_amount": "2", "flat_amount": "100"},
                        {"from_value": 11, "to_value": None, "per_unit_amount": "1", "flat_amount": "50"},
                    ]
                },
            ),
        ],
    )
    for _ in range(4):
        event(api, "calls", day(3))
    usage = current_usage(api)
    # V34: 4 × 0.01 + 0.01 = 5 cents; V7: no event, the first range's flat fee still applies.
    assert [
        (c["billable_metric"]["code"], c["units"], c["amount_cents"]) for c in usage["charges_usage"]
    ] == [
        ("bytes", "0.0", 10000),
        ("calls", "4.0", 5),
    ]
    assert (usage["amount_cents"], usage["taxes_amount_cents"], usage["total_amount_cents"]) == (
        10005,
        2001,
        12006,
    )
    untaxed = current_usage(api, apply_taxes="false")
    assert (untaxed["taxes_amount_cents"], untaxed["total_amount_cents"]) == (0, 10005)


def test_pay_in_advance_prices_the_high_water_mark(api, runtime):
    seats = metric(api, "seats", "sum_agg", field_name="n")
    _setup(api, runtime, [charge(seats, pay_in_advance=True, invoiceable=True, properties={"amount": "29"})])
    for value in (10, -5, 2):
        event(api, "seats", day(6), n=value)
    [entry] = current_usage(api)["charges_usage"]
    # Running total 10, 5, 7: the fee shows 7 units but prices the peak of 10 (metering.md §3.8).
    assert (entry["units"], entry["amount_cents"], entry["events_count"]) == ("7.0", 29000, 3)


def test_narrowing_by_charge_and_group(api, runtime):
    a = metric(api, "a", "sum_agg", field_name="units", name="Alpha")
    b = metric(api, "b", "sum_agg", field_name="units", name="Beta")
    created = _setup(
        api,
        runtime,
        [
            charge(a, properties={"amount": "10", "pricing_group_keys": ["cloud", "user"]}),
            charge(b, properties={"amount": "20"}),
        ],
    )
    for cloud, user, units in (("aws", "u1", 4), ("aws", "u2", 4), ("gcp", "u1", 6)):
        event(api, "a", day(4), cloud=cloud, user=user, units=units)
    event(api, "b", day(4), units=2, cloud="aws")
    charge_a = next(c for c in created["charges"] if c["billable_metric_code"] == "a")

    by_code = current_usage(api, charge_code=charge_a["code"], apply_taxes="false")
    assert [(c["units"], c["amount_cents"]) for c in by_code["charges_usage"]] == [("14.0", 14000)]
    by_id = current_usage(api, charge_id=charge_a["lago_id"])
    assert by_id["amount_cents"] == 14000
    by_metric = current_usage(api, billable_metric_code="b")
    assert [c["billable_metric"]["code"] for c in by_metric["charges_usage"]] == ["b"]

    aws = current_usage(api, **{"charge_code": charge_a["code"], "group[cloud]": "aws"})
    [entry] = aws["charges_usage"]
    assert (entry["units"], entry["amount_cents"]) == ("8.0", 8000)
    assert sorted((g["grouped_by"]["user"], g["units"]) for g in entry["grouped_usage"]) == [
        ("u1", "4.0"),
        ("u2", "4.0"),
    ]
    assert all(set(g["grouped_by"]) == {"user"} for g in entry["grouped_usage"])
    flat = current_usage(api, skip_grouping="true")
    alpha = next(c for c in flat["charges_usage"] if c["billable_metric"]["code"] == "a")
    assert (alpha["units"], alpha["grouped_usage"]) == ("14.0", [])
    both = current_usage(api, **{"filter_by_group": '{"cloud": "aws"}'})
    assert [c["amount_cents"] for c in both["charges_usage"]] == [8000, 4000]


def test_full_usage_rules_and_errors(api, runtime, other_api):
    a = metric(api, "a", "sum_agg", field_name="units")
    created = _setup(api, runtime, [charge(a, properties={"amount": "1"})])
    code = created["charges"][0]["code"]
    event(api, "a", day(4), units=3)
    tick_at(runtime, datetime(2024, 2, 10, 12, tzinfo=UTC))
    event(api, "a", datetime(2024, 2, 2, tzinfo=UTC), units=5)

    def status(response: Any) -> tuple[int, str]:
        return response.status_code, response.json().get("code")

    full = current_usage(api, charge_code=code, full_usage="true")
    assert (full["from_datetime"], full["amount_cents"]) == ("2024-01-01T00:00:00Z", 800)
    assert current_usage(api, charge_code=code)["amount_cents"] == 500
    get = api.get
    assert status(
        get("/customers/cus_1/current_usage", external_subscription_id="sub_1", full_usage="true")
    ) == (
        405,
        "full_usage_not_allowed",
    )
    assert status(get("/customers/nope/current_usage", external_subscription_id="sub_1")) == (
        404,
        "customer_not_found",
    )
    assert status(get("/customers/cus_1/current_usage", external_subscription_id="other")) == (
        405,
        "no_active_subscription",
    )
    assert status(get("/customers/cus_1/current_usage")) == (405, "no_active_subscription")
    assert status(
        get("/customers/cus_1/current_usage", external_subscription_id="sub_1", charge_code="x")
    ) == (
        404,
        "charge_not_found",
    )
    assert status(
        get("/customers/cus_1/current_usage", external_subscription_id="sub_1", charge_id="not-a-uuid")
    ) == (404, "charge_not_found")
    # Another organization sees nothing of it.
    assert status(other_api.get("/customers/cus_1/current_usage", external_subscription_id="sub_1")) == (
        404,
        "customer_not_found",
    )


def test_prorated_charge_forbids_full_usage(api, runtime):
    seats = metric(api, "seats", "sum_agg", field_name="n", recurring=True)
    created = _setup(api, runtime, [charge(seats, prorated=True, properties={"amount": "1"})])
    response = api.get(
        "/customers/cus_1/current_usage",
        external_subscription_id="sub_1",
        charge_code=created["charges"][0]["code"],
        full_usage="true",
    )
    assert (response.status_code, response.json()["code"]) == (405, "full_usage_not_allowed")


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_usage_window_in_customer_timezone(api, runtime, tz):
    start_clock(runtime, START)
    ok(api.post("/customers", {"customer": {"external_id": "cus_1", "timezone": tz}}))
    plan(api, amount_cents=0)
    subscribe(api, subscription_at="2023-12-01T00:00:00Z")
    drain(api, runtime)
    usage = current_usage(api)
    expected = {"UTC": "2024-01-01T00:00:00Z", "America/New_York": "2024-01-01T05:00:00Z"}[tz]
    assert (usage["from_datetime"], usage["issuing_date"], usage["charges_usage"]) == (
        expected,
        "2024-01-31",
        [],
    )


def test_the_usage_fees_take_the_charges_read_by_the_caller_only_from_the_subscriptions_plan(
    api, runtime, org
) -> None:
    """``current_usage_charge_fees(views=…)``: the charges ``compute_usage`` read already (one
    read per request); charges of another plan are refused, never priced."""
    bh.start_clock(runtime, bh.at("2024-01-10T09:00:00Z"))
    calls = bh.metric(api, "calls")
    pro = bh.plan(api, "pro", amount_cents=1000, charges=[charge(calls, properties={"amount": "0.5"})])
    other = bh.plan(api, "other", amount_cents=500, charges=[charge(calls, properties={"amount": "2"})])
    bh.customer(api, "cus_1")
    sub = bh.subscribe(api, external_id="sub_1", customer_id="cus_1", plan_code="pro")
    bh.event(api, "calls", bh.at("2024-01-15T10:00:00Z"))
    bh.event(api, "calls", bh.at("2024-01-16T10:00:00Z"))
    with runtime.db.session() as session:
        ctx = Ctx(session, runtime.clock, runtime.settings, org.id)
        subscription = session.get(Subscription, uuid.UUID(sub["lago_id"]))
        assert subscription is not None
        own = charges_for_plan(ctx, uuid.UUID(pro["lago_id"]))
        _, fees = current_usage_charge_fees(ctx, build_fee_engine(), subscription, ctx.now(), views=own)
        assert [(f.units, f.amount_cents) for f in fees] == [(2, 100)]
        foreign = charges_for_plan(ctx, uuid.UUID(other["lago_id"]))
        with pytest.raises(ValueError, match="another plan"):
            current_usage_charge_fees(ctx, build_fee_engine(), subscription, ctx.now(), views=foreign)
