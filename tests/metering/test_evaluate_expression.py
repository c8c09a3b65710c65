"""POST /billable_metrics/evaluate_expression: keys at the top level, Lago's answers and errors."""

from __future__ import annotations

import pytest

from tests.metering.helpers import errors


def evaluate(api, body):
    return api.post("/billable_metrics/evaluate_expression", body)


def test_documented_example(api):
    r = evaluate(
        api,
        {
            "expression": "round(event.properties.value * event.properties.units)",
            "event": {"code": "storage", "properties": {"value": 10.4, "units": 2}},
        },
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"expression_result": {"value": "21.0"}}


@pytest.mark.parametrize(
    ("expression", "event", "value"),
    [
        ("event.properties.a / 8", {"properties": {"a": "1"}}, "0.125"),
        (
            "concat(event.code, '-', event.properties.region)",
            {"code": "api", "properties": {"region": "eu"}},
            "api-eu",
        ),
        ("event.timestamp + 1", {"timestamp": "1651240791", "properties": {}}, "1651240792.0"),
        ("event.timestamp", {"timestamp": 1651240791.9}, "1651240791.0"),
        ("ceil(event.properties.x, 1)", {"properties": {"x": 1.21}}, "1.3"),
        ("1 + 2", None, "3.0"),
        ("event.timestamp", {"properties": {}}, "1704067200.0"),
    ],
)
def test_values(api, expression, event, value):
    body = {"expression": expression}
    if event is not None:
        body["event"] = event
    r = evaluate(api, body)
    assert r.status_code == 200, r.text
    assert r.json() == {"expression_result": {"value": value}}


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"event": {"properties": {}}}, {"expression": ["value_is_mandatory"]}),
        ({"expression": "  ", "event": {}}, {"expression": ["value_is_mandatory"]}),
        ({"expression": "round(", "event": {}}, {"expression": ["invalid_expression"]}),
        (
            {"expression": "event.properties.missing + 1", "event": {"properties": {}}},
            {"event": ["invalid_event"]},
        ),
        (
            {"expression": "event.properties.a * 2", "event": {"properties": {"a": "abc"}}},
            {"event": ["invalid_event"]},
        ),
        ({"expression": "event.properties.a"}, {"event": ["invalid_event"]}),
    ],
)
def test_errors(api, body, details):
    assert errors(evaluate(api, body)) == details


def test_bad_json_is_400(api):
    r = api.raw("POST", "/billable_metrics/evaluate_expression", b"{", {"Content-Type": "application/json"})
    assert r.status_code == 400
