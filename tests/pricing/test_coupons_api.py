"""/coupons: exact payloads, every Lago rule and code, limitations, update lock, delete, expiry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.pricing.helpers import (
    FIXED_COUPON,
    PERCENT_COUPON,
    counts,
    create_coupon,
    create_customer,
    create_metric,
    create_plan,
    error,
    ok,
    validation,
)


def coupon_json(lago_id: str, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "lago_id": lago_id,
        "name": "Startup deal",
        "code": "startup",
        "description": None,
        "coupon_type": "fixed_amount",
        "amount_cents": 5000,
        "amount_currency": "EUR",
        "percentage_rate": None,
        "frequency": "once",
        "frequency_duration": None,
        "reusable": True,
        "limited_plans": False,
        "limited_billable_metrics": False,
        "plan_codes": [],
        "billable_metric_codes": [],
        "created_at": "2024-01-01T00:00:00Z",
        "expiration": "no_expiration",
        "expiration_at": None,
        "terminated_at": None,
    }
    payload.update(overrides)
    return payload


def percent_json(lago_id: str, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": "Ten percent",
        "code": "ten",
        "coupon_type": "percentage",
        "amount_cents": None,
        "amount_currency": None,
        "percentage_rate": "10.0",
        "frequency": "recurring",
        "frequency_duration": 3,
        "expiration": "time_limit",
        "expiration_at": "2024-03-01T12:00:00Z",
    }
    return coupon_json(lago_id, **{**fields, **overrides})


def test_create_fixed_amount(api: Any, runtime: Any) -> None:
    body = ok(api.post("/coupons", {"coupon": {**FIXED_COUPON, "description": "For startups"}}))
    assert body == {"coupon": coupon_json(body["coupon"]["lago_id"], description="For startups")}
    assert counts(runtime)["coupons"] == 1


def test_create_percentage(api: Any) -> None:
    created = create_coupon(api, PERCENT_COUPON, reusable=False)
    assert created == percent_json(created["lago_id"], reusable=False)


def test_percentage_rate_keeps_five_decimals(api: Any) -> None:
    created = create_coupon(api, PERCENT_COUPON, percentage_rate="12.3456789")
    assert created["percentage_rate"] == "12.34568"
    assert create_coupon(api, PERCENT_COUPON, code="n", percentage_rate=7.5)["percentage_rate"] == "7.5"


def test_limited_to_billable_metrics(api: Any, runtime: Any) -> None:
    create_metric(api, "api_calls")
    create_metric(api, "storage")
    created = create_coupon(api, applies_to={"billable_metric_codes": ["storage", "api_calls", "storage"]})
    assert created == coupon_json(
        created["lago_id"], limited_billable_metrics=True, billable_metric_codes=["storage", "api_calls"]
    )
    assert counts(runtime)["coupon_targets"] == 2
    assert ok(api.get("/coupons/startup"))["coupon"] == created


def test_limited_to_plans_stores_the_codes(api: Any) -> None:
    create_plan(api, "startup_plan")
    create_plan(api, "pro")
    created = create_coupon(
        api, applies_to={"plan_codes": ["startup_plan", "pro"], "billable_metric_codes": []}
    )
    assert created == coupon_json(created["lago_id"], limited_plans=True, plan_codes=["startup_plan", "pro"])


def test_empty_limitations_are_no_limitation(api: Any, runtime: Any) -> None:
    created = create_coupon(api, applies_to={"plan_codes": [], "billable_metric_codes": None})
    assert created == coupon_json(created["lago_id"])
    assert counts(runtime)["coupon_targets"] == 0


def test_unknown_billable_metric_is_404(api: Any, runtime: Any) -> None:
    create_metric(api, "api_calls")
    r = api.post(
        "/coupons", {"coupon": {**FIXED_COUPON, "applies_to": {"billable_metric_codes": ["api_calls", "x"]}}}
    )
    assert r.status_code == 404
    assert r.json() == error(404, "billable_metrics_not_found")
    assert counts(runtime)["coupons"] == 0


def test_unknown_plan_is_404(api: Any, runtime: Any) -> None:
    create_plan(api, "pro")
    r = api.post("/coupons", {"coupon": {**FIXED_COUPON, "applies_to": {"plan_codes": ["pro", "x"]}}})
    assert r.status_code == 404
    assert r.json() == error(404, "plans_not_found")
    assert counts(runtime)["coupons"] == 0


def test_plan_targets_follow_the_plan(api: Any) -> None:
    create_plan(api, "pro")
    create_plan(api, "team")
    create_coupon(api, applies_to={"plan_codes": ["pro", "team"]})
    ok(api.put("/plans/pro", {"plan": {"code": "pro_2024"}}))
    assert ok(api.get("/coupons/startup"))["coupon"]["plan_codes"] == ["pro_2024", "team"]
    ok(api.delete("/plans/team"))
    assert ok(api.get("/coupons/startup"))["coupon"]["plan_codes"] == ["pro_2024", "team"]


def test_both_limitation_kinds_are_refused(api: Any, runtime: Any) -> None:
    create_metric(api, "api_calls")
    create_plan(api, "pro")
    limits = {"plan_codes": ["pro"], "billable_metric_codes": ["api_calls"]}
    r = api.post("/coupons", {"coupon": {**FIXED_COUPON, "applies_to": limits}})
    assert r.status_code == 405
    assert r.json() == error(405, "only_one_limitation_type_per_coupon_allowed")
    assert counts(runtime)["coupons"] == 0


def test_limitations_are_checked_before_fields(api: Any) -> None:
    r = api.post("/coupons", {"coupon": {"applies_to": {"billable_metric_codes": ["x"]}}})
    assert r.json() == error(404, "billable_metrics_not_found")


@pytest.mark.parametrize(
    ("changes", "details"),
    [
        (
            {k: None for k in FIXED_COUPON},
            {
                "expiration": ["value_is_invalid"],
                "coupon_type": ["value_is_invalid"],
                "frequency": ["value_is_invalid"],
                "name": ["value_is_mandatory"],
                "code": ["value_is_mandatory"],
            },
        ),
        (
            {"coupon_type": "gift", "frequency": "daily", "expiration": "never"},
            {
                "expiration": ["value_is_invalid"],
                "coupon_type": ["value_is_invalid"],
                "frequency": ["value_is_invalid"],
            },
        ),
        (
            {"amount_cents": None, "amount_currency": None},
            {"amount_cents": ["value_is_mandatory"], "amount_currency": ["value_is_mandatory"]},
        ),
        ({"amount_cents": 0}, {"amount_cents": ["value_is_out_of_range"]}),
        ({"amount_cents": "ten"}, {"amount_cents": ["is not a number"]}),
        ({"amount_currency": "EURO"}, {"amount_currency": ["value_is_invalid"]}),
        ({"coupon_type": "percentage"}, {"percentage_rate": ["value_is_mandatory"]}),
        ({"percentage_rate": "abc"}, {"percentage_rate": ["value_is_invalid"]}),
        ({"percentage_rate": "-1"}, {"percentage_rate": ["value_is_out_of_range"]}),
        ({"frequency": "recurring"}, {"frequency_duration": ["value_is_mandatory", "is not a number"]}),
        (
            {"frequency": "recurring", "frequency_duration": 0},
            {"frequency_duration": ["value_is_out_of_range"]},
        ),
        ({"frequency": "recurring", "frequency_duration": "x"}, {"frequency_duration": ["is not a number"]}),
        ({"reusable": None}, {"reusable": ["value_is_reserved"]}),
        ({"name": " "}, {"name": ["value_is_mandatory"]}),
    ],
)
def test_invalid_fields_store_nothing(
    api: Any, runtime: Any, changes: dict[str, Any], details: dict[str, list[str]]
) -> None:
    r = api.post("/coupons", {"coupon": {**FIXED_COUPON, **changes}})
    assert r.status_code == 422
    assert r.json() == validation(details)
    assert counts(runtime)["coupons"] == 0


@pytest.mark.parametrize(
    "expiration_at", ["2023-12-31T23:59:59Z", "2024-01-01T00:00:00Z", "soon", 1735689600]
)
def test_expiration_at_must_be_a_future_date_and_is_checked_first(
    api: Any, runtime: Any, expiration_at: Any
) -> None:
    body = {"name": "", "coupon_type": "x", "expiration": "time_limit", "expiration_at": expiration_at}
    r = api.post("/coupons", {"coupon": body})
    assert r.json() == validation({"expiration_at": ["invalid_date"]})
    assert counts(runtime)["coupons"] == 0


def test_time_limit_accepts_a_date(api: Any) -> None:
    created = create_coupon(api, expiration="time_limit", expiration_at="2024-06-30")
    assert created["expiration_at"] == "2024-06-30T00:00:00Z"


def test_duplicate_code(api: Any, runtime: Any) -> None:
    create_coupon(api)
    r = api.post("/coupons", {"coupon": FIXED_COUPON})
    assert r.json() == validation({"code": ["value_already_exist"]})
    assert counts(runtime)["coupons"] == 1


def test_missing_root(api: Any) -> None:
    r = api.post("/coupons", {})
    assert r.json() == {
        "status": 400,
        "error": "BadRequest: param is missing or the value is empty or invalid: coupon",
    }


def test_get_and_list_in_lagos_order(api: Any, runtime: Any) -> None:
    a = create_coupon(api, code="a")
    b = create_coupon(api, PERCENT_COUPON, code="b", expiration_at="2024-05-01T00:00:00Z")
    c = create_coupon(api, PERCENT_COUPON, code="c", expiration_at="2024-02-01T00:00:00Z")
    runtime.clock.set(datetime(2024, 1, 2, tzinfo=UTC))
    d = create_coupon(api, code="d")
    runtime.scheduler.run_tick(datetime(2024, 2, 2, tzinfo=UTC))
    listed = ok(api.get("/coupons"))
    assert [x["code"] for x in listed["coupons"]] == ["d", "a", "b", "c"]
    assert listed["meta"]["total_count"] == 4
    assert listed["coupons"][3] == percent_json(
        c["lago_id"], code="c", expiration_at="2024-02-01T00:00:00Z", terminated_at="2024-02-02T00:00:00Z"
    )
    assert ok(api.get("/coupons/a"))["coupon"] == a
    assert ok(api.get("/coupons/b"))["coupon"] == b
    assert d["created_at"] == "2024-01-02T00:00:00Z"


def test_update_partial(api: Any, runtime: Any) -> None:
    created = create_coupon(api)
    runtime.clock.set(datetime(2024, 1, 10, tzinfo=UTC))
    changes = {
        "name": "Renamed",
        "code": "startup2",
        "coupon_type": "percentage",
        "percentage_rate": "15",
        "frequency": "forever",
        "expiration": "time_limit",
        "expiration_at": "2024-02-01T00:00:00Z",
        "reusable": False,
    }
    r = api.put("/coupons/startup", {"coupon": changes})
    assert ok(r) == {
        "coupon": coupon_json(
            created["lago_id"],
            name="Renamed",
            code="startup2",
            coupon_type="percentage",
            percentage_rate="15.0",
            frequency="forever",
            expiration="time_limit",
            expiration_at="2024-02-01T00:00:00Z",
            reusable=False,
        )
    }
    assert api.get("/coupons/startup").json() == error(404, "coupon_not_found")


def test_update_refusals_store_nothing(api: Any) -> None:
    created = create_coupon(api)
    create_coupon(api, code="other")
    assert api.put("/coupons/startup", {"coupon": {"code": "other"}}).json() == validation(
        {"code": ["value_already_exist"]}
    )
    assert api.put("/coupons/startup", {"coupon": {"frequency": "recurring"}}).json() == validation(
        {"frequency_duration": ["value_is_mandatory", "is not a number"]}
    )
    assert api.put("/coupons/startup", {"coupon": {"expiration_at": "2020-01-01"}}).json() == validation(
        {"expiration_at": ["invalid_date"]}
    )
    r = api.put("/coupons/startup", {"coupon": {"applies_to": {"billable_metric_codes": ["x"]}}})
    assert r.json() == error(404, "billable_metrics_not_found")
    assert ok(api.get("/coupons/startup"))["coupon"] == created
    assert api.put("/coupons/nope", {"coupon": {"name": "x"}}).json() == error(404, "coupon_not_found")


def test_update_switches_limitation_kind(api: Any, runtime: Any) -> None:
    create_metric(api, "api_calls")
    create_plan(api, "pro")
    created = create_coupon(api, applies_to={"billable_metric_codes": ["api_calls"]})
    r = api.put("/coupons/startup", {"coupon": {"name": "Renamed"}})
    assert ok(r)["coupon"]["billable_metric_codes"] == ["api_calls"]
    r = api.put("/coupons/startup", {"coupon": {"applies_to": {"plan_codes": ["pro"]}}})
    assert ok(r)["coupon"] == coupon_json(
        created["lago_id"], name="Renamed", limited_plans=True, plan_codes=["pro"]
    )
    r = api.put("/coupons/startup", {"coupon": {"applies_to": {"plan_codes": []}}})
    assert ok(r)["coupon"] == coupon_json(created["lago_id"], name="Renamed")
    assert counts(runtime)["coupon_targets"] == 2


def test_once_applied_only_name_description_and_expiration_change(api: Any) -> None:
    created = create_coupon(api)
    create_customer(api)
    ok(
        api.post(
            "/applied_coupons",
            {"applied_coupon": {"external_customer_id": "cus_1", "coupon_code": "startup"}},
        )
    )
    changes = {
        "name": "Renamed",
        "description": "Now described",
        "expiration": "time_limit",
        "expiration_at": "2024-04-01T00:00:00Z",
        "code": "changed",
        "amount_cents": 1,
        "amount_currency": "USD",
        "frequency": "forever",
        "reusable": False,
        "applies_to": {"plan_codes": ["pro"]},
    }
    r = api.put("/coupons/startup", {"coupon": changes})
    assert ok(r) == {
        "coupon": coupon_json(
            created["lago_id"],
            name="Renamed",
            description="Now described",
            expiration="time_limit",
            expiration_at="2024-04-01T00:00:00Z",
        )
    }


def test_delete_soft_deletes_and_terminates_applications(api: Any, runtime: Any) -> None:
    create_metric(api, "api_calls")
    created = create_coupon(api, applies_to={"billable_metric_codes": ["api_calls"]})
    create_customer(api)
    applied = ok(
        api.post(
            "/applied_coupons",
            {"applied_coupon": {"external_customer_id": "cus_1", "coupon_code": "startup"}},
        )
    )["applied_coupon"]
    runtime.clock.set(datetime(2024, 1, 4, 10, tzinfo=UTC))
    r = api.delete("/coupons/startup")
    # As Lago answers: targets are gone, the coupon's own status is unchanged.
    assert ok(r) == {"coupon": coupon_json(created["lago_id"], limited_billable_metrics=True)}
    assert api.get("/coupons/startup").json() == error(404, "coupon_not_found")
    assert api.delete("/coupons/startup").json() == error(404, "coupon_not_found")
    assert ok(api.get("/coupons"))["coupons"] == []
    listed = ok(api.get("/applied_coupons"))["applied_coupons"]
    assert listed == [
        {
            **applied,
            "coupon_deleted_at": "2024-01-04T10:00:00Z",
            "status": "terminated",
            "terminated_at": "2024-01-04T10:00:00Z",
            "credits": [],
        }
    ]
    assert create_coupon(api)["lago_id"] != created["lago_id"]


def test_expiry_tick_terminates_time_limited_coupons(api: Any, runtime: Any) -> None:
    kept = create_coupon(api, code="kept")
    expiring = create_coupon(api, PERCENT_COUPON)
    later = create_coupon(api, PERCENT_COUPON, code="later", expiration_at="2024-03-01T13:00:00Z")
    runtime.scheduler.run_tick(datetime(2024, 3, 1, 12, tzinfo=UTC))
    assert ok(api.get("/coupons/ten"))["coupon"]["terminated_at"] is None
    runtime.scheduler.run_tick(datetime(2024, 3, 1, 13, tzinfo=UTC))
    assert ok(api.get("/coupons/ten"))["coupon"] == percent_json(
        expiring["lago_id"], terminated_at="2024-03-01T13:00:00Z"
    )
    runtime.scheduler.run_tick(datetime(2024, 3, 1, 14, tzinfo=UTC))
    assert ok(api.get("/coupons/ten"))["coupon"]["terminated_at"] == "2024-03-01T13:00:00Z"
    assert ok(api.get("/coupons/later"))["coupon"]["terminated_at"] == "2024-03-01T14:00:00Z"
    assert ok(api.get("/coupons/kept"))["coupon"] == kept
    assert later["terminated_at"] is None


def test_another_organizations_coupon_is_not_found(api: Any, other_api: Any, runtime: Any) -> None:
    create_coupon(api)
    create_metric(api, "api_calls")
    assert other_api.get("/coupons/startup").json() == error(404, "coupon_not_found")
    assert other_api.put("/coupons/startup", {"coupon": {"name": "x"}}).json() == error(
        404, "coupon_not_found"
    )
    assert other_api.delete("/coupons/startup").json() == error(404, "coupon_not_found")
    assert ok(other_api.get("/coupons"))["coupons"] == []
    r = other_api.post(
        "/coupons", {"coupon": {**FIXED_COUPON, "applies_to": {"billable_metric_codes": ["api_calls"]}}}
    )
    assert r.json() == error(404, "billable_metrics_not_found")
    assert create_coupon(other_api)["code"] == "startup"
    assert counts(runtime)["coupons"] == 2
