"""Billable metrics CRUD by code: exact payloads, soft delete, tenancy."""

from __future__ import annotations

from datetime import timedelta

from tests.metering.helpers import counts, create_metric

COUNTERS = {"active_subscriptions_count": 0, "draft_invoices_count": 0, "plans_count": 0}


def test_create_returns_the_full_object(api):
    r = api.post(
        "/billable_metrics",
        {
            "billable_metric": {
                "name": "Storage",
                "code": "storage",
                "description": "GB stored",
                "aggregation_type": "sum_agg",
                "field_name": "gb",
                "recurring": True,
                "rounding_function": "round",
                "rounding_precision": -2,
                "expression": "round(event.properties.gb * 2)",
                "filters": [
                    {"key": "region", "values": ["us", "eu", "us"]},
                    {"key": "cloud", "values": ["gcp", "aws"]},
                ],
            }
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()["billable_metric"]
    lago_id = body.pop("lago_id")
    assert len(lago_id) == 36
    assert body == {
        "name": "Storage",
        "code": "storage",
        "description": "GB stored",
        "aggregation_type": "sum_agg",
        "weighted_interval": None,
        "recurring": True,
        "rounding_function": "round",
        "rounding_precision": -2,
        "created_at": "2024-01-01T00:00:00Z",
        "field_name": "gb",
        "expression": "round(event.properties.gb * 2)",
        **COUNTERS,
        "filters": [{"key": "cloud", "values": ["aws", "gcp"]}, {"key": "region", "values": ["eu", "us"]}],
    }
    assert list(r.json()["billable_metric"]) == [
        "lago_id",
        "name",
        "code",
        "description",
        "aggregation_type",
        "weighted_interval",
        "recurring",
        "rounding_function",
        "rounding_precision",
        "created_at",
        "field_name",
        "expression",
        "active_subscriptions_count",
        "draft_invoices_count",
        "plans_count",
        "filters",
    ]


def test_minimal_count_metric_defaults(api):
    body = create_metric(api, aggregation_type="count_agg", field_name="ignored")
    assert body["field_name"] is None
    assert body["recurring"] is False
    assert body["filters"] == []
    assert body["expression"] is None
    assert body["rounding_function"] is None and body["rounding_precision"] is None


def test_weighted_sum_with_seconds(api):
    body = create_metric(
        api, aggregation_type="weighted_sum_agg", weighted_interval="seconds", recurring=True
    )
    assert body["weighted_interval"] == "seconds"
    assert body["recurring"] is True


def test_show_has_no_counters_and_list_has_them(api):
    created = create_metric(api)
    shown = api.get("/billable_metrics/storage").json()["billable_metric"]
    expected = {k: v for k, v in created.items() if k not in COUNTERS}
    assert shown == expected
    listed = api.get("/billable_metrics").json()
    assert listed["billable_metrics"] == [created]
    assert listed["meta"] == {
        "current_page": 1,
        "next_page": None,
        "prev_page": None,
        "total_pages": 1,
        "total_count": 1,
    }


def test_list_is_newest_first_and_paginated(api, runtime):
    create_metric(api, code="a", name="A")
    runtime.clock.set(runtime.clock.now() + timedelta(minutes=1))
    create_metric(api, code="b", name="B")
    runtime.clock.set(runtime.clock.now() + timedelta(minutes=1))
    create_metric(api, code="c", name="C")
    r = api.get("/billable_metrics", page=1, per_page=2)
    assert [m["code"] for m in r.json()["billable_metrics"]] == ["c", "b"]
    assert r.json()["meta"] == {
        "current_page": 1,
        "next_page": 2,
        "prev_page": None,
        "total_pages": 2,
        "total_count": 3,
    }
    r = api.get("/billable_metrics", page=2, per_page=2)
    assert [m["code"] for m in r.json()["billable_metrics"]] == ["a"]


def test_empty_list_meta(api):
    assert api.get("/billable_metrics").json() == {
        "billable_metrics": [],
        "meta": {"current_page": 0, "next_page": None, "prev_page": None, "total_pages": 0, "total_count": 0},
    }


def test_update_changes_fields_and_replaces_filters(api, runtime):
    created = create_metric(
        api, filters=[{"key": "region", "values": ["eu"]}, {"key": "tier", "values": ["a"]}]
    )
    runtime.clock.set(runtime.clock.now() + timedelta(hours=1))
    r = api.put(
        "/billable_metrics/storage",
        {
            "billable_metric": {
                "name": "Disk",
                "code": "disk",
                "aggregation_type": "max_agg",
                "field_name": "bytes",
                "rounding_function": "ceil",
                "filters": [{"key": "region", "values": ["us", "eu"]}, {"key": "zone", "values": ["z1"]}],
            }
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()["billable_metric"]
    assert body == {
        **created,
        "name": "Disk",
        "code": "disk",
        "aggregation_type": "max_agg",
        "field_name": "bytes",
        "rounding_function": "ceil",
        "filters": [{"key": "region", "values": ["eu", "us"]}, {"key": "zone", "values": ["z1"]}],
    }
    assert api.get("/billable_metrics/storage").status_code == 404
    assert api.get("/billable_metrics/disk").json()["billable_metric"]["filters"] == body["filters"]
    assert counts(runtime)["billable_metric_filters"] == 2


def test_update_keeps_unsent_fields_and_filters(api):
    created = create_metric(api, description="d", filters=[{"key": "region", "values": ["eu"]}])
    r = api.put("/billable_metrics/storage", {"billable_metric": {"name": "New"}})
    assert r.json()["billable_metric"] == {**created, "name": "New"}


def test_update_with_empty_filters_removes_them(api, runtime):
    create_metric(api, filters=[{"key": "region", "values": ["eu"]}])
    r = api.put("/billable_metrics/storage", {"billable_metric": {"filters": []}})
    assert r.json()["billable_metric"]["filters"] == []
    assert counts(runtime)["billable_metric_filters"] == 0


def test_update_to_count_agg_drops_field_name(api):
    create_metric(api)
    r = api.put("/billable_metrics/storage", {"billable_metric": {"aggregation_type": "count_agg"}})
    assert r.json()["billable_metric"]["field_name"] is None


def test_update_keeping_its_own_code_is_fine(api):
    create_metric(api)
    r = api.put("/billable_metrics/storage", {"billable_metric": {"code": "storage", "name": "Same"}})
    assert r.status_code == 200, r.text


def test_delete_is_soft_and_frees_the_code(api, runtime):
    created = create_metric(api)
    r = api.delete("/billable_metrics/storage")
    assert r.status_code == 200
    assert r.json()["billable_metric"] == created
    assert counts(runtime)["billable_metrics"] == 1
    assert api.get("/billable_metrics/storage").json() == {
        "status": 404,
        "error": "Not Found",
        "code": "billable_metric_not_found",
    }
    assert api.get("/billable_metrics").json()["billable_metrics"] == []
    again = create_metric(api)
    assert again["lago_id"] != created["lago_id"]
    assert api.delete("/billable_metrics/nope").status_code == 404


def test_other_organization_cannot_see_or_touch(api, other_api, runtime):
    create_metric(api)
    not_found = {"status": 404, "error": "Not Found", "code": "billable_metric_not_found"}
    assert other_api.get("/billable_metrics/storage").json() == not_found
    assert other_api.put("/billable_metrics/storage", {"billable_metric": {"name": "x"}}).json() == not_found
    assert other_api.delete("/billable_metrics/storage").json() == not_found
    assert other_api.get("/billable_metrics").json()["billable_metrics"] == []
    # the same code is free in the other organization
    assert create_metric(other_api)["code"] == "storage"
    assert api.get("/billable_metrics/storage").json()["billable_metric"]["name"] == "Storage"
