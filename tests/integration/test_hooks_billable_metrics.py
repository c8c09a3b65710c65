"""Billable metrics and the plans charging them, as Lago: a metric a live plan charges keeps its
code and aggregation (``PUT`` silently ignores them); deleting it deletes its charges; dropping
filter keys or values trims the charge filters using them."""

from __future__ import annotations

from typing import Any

from tests.integration.helpers import (
    add_endpoint,
    counts,
    create_customer,
    create_metric,
    error,
    ok,
    rows,
    subscribed,
    validation,
    webhooks,
)

ALL = "__ALL_FILTER_VALUES__"
FILTERS = [{"key": "region", "values": ["eu", "us", "apac"]}, {"key": "tier", "values": ["gold", "silver"]}]


def put_metric(api: Any, metric_code: str, **fields: Any) -> Any:
    return api.put(f"/billable_metrics/{metric_code}", {"billable_metric": fields})


def create_plan(api: Any, code: str, charges: list[dict[str, Any]]) -> dict[str, Any]:
    body = {
        "name": code.title(),
        "code": code,
        "interval": "monthly",
        "amount_cents": 1000,
        "amount_currency": "EUR",
        "pay_in_advance": False,
        "charges": charges,
    }
    return ok(api.post("/plans", {"plan": body}))["plan"]


def charge(metric: dict[str, Any], filters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "billable_metric_id": metric["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": "1"},
        "filters": filters or [],
    }


def charge_filters(api: Any, plan: str) -> list[tuple[str, dict[str, list[str]]]]:
    [found] = ok(api.get(f"/plans/{plan}"))["plan"]["charges"]
    return [(f["properties"]["amount"], f["values"]) for f in found["filters"]]


def test_an_attached_metric_changes_only_its_name_description_and_filters(api: Any, runtime: Any) -> None:
    add_endpoint(api)
    metric = create_metric(api, "storage", filters=FILTERS[:1])
    create_plan(api, "pro", [charge(metric)])
    r = put_metric(
        api,
        "storage",
        name="Disk",
        description="GB stored",
        code="disk",
        aggregation_type="max_agg",
        field_name="gb",
        recurring=True,
        expression="round(event.properties.gb)",
        rounding_function="ceil",
        rounding_precision=2,
        weighted_interval="nope",  # not checked either: ignored as well
        filters=[{"key": "region", "values": ["eu"]}],
    )
    updated = ok(r)["billable_metric"]
    assert updated == dict(
        metric, name="Disk", description="GB stored", filters=[{"key": "region", "values": ["eu"]}]
    )
    assert ok(api.get("/billable_metrics/storage"))["billable_metric"]["name"] == "Disk"
    assert api.get("/billable_metrics/disk").json() == error(404, "billable_metric_not_found")
    [hook] = webhooks(runtime, "billable_metric.updated")
    assert hook["billable_metric"]["aggregation_type"] == "sum_agg"
    assert hook["billable_metric"]["name"] == "Disk"


def test_a_metric_charged_by_no_live_plan_changes_freely(api: Any, runtime: Any) -> None:
    metric = create_metric(api, "storage")
    create_plan(api, "pro", [charge(metric)])
    ok(api.delete("/plans/pro"))
    runtime.worker.drain()  # plans.delete_cascade: the plan is deleted, its charge is not
    assert rows(runtime, "SELECT COUNT(*) FROM charges WHERE deleted_at IS NULL") == [(1,)]
    updated = ok(put_metric(api, "storage", code="disk", aggregation_type="count_agg"))["billable_metric"]
    assert (updated["code"], updated["aggregation_type"], updated["field_name"]) == (
        "disk",
        "count_agg",
        None,
    )


def test_deleting_a_charged_metric_deletes_its_charges(api: Any, runtime: Any) -> None:
    add_endpoint(api)
    storage = create_metric(api, "storage", filters=FILTERS)
    calls = create_metric(api, "calls")
    create_plan(
        api, "pro", [charge(storage, [{"values": {"region": ["eu"]}, "properties": {"amount": "2"}}])]
    )
    ok(api.put("/plans/pro", {"plan": {"charges": [charge(storage), charge(calls)]}}))
    create_customer(api, "cus_1")
    # A subscription's overrides copy the plan and its charges into a child plan.
    subscribed(api, "sub_1", plan_overrides={"amount_cents": 5})
    live = "SELECT COUNT(*) FROM charges WHERE deleted_at IS NULL AND billable_metric_id = :m"
    storage_id, calls_id = _db_id(runtime, storage), _db_id(runtime, calls)
    assert rows(runtime, live, m=storage_id) == [(2,)]

    r = api.delete("/billable_metrics/storage")
    deleted = ok(r)["billable_metric"]
    assert deleted == storage
    [hook] = webhooks(runtime, "billable_metric.deleted")
    assert hook["billable_metric"]["code"] == "storage"
    assert [c["billable_metric_code"] for c in ok(api.get("/plans/pro"))["plan"]["charges"]] == ["calls"]
    assert rows(runtime, live, m=storage_id) == [(0,)]
    assert rows(runtime, live, m=calls_id) == [(2,)]
    assert rows(runtime, "SELECT COUNT(*) FROM charge_filters WHERE deleted_at IS NULL") == [(0,)]
    # The code is free again.
    assert create_metric(api, "storage")["lago_id"] != storage["lago_id"]


def test_deleting_an_unknown_metric_changes_nothing(api: Any, runtime: Any) -> None:
    metric = create_metric(api, "storage")
    create_plan(api, "pro", [charge(metric)])
    before = counts(runtime)
    assert api.delete("/billable_metrics/nope").json() == error(404, "billable_metric_not_found")
    assert counts(runtime) == before
    assert len(ok(api.get("/plans/pro"))["plan"]["charges"]) == 1


def test_dropped_filter_values_trim_the_charge_filters(api: Any, runtime: Any) -> None:
    metric = create_metric(api, "storage", filters=FILTERS)
    filters = [
        {"values": {"region": ["eu", "us"]}, "properties": {"amount": "1"}},
        {"values": {"region": ["us"]}, "properties": {"amount": "2"}},
        {"values": {"region": ["us"], "tier": ["gold"]}, "properties": {"amount": "3"}},
        {"values": {"region": [ALL]}, "properties": {"amount": "4"}},
        {"values": {"tier": ["silver"]}, "properties": {"amount": "5"}},
    ]
    create_plan(api, "pro", [charge(metric, filters)])
    create_customer(api, "cus_1")
    subscribed(api, "sub_1", plan_overrides={"amount_cents": 5})  # its child plan copies the filters

    # "us" is no longer a region: an entry keeps its other values, or goes with its filter.
    ok(put_metric(api, "storage", filters=[{"key": "region", "values": ["eu", "apac"]}, FILTERS[1]]))
    assert charge_filters(api, "pro") == [
        ("1", {"region": ["eu"]}),
        ("3", {"tier": ["gold"]}),
        ("4", {"region": [ALL]}),
        ("5", {"tier": ["silver"]}),
    ]
    # "tier" is no longer a key: its entries go, and the filters left empty with them.
    ok(put_metric(api, "storage", filters=[{"key": "region", "values": ["eu", "apac"]}]))
    assert charge_filters(api, "pro") == [("1", {"region": ["eu"]}), ("4", {"region": [ALL]})]
    # The child plan's copies follow (every live charge on the metric).
    live = rows(
        runtime,
        "SELECT COUNT(*) FROM charge_filters f JOIN charges c ON c.id = f.charge_id"
        " JOIN plans p ON p.id = c.plan_id WHERE f.deleted_at IS NULL AND p.parent_id IS NOT NULL",
    )
    assert live == [(2,)]
    # No filter at all: every charge filter goes.
    ok(put_metric(api, "storage", filters=[]))
    assert charge_filters(api, "pro") == []


def test_refused_filters_change_nothing(api: Any, runtime: Any) -> None:
    metric = create_metric(api, "storage", filters=FILTERS)
    create_plan(api, "pro", [charge(metric, [{"values": {"region": ["us"]}, "properties": {"amount": "2"}}])])
    before = counts(runtime)
    r = put_metric(api, "storage", filters=[{"key": "region", "values": []}])
    assert r.json() == validation({"values": ["value_is_mandatory"]})
    assert counts(runtime) == before
    assert charge_filters(api, "pro") == [("2", {"region": ["us"]})]
    assert ok(api.get("/billable_metrics/storage"))["billable_metric"]["filters"] == [
        {"key": "region", "values": ["apac", "eu", "us"]},
        {"key": "tier", "values": ["gold", "silver"]},
    ]


def _db_id(runtime: Any, metric: dict[str, Any]) -> Any:
    """The metric's id as the database stores it (raw SQL parameters are not typed)."""
    [(found,)] = rows(runtime, "SELECT id FROM billable_metrics WHERE code = :c", c=metric["code"])
    return found
