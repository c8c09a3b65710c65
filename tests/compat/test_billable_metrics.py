"""Billable metrics through ``lago_python_client``: create, find, find_all, update, destroy."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models import (
    BillableMetric,
    BillableMetricEvaluateExpression,
    BillableMetricEvaluateExpressionEvent,
    BillableMetricFilter,
    BillableMetricFilters,
)

from tests.support.openapi import assert_response_matches_openapi

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def _code(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def _filters(*pairs: tuple[str, list[str]]) -> BillableMetricFilters:
    return BillableMetricFilters(__root__=[BillableMetricFilter(key=k, values=v) for k, v in pairs])


def _without_generated(body: dict[str, Any]) -> dict[str, Any]:
    assert str(uuid.UUID(body["lago_id"])) == body["lago_id"]
    assert ISO_Z.match(body["created_at"]), body["created_at"]
    return {k: v for k, v in body.items() if k not in ("lago_id", "created_at")}


def test_sum_metric_with_filters(client: Client, http: httpx.Client) -> None:
    code = _code("storage")
    created = client.billable_metrics.create(
        BillableMetric(
            name="Storage",
            code=code,
            description="GB stored",
            aggregation_type="sum_agg",
            field_name="gb",
            recurring=True,
            rounding_function="round",
            rounding_precision=2,
            filters=_filters(("region", ["us-east-1", "eu-west-1", "us-east-1"]), ("cloud", ["aws", "gcp"])),
        )
    )
    assert created is not None
    assert _without_generated(created.dict()) == {
        "name": "Storage",
        "code": code,
        "description": "GB stored",
        "recurring": True,
        "rounding_function": "round",
        "rounding_precision": 2,
        "aggregation_type": "sum_agg",
        "weighted_interval": None,
        "expression": None,
        "field_name": "gb",
        # Filters come back ordered by key; values de-duplicated (Lago's ``uniq``) and sorted by
        # its serializer (``values.sort``).
        "filters": [
            {"key": "cloud", "values": ["aws", "gcp"]},
            {"key": "region", "values": ["eu-west-1", "us-east-1"]},
        ],
    }

    found = client.billable_metrics.find(code)
    assert found == created

    raw = http.get(f"/billable_metrics/{code}")
    assert raw.status_code == 200
    assert_response_matches_openapi(raw, "/billable_metrics/{code}")
    body = raw.json()["billable_metric"]
    assert body["lago_id"] == created.lago_id
    assert [{"key": f["key"], "values": f["values"]} for f in body["filters"]] == created.dict()["filters"]


def test_count_metric_drops_field_name(client: Client, http: httpx.Client) -> None:
    code = _code("calls")
    created = client.billable_metrics.create(
        BillableMetric(name="API calls", code=code, aggregation_type="count_agg", field_name="ignored")
    )
    assert created is not None
    assert _without_generated(created.dict()) == {
        "name": "API calls",
        "code": code,
        "description": None,
        "recurring": False,
        "rounding_function": None,
        "rounding_precision": None,
        "aggregation_type": "count_agg",
        "weighted_interval": None,
        "expression": None,
        "field_name": None,
        "filters": [],
    }
    raw = http.post(
        "/billable_metrics",
        json={
            "billable_metric": {"name": "Raw calls", "code": _code("raw"), "aggregation_type": "count_agg"}
        },
    )
    assert raw.status_code == 200, raw.text
    assert_response_matches_openapi(raw, "/billable_metrics")


def test_find_all(client: Client, http: httpx.Client) -> None:
    codes = {
        client.billable_metrics.create(
            BillableMetric(name=f"M{i}", code=_code("list"), aggregation_type="count_agg")
        ).code
        for i in range(3)
    }
    result = client.billable_metrics.find_all({"per_page": 100})
    total = result["meta"]["total_count"]
    assert len(result["billable_metrics"]) == total
    assert codes <= {m.code for m in result["billable_metrics"]}
    assert result["meta"] == {
        "current_page": 1,
        "next_page": None,
        "prev_page": None,
        "total_pages": 1,
        "total_count": total,
    }

    first_page = client.billable_metrics.find_all({"per_page": 1, "page": 1})
    assert len(first_page["billable_metrics"]) == 1
    assert first_page["meta"] == {
        "current_page": 1,
        "next_page": 2,
        "prev_page": None,
        "total_pages": total,
        "total_count": total,
    }

    raw = http.get("/billable_metrics", params={"per_page": 2, "page": 2})
    assert raw.status_code == 200
    assert_response_matches_openapi(raw, "/billable_metrics")
    assert raw.json()["meta"]["current_page"] == 2
    assert raw.json()["meta"]["prev_page"] == 1


def test_update_metric(client: Client, http: httpx.Client) -> None:
    code = _code("bandwidth")
    created = client.billable_metrics.create(
        BillableMetric(
            name="Bandwidth",
            code=code,
            aggregation_type="max_agg",
            field_name="mbps",
            filters=_filters(("region", ["eu"])),
        )
    )
    assert created is not None
    updated = client.billable_metrics.update(
        BillableMetric(
            name="Peak bandwidth",
            description="Highest Mbps",
            filters=_filters(("region", ["eu", "us"]), ("tier", ["gold"])),
        ),
        code,
    )
    assert updated.lago_id == created.lago_id
    assert updated.code == code
    assert updated.name == "Peak bandwidth"
    assert updated.description == "Highest Mbps"
    assert updated.aggregation_type == "max_agg"
    assert updated.field_name == "mbps"
    assert updated.created_at == created.created_at
    assert updated.dict()["filters"] == [
        {"key": "region", "values": ["eu", "us"]},
        {"key": "tier", "values": ["gold"]},
    ]
    assert client.billable_metrics.find(code) == updated

    new_code = _code("renamed")
    raw = http.put(f"/billable_metrics/{code}", json={"billable_metric": {"code": new_code}})
    assert raw.status_code == 200, raw.text
    assert_response_matches_openapi(raw, "/billable_metrics/{code}")
    assert raw.json()["billable_metric"]["code"] == new_code
    assert client.billable_metrics.find(new_code).lago_id == created.lago_id

    missing = http.put("/billable_metrics/nope", json={"billable_metric": {"name": "x"}})
    assert missing.status_code == 404
    assert_response_matches_openapi(missing, "/billable_metrics/{code}")
    assert missing.json() == {"status": 404, "error": "Not Found", "code": "billable_metric_not_found"}


def test_destroy_metric(client: Client, http: httpx.Client) -> None:
    code = _code("doomed")
    created = client.billable_metrics.create(
        BillableMetric(name="Doomed", code=code, aggregation_type="count_agg")
    )
    assert created is not None
    deleted = client.billable_metrics.destroy(code)
    assert deleted.lago_id == created.lago_id
    assert deleted.code == code

    with pytest.raises(LagoApiError) as excinfo:
        client.billable_metrics.find(code)
    assert excinfo.value.status_code == 404
    assert excinfo.value.response == {
        "status": 404,
        "error": "Not Found",
        "code": "billable_metric_not_found",
    }

    # The code is free again once the metric is deleted.
    again = client.billable_metrics.create(
        BillableMetric(name="Again", code=code, aggregation_type="count_agg")
    )
    assert again is not None and again.lago_id != created.lago_id
    raw = http.delete(f"/billable_metrics/{code}")
    assert raw.status_code == 200
    assert_response_matches_openapi(raw, "/billable_metrics/{code}")
    gone = http.delete(f"/billable_metrics/{code}")
    assert gone.status_code == 404
    assert_response_matches_openapi(gone, "/billable_metrics/{code}")


def test_metric_validation_errors(client: Client, http: httpx.Client) -> None:
    code = _code("dup")
    client.billable_metrics.create(BillableMetric(name="Dup", code=code, aggregation_type="count_agg"))
    with pytest.raises(LagoApiError) as excinfo:
        client.billable_metrics.create(BillableMetric(name="Dup 2", code=code, aggregation_type="count_agg"))
    assert excinfo.value.status_code == 422
    assert excinfo.value.response == {
        "status": 422,
        "error": "Unprocessable Entity",
        "code": "validation_errors",
        "error_details": {"code": ["value_already_exist"]},
    }

    no_field = http.post(
        "/billable_metrics",
        json={"billable_metric": {"name": "Sum", "code": _code("sum"), "aggregation_type": "sum_agg"}},
    )
    assert no_field.status_code == 422
    assert_response_matches_openapi(no_field, "/billable_metrics")
    assert no_field.json()["error_details"] == {"field_name": ["value_is_mandatory"]}

    bad_type = http.post(
        "/billable_metrics",
        json={
            "billable_metric": {
                "name": "Bad",
                "code": _code("bad"),
                "aggregation_type": "median_agg",
                "field_name": "x",
            }
        },
    )
    assert bad_type.status_code == 422
    assert bad_type.json()["error_details"] == {"aggregation_type": ["value_is_invalid"]}

    recurring_count = http.post(
        "/billable_metrics",
        json={
            "billable_metric": {
                "name": "Rc",
                "code": _code("rc"),
                "aggregation_type": "count_agg",
                "recurring": True,
            }
        },
    )
    assert recurring_count.status_code == 422
    assert recurring_count.json()["error_details"] == {"recurring": ["not_compatible_with_aggregation_type"]}


def test_evaluate_expression_raw(http: httpx.Client) -> None:
    r = http.post(
        "/billable_metrics/evaluate_expression",
        json={
            "expression": "round(event.properties.value * event.properties.units)",
            "event": {"code": "storage", "timestamp": 1700000000, "properties": {"value": 10.4, "units": 2}},
        },
    )
    assert r.status_code == 200, r.text
    assert_response_matches_openapi(r, "/billable_metrics/evaluate_expression")
    assert r.json() == {"expression_result": {"value": "21.0"}}

    text = http.post(
        "/billable_metrics/evaluate_expression",
        json={
            "expression": "concat(event.code, '-', event.properties.region)",
            "event": {"code": "api", "properties": {"region": "eu"}},
        },
    )
    assert text.status_code == 200, text.text
    assert text.json() == {"expression_result": {"value": "api-eu"}}

    invalid = http.post(
        "/billable_metrics/evaluate_expression",
        json={"expression": "round(", "event": {"code": "x", "properties": {}}},
    )
    assert invalid.status_code == 422
    assert_response_matches_openapi(invalid, "/billable_metrics/evaluate_expression")
    assert invalid.json()["error_details"] == {"expression": ["invalid_expression"]}


def test_evaluate_expression_through_client(client: Client) -> None:
    # lago-python-client's evaluate_expression posts no body at all (a client bug), so Lago answers
    # that the expression is missing; Billow must answer the same way, not crash.
    assert hasattr(client.billable_metrics, "evaluate_expression")
    with pytest.raises(LagoApiError) as excinfo:
        client.billable_metrics.evaluate_expression(
            BillableMetricEvaluateExpression(
                expression="event.properties.gb * 2",
                event=BillableMetricEvaluateExpressionEvent(code="storage", properties={"gb": 3}),
            )
        )
    assert excinfo.value.status_code == 422
    assert excinfo.value.response["code"] == "validation_errors"
    assert excinfo.value.response["error_details"] == {"expression": ["value_is_mandatory"]}
