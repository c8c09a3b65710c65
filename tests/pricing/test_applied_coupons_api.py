"""Applied coupons: apply (Lago's checks and codes), list and filters, terminate, tenancy."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from billow.db.context import Ctx
from billow.pricing.coupons.applied import customer_has_applied_coupons, terminate_customer_coupons
from billow.pricing.coupons.models import AppliedCoupon
from tests.pricing.helpers import (
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


def apply(
    api: Any, coupon_code: str = "startup", external_customer_id: str = "cus_1", **overrides: Any
) -> Any:
    body = {"external_customer_id": external_customer_id, "coupon_code": coupon_code, **overrides}
    return api.post("/applied_coupons", {"applied_coupon": body})


def applied_json(
    applied: dict[str, Any], coupon: dict[str, Any], customer: dict[str, Any], **overrides: Any
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "lago_id": applied["lago_id"],
        "lago_coupon_id": coupon["lago_id"],
        "coupon_code": "startup",
        "coupon_name": "Startup deal",
        "coupon_description": None,
        "coupon_status": "active",
        "coupon_deleted_at": None,
        "lago_customer_id": customer["lago_id"],
        "external_customer_id": "cus_1",
        "status": "active",
        "amount_cents": 5000,
        "amount_cents_remaining": 5000,
        "amount_currency": "EUR",
        "percentage_rate": None,
        "frequency": "once",
        "frequency_duration": None,
        "frequency_duration_remaining": None,
        "expiration_at": None,
        "created_at": "2024-01-01T00:00:00Z",
        "terminated_at": None,
    }
    payload.update(overrides)
    return payload


def test_apply_a_fixed_coupon_sets_the_customer_currency(api: Any, runtime: Any) -> None:
    coupon = create_coupon(api)
    customer = create_customer(api)
    assert customer["currency"] is None
    body = ok(apply(api))
    assert body == {"applied_coupon": applied_json(body["applied_coupon"], coupon, customer)}
    assert ok(api.get("/customers/cus_1"))["customer"]["currency"] == "EUR"
    assert counts(runtime)["applied_coupons"] == 1


def test_a_different_customer_currency_is_kept(api: Any) -> None:
    """Current Lago (multi-currency customers): no error, the coupon is skipped when invoicing."""
    coupon = create_coupon(api)
    customer = create_customer(api, currency="USD")
    body = ok(apply(api))
    assert body["applied_coupon"] == applied_json(body["applied_coupon"], coupon, customer)
    assert ok(api.get("/customers/cus_1"))["customer"]["currency"] == "USD"


def test_apply_a_percentage_coupon(api: Any, runtime: Any) -> None:
    coupon = create_coupon(api, PERCENT_COUPON, description="Ten off")
    customer = create_customer(api)
    runtime.clock.set(datetime(2024, 1, 15, 8, 30, tzinfo=UTC))
    applied = ok(apply(api, "ten"))["applied_coupon"]
    assert applied == applied_json(
        applied,
        coupon,
        customer,
        coupon_code="ten",
        coupon_name="Ten percent",
        coupon_description="Ten off",
        amount_cents=None,
        amount_cents_remaining=None,
        amount_currency=None,
        percentage_rate="10.0",
        frequency="recurring",
        frequency_duration=3,
        frequency_duration_remaining=3,
        expiration_at="2024-03-01T12:00:00Z",
        created_at="2024-01-15T08:30:00Z",
    )
    assert ok(api.get("/customers/cus_1"))["customer"]["currency"] is None


def test_overrides(api: Any) -> None:
    coupon = create_coupon(api)
    customer = create_customer(api)
    overrides = {
        "amount_cents": 1200,
        "amount_currency": "USD",
        "frequency": "recurring",
        "frequency_duration": 2,
    }
    applied = ok(apply(api, **overrides))["applied_coupon"]
    assert applied == applied_json(
        applied,
        coupon,
        customer,
        amount_cents=1200,
        amount_cents_remaining=None,
        amount_currency="USD",
        frequency="recurring",
        frequency_duration=2,
        frequency_duration_remaining=2,
    )
    assert ok(api.get("/customers/cus_1"))["customer"]["currency"] == "USD"
    create_coupon(api, PERCENT_COUPON)
    applied = ok(apply(api, "ten", percentage_rate="2.5", frequency="forever"))["applied_coupon"]
    assert (applied["percentage_rate"], applied["frequency"], applied["frequency_duration"]) == (
        "2.5",
        "forever",
        3,
    )


@pytest.mark.parametrize(
    ("overrides", "details"),
    [
        (
            {"frequency": "recurring"},
            {
                "frequency_duration": ["value_is_mandatory", "is not a number"],
                "frequency_duration_remaining": ["value_is_mandatory", "is not a number"],
            },
        ),
        (
            {"frequency": "recurring", "frequency_duration": 0},
            {"frequency_duration": ["value_is_out_of_range"]},
        ),
        (
            {"frequency": "recurring", "frequency_duration": -1},
            {
                "frequency_duration": ["value_is_out_of_range"],
                "frequency_duration_remaining": ["value_is_out_of_range"],
            },
        ),
        ({"frequency": "weekly"}, {"frequency": ["value_is_invalid"]}),
        ({"amount_cents": -1}, {"amount_cents": ["value_is_out_of_range"]}),
        ({"amount_cents": "x"}, {"amount_cents": ["is not a number"]}),
        ({"amount_currency": "XXX"}, {"amount_currency": ["value_is_invalid"]}),
        ({"percentage_rate": "x"}, {"percentage_rate": ["value_is_invalid"]}),
    ],
)
def test_invalid_overrides_store_nothing(
    api: Any, runtime: Any, overrides: dict[str, Any], details: dict[str, list[str]]
) -> None:
    create_coupon(api)
    create_customer(api)
    r = apply(api, **overrides)
    assert r.status_code == 422
    assert r.json() == validation(details)
    assert counts(runtime)["applied_coupons"] == 0
    assert ok(api.get("/customers/cus_1"))["customer"]["currency"] is None


def test_unknown_customer_then_unknown_coupon(api: Any, runtime: Any) -> None:
    create_coupon(api)
    assert apply(api, external_customer_id="nope").json() == error(404, "customer_not_found")
    assert apply(api, "nope", external_customer_id="nope").json() == error(404, "customer_not_found")
    create_customer(api)
    assert apply(api, "nope").json() == error(404, "coupon_not_found")
    r = api.post("/applied_coupons", {"applied_coupon": {"external_customer_id": "cus_1"}})
    assert r.json() == error(404, "coupon_not_found")
    assert api.post("/applied_coupons", {}).status_code == 400
    assert counts(runtime)["applied_coupons"] == 0


def test_non_reusable_coupon_applies_once_per_customer(api: Any, runtime: Any) -> None:
    create_coupon(api, reusable=False)
    create_customer(api)
    create_customer(api, "cus_2")
    first = ok(apply(api))["applied_coupon"]
    r = apply(api)
    assert r.status_code == 422
    assert r.json() == validation({"coupon": ["coupon_is_not_reusable"]})
    ok(api.delete(f"/customers/cus_1/applied_coupons/{first['lago_id']}"))
    assert apply(api).json() == validation({"coupon": ["coupon_is_not_reusable"]})
    ok(apply(api, external_customer_id="cus_2"))
    assert counts(runtime)["applied_coupons"] == 2


def test_reusable_coupon_applies_again(api: Any) -> None:
    create_coupon(api)
    create_customer(api)
    first = ok(apply(api))["applied_coupon"]
    second = ok(apply(api))["applied_coupon"]
    assert first["lago_id"] != second["lago_id"]


def test_expired_coupon_cannot_be_applied_even_before_the_tick(api: Any, runtime: Any) -> None:
    create_coupon(api, PERCENT_COUPON)
    create_customer(api)
    runtime.clock.set(datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC))
    ok(apply(api, "ten"))
    runtime.clock.set(datetime(2024, 3, 1, 12, 0, 1, tzinfo=UTC))
    assert apply(api, "ten").json() == error(404, "coupon_not_found")
    assert ok(api.get("/coupons/ten"))["coupon"]["terminated_at"] is None
    assert counts(runtime)["applied_coupons"] == 1


def test_terminated_coupon_cannot_be_applied_but_applications_keep_working(api: Any, runtime: Any) -> None:
    create_coupon(api, PERCENT_COUPON)
    customer = create_customer(api)
    applied = ok(apply(api, "ten"))["applied_coupon"]
    runtime.clock.set(datetime(2024, 3, 1, 13, 5, tzinfo=UTC))
    runtime.scheduler.run_tick(datetime(2024, 3, 1, 13, tzinfo=UTC))
    assert apply(api, "ten").json() == error(404, "coupon_not_found")
    listed = ok(api.get("/applied_coupons"))["applied_coupons"]
    assert [(a["lago_id"], a["status"], a["coupon_status"]) for a in listed] == [
        (applied["lago_id"], "active", "terminated")
    ]
    assert listed[0]["lago_customer_id"] == customer["lago_id"]


def test_deleted_coupon_cannot_be_applied(api: Any) -> None:
    create_coupon(api)
    create_customer(api)
    ok(api.delete("/coupons/startup"))
    assert apply(api).json() == error(404, "coupon_not_found")


def test_overlapping_limited_coupons_are_refused(api: Any, runtime: Any) -> None:
    create_metric(api, "api_calls")
    create_metric(api, "storage")
    create_plan(api, "pro")
    create_plan(api, "team")
    create_coupon(api, code="a", applies_to={"billable_metric_codes": ["api_calls"]})
    create_coupon(api, code="b", applies_to={"billable_metric_codes": ["storage", "api_calls"]})
    create_coupon(api, code="c", applies_to={"billable_metric_codes": ["storage"]})
    create_coupon(api, code="p1", applies_to={"plan_codes": ["pro"]})
    create_coupon(api, code="p2", applies_to={"plan_codes": ["pro", "team"]})
    create_coupon(api, code="free")
    create_customer(api)
    a = ok(apply(api, "a"))["applied_coupon"]
    r = apply(api, "b")
    assert r.status_code == 405
    assert r.json() == error(405, "plan_overlapping")
    ok(apply(api, "c"))
    ok(apply(api, "free"))
    ok(apply(api, "p1"))
    assert apply(api, "p2").json() == error(405, "plan_overlapping")
    ok(api.delete(f"/customers/cus_1/applied_coupons/{a['lago_id']}"))
    assert apply(api, "b").json() == error(405, "plan_overlapping")  # still overlaps "c"
    assert counts(runtime)["applied_coupons"] == 4


def test_list_filters_and_order(api: Any, runtime: Any) -> None:
    create_coupon(api)
    create_coupon(api, PERCENT_COUPON)
    create_customer(api)
    create_customer(api, "cus_2")
    first = ok(apply(api))["applied_coupon"]
    runtime.clock.set(datetime(2024, 1, 2, tzinfo=UTC))
    second = ok(apply(api, "ten", "cus_2"))["applied_coupon"]
    third = ok(apply(api, "startup", "cus_2"))["applied_coupon"]
    ok(api.delete(f"/customers/cus_2/applied_coupons/{third['lago_id']}"))

    def ids(**params: Any) -> list[str]:
        return [a["lago_id"] for a in ok(api.get("/applied_coupons", **params))["applied_coupons"]]

    assert ids() == [*sorted([second["lago_id"], third["lago_id"]]), first["lago_id"]]
    assert ids(external_customer_id="cus_1") == [first["lago_id"]]
    assert ids(external_customer_id="nope") == []
    assert ids(status="terminated") == [third["lago_id"]]
    assert ids(status="bogus") == ids()
    assert ids(**{"coupon_code[]": ["ten"]}) == [second["lago_id"]]
    assert set(ids(**{"coupon_code[]": ["ten", "startup"], "status": "active"})) == {
        first["lago_id"],
        second["lago_id"],
    }
    listed = ok(api.get("/applied_coupons", external_customer_id="cus_1"))
    assert listed == {
        "applied_coupons": [{**first, "credits": []}],
        "meta": {"current_page": 1, "next_page": None, "prev_page": None, "total_pages": 1, "total_count": 1},
    }
    page = ok(api.get("/applied_coupons", per_page=2, page=2))
    assert [a["lago_id"] for a in page["applied_coupons"]] == [first["lago_id"]]
    assert page["meta"]["total_count"] == 3


def test_customer_applied_coupons(api: Any) -> None:
    create_coupon(api)
    create_customer(api)
    create_customer(api, "cus_2")
    mine = ok(apply(api))["applied_coupon"]
    ok(apply(api, "startup", "cus_2"))
    listed = ok(api.get("/customers/cus_1/applied_coupons"))
    assert listed["applied_coupons"] == [{**mine, "credits": []}]
    assert ok(api.get("/customers/cus_1/applied_coupons", status="terminated"))["applied_coupons"] == []
    assert api.get("/customers/nope/applied_coupons").json() == error(404, "customer_not_found")


def test_deleted_customers_leave_the_list(api: Any) -> None:
    create_coupon(api)
    create_customer(api)
    ok(apply(api))
    ok(api.delete("/customers/cus_1"))
    assert ok(api.get("/applied_coupons"))["applied_coupons"] == []
    assert api.get("/customers/cus_1/applied_coupons").json() == error(404, "customer_not_found")


def test_terminate(api: Any, runtime: Any) -> None:
    coupon = create_coupon(api)
    customer = create_customer(api)
    create_customer(api, "cus_2")
    applied = ok(apply(api))["applied_coupon"]
    runtime.clock.set(datetime(2024, 1, 20, tzinfo=UTC))
    path = f"/customers/cus_1/applied_coupons/{applied['lago_id']}"
    expected = applied_json(
        applied, coupon, customer, status="terminated", terminated_at="2024-01-20T00:00:00Z"
    )
    assert ok(api.delete(path)) == {"applied_coupon": expected}
    runtime.clock.set(datetime(2024, 1, 21, tzinfo=UTC))
    assert ok(api.delete(path)) == {"applied_coupon": expected}
    other_customer = f"/customers/cus_2/applied_coupons/{applied['lago_id']}"
    assert api.delete(other_customer).json() == error(404, "applied_coupon_not_found")
    assert api.delete("/customers/cus_1/applied_coupons/not-a-uuid").json() == error(
        404, "applied_coupon_not_found"
    )
    assert api.delete(f"/customers/nope/applied_coupons/{applied['lago_id']}").json() == error(
        404, "customer_not_found"
    )


def test_another_organization_sees_nothing(api: Any, other_api: Any, runtime: Any) -> None:
    create_coupon(api)
    create_customer(api)
    applied = ok(apply(api))["applied_coupon"]
    assert apply(other_api).json() == error(404, "customer_not_found")
    create_customer(other_api)
    assert apply(other_api).json() == error(404, "coupon_not_found")
    assert ok(other_api.get("/applied_coupons"))["applied_coupons"] == []
    assert ok(other_api.get("/customers/cus_1/applied_coupons"))["applied_coupons"] == []
    path = f"/customers/cus_1/applied_coupons/{applied['lago_id']}"
    assert other_api.delete(path).json() == error(404, "applied_coupon_not_found")
    assert ok(api.get("/applied_coupons"))["applied_coupons"][0]["status"] == "active"
    assert counts(runtime)["applied_coupons"] == 1


def test_hooks_for_customers(api: Any, ctx: Ctx) -> None:
    """API calls first: on SQLite the ``ctx`` session holds the write lock once it has run a query."""
    create_coupon(api)
    customer = uuid.UUID(create_customer(api)["lago_id"])
    bare = uuid.UUID(create_customer(api, "cus_2")["lago_id"])
    ok(apply(api))
    assert customer_has_applied_coupons(ctx, customer) is True
    assert customer_has_applied_coupons(ctx, bare) is False
    terminate_customer_coupons(ctx, customer)
    assert list(ctx.session.execute(select(AppliedCoupon.status, AppliedCoupon.terminated_at)).all()) == [
        ("terminated", datetime(2024, 1, 1, tzinfo=UTC))
    ]
