"""Every validation code of billable metrics; a refused write stores nothing and queues nothing."""

from __future__ import annotations

import pytest

from tests.metering.helpers import add_endpoint, counts, create_metric, errors

BASE = {"name": "Storage", "code": "storage", "aggregation_type": "sum_agg", "field_name": "gb"}


def post(api, **fields):
    body = {**BASE, **fields}
    return api.post("/billable_metrics", {"billable_metric": {k: v for k, v in body.items() if v is not ...}})


@pytest.fixture
def before(api, runtime):
    add_endpoint(api)
    return counts(runtime)


@pytest.mark.parametrize(
    ("fields", "details"),
    [
        ({"name": ...}, {"name": ["value_is_mandatory"]}),
        ({"name": "  "}, {"name": ["value_is_mandatory"]}),
        ({"code": ...}, {"code": ["value_is_mandatory"]}),
        ({"code": ""}, {"code": ["value_is_mandatory"]}),
        ({"aggregation_type": "median_agg"}, {"aggregation_type": ["value_is_invalid"]}),
        ({"aggregation_type": ...}, {"aggregation_type": ["value_is_invalid"]}),
        ({"aggregation_type": "recurring_count_agg"}, {"aggregation_type": ["value_is_invalid"]}),
        ({"field_name": ...}, {"field_name": ["value_is_mandatory"]}),
        (
            {"aggregation_type": "unique_count_agg", "field_name": None},
            {"field_name": ["value_is_mandatory"]},
        ),
        ({"aggregation_type": "weighted_sum_agg"}, {"weighted_interval": ["value_is_invalid"]}),
        (
            {"aggregation_type": "weighted_sum_agg", "weighted_interval": None},
            {"weighted_interval": ["value_is_invalid"]},
        ),
        ({"weighted_interval": "minutes"}, {"weighted_interval": ["value_is_invalid"]}),
        (
            {"aggregation_type": "count_agg", "recurring": True},
            {"recurring": ["not_compatible_with_aggregation_type"]},
        ),
        (
            {"aggregation_type": "max_agg", "recurring": True},
            {"recurring": ["not_compatible_with_aggregation_type"]},
        ),
        (
            {"aggregation_type": "latest_agg", "recurring": True},
            {"recurring": ["not_compatible_with_aggregation_type"]},
        ),
        ({"recurring": "maybe"}, {"recurring": ["value_is_invalid"]}),
        ({"rounding_function": "truncate"}, {"rounding_function": ["value_is_invalid"]}),
        ({"rounding_precision": "two"}, {"rounding_precision": ["value_is_invalid"]}),
        ({"rounding_precision": 1.5}, {"rounding_precision": ["value_is_invalid"]}),
        ({"expression": "event.properties.gb *"}, {"expression": ["invalid_expression"]}),
        ({"expression": "unknown(1)"}, {"expression": ["invalid_expression"]}),
        ({"expression": 12}, {"expression": ["invalid_expression"]}),
        (
            {"name": "", "code": "", "aggregation_type": "max_agg", "recurring": True, "field_name": None},
            {
                "recurring": ["not_compatible_with_aggregation_type"],
                "name": ["value_is_mandatory"],
                "field_name": ["value_is_mandatory"],
                "code": ["value_is_mandatory"],
            },
        ),
        ({"filters": [{"key": "region"}]}, {"values": ["value_is_mandatory"]}),
        ({"filters": [{"key": "region", "values": []}]}, {"values": ["value_is_mandatory"]}),
        ({"filters": [{"values": ["eu"]}]}, {"key": ["value_is_mandatory"]}),
        ({"filters": [{"key": "region", "values": [{"a": 1}]}]}, {"values": ["value_is_invalid"]}),
        ({"filters": "region"}, {"filters": ["value_is_invalid"]}),
        ({"filters": ["region"]}, {"filters": ["value_is_invalid"]}),
    ],
)
def test_create_refused(api, runtime, before, fields, details):
    assert errors(post(api, **fields)) == details
    assert counts(runtime) == before


def test_custom_agg_is_forbidden(api, runtime, before):
    r = post(api, aggregation_type="custom_agg")
    assert r.status_code == 403
    assert r.json() == {"status": 403, "error": "Forbidden", "code": "feature_unavailable"}
    create_metric(api, code="other")
    r = api.put("/billable_metrics/other", {"billable_metric": {"aggregation_type": "custom_agg"}})
    assert r.status_code == 403
    assert api.get("/billable_metrics/other").json()["billable_metric"]["aggregation_type"] == "sum_agg"


def test_code_taken_among_live_metrics(api, runtime):
    create_metric(api)
    before = counts(runtime)
    assert errors(post(api)) == {"code": ["value_already_exist"]}
    create_metric(api, code="other")
    r = api.put("/billable_metrics/other", {"billable_metric": {"code": "storage"}})
    assert errors(r) == {"code": ["value_already_exist"]}
    assert counts(runtime)["billable_metrics"] == before["billable_metrics"] + 1


def test_missing_root_or_bad_json_is_400(api, runtime, before):
    r = api.post("/billable_metrics", {"metric": BASE})
    assert r.status_code == 400
    assert r.json() == {
        "status": 400,
        "error": "BadRequest: param is missing or the value is empty or invalid: billable_metric",
    }
    r = api.raw("POST", "/billable_metrics", b"{not json", {"Content-Type": "application/json"})
    assert r.status_code == 400
    assert counts(runtime) == before


def test_update_refused_keeps_everything(api, runtime):
    add_endpoint(api)
    created = create_metric(api, filters=[{"key": "region", "values": ["eu"]}])
    before = counts(runtime)
    r = api.put(
        "/billable_metrics/storage",
        {
            "billable_metric": {
                "name": "New",
                "aggregation_type": "latest_agg",
                "recurring": True,
                "filters": [],
            }
        },
    )
    assert errors(r) == {"recurring": ["not_compatible_with_aggregation_type"]}
    r = api.put("/billable_metrics/storage", {"billable_metric": {"name": "New", "filters": [{"key": "k"}]}})
    assert errors(r) == {"values": ["value_is_mandatory"]}
    assert counts(runtime) == before
    shown = api.get("/billable_metrics/storage").json()["billable_metric"]
    assert shown["name"] == "Storage"
    assert shown["filters"] == created["filters"]


def test_rounding_precision_accepts_integer_strings(api):
    assert create_metric(api, rounding_function="floor", rounding_precision="3")["rounding_precision"] == 3
