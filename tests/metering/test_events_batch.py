"""POST /events/batch: all or nothing, errors keyed by index."""

from __future__ import annotations

from tests.metering.helpers import counts, create_metric, errors, stored_events


def batch(api, events):
    return api.post("/events/batch", {"events": events})


def ev(tx, **extra):
    return {"transaction_id": tx, "code": "c", "external_subscription_id": "s", **extra}


def test_batch_returns_every_event_in_order(api, runtime):
    r = batch(api, [ev("a", timestamp=1780586634), ev("b", properties={"x": 1}), ev("c", timestamp="1.5")])
    assert r.status_code == 200, r.text
    events = r.json()["events"]
    assert [e["transaction_id"] for e in events] == ["a", "b", "c"]
    assert [e["timestamp"] for e in events] == [
        "2026-06-04T15:23:54.000Z",
        "2024-01-01T00:00:00.000Z",
        "1970-01-01T00:00:01.500Z",
    ]
    first = dict(events[1])
    assert len(first.pop("lago_id")) == 36
    assert first == {
        "transaction_id": "b",
        "lago_customer_id": None,
        "code": "c",
        "timestamp": "2024-01-01T00:00:00.000Z",
        "precise_total_amount_cents": None,
        "properties": {"x": 1},
        "lago_subscription_id": None,
        "external_subscription_id": "s",
        "created_at": "2024-01-01T00:00:00Z",
    }
    assert counts(runtime)["events"] == 3


def test_no_events(api, runtime):
    for body in (
        {"events": []},
        {},
        {"events": None},
        {"events": {"transaction_id": "a"}},
        {"event": ev("a")},
    ):
        assert errors(api.post("/events/batch", body)) == {"events": ["no_events"]}, body
    assert counts(runtime)["events"] == 0


def test_batch_limit(api, runtime):
    r = batch(api, [ev(f"t{i}") for i in range(101)])
    assert errors(r) == {"events": ["too_many_events"]}
    assert counts(runtime)["events"] == 0
    assert batch(api, [ev(f"t{i}") for i in range(100)]).status_code == 200
    assert counts(runtime)["events"] == 100


def test_one_bad_event_rejects_the_batch(api, runtime):
    r = batch(
        api,
        [
            ev("ok1"),
            ev("bad_ts", timestamp="2024-01-01"),
            {"code": "c"},
            ev("ok2"),
            {"transaction_id": "", "code": "", "timestamp": "x"},
            "not an object",
        ],
    )
    assert errors(r) == {
        "1": {"timestamp": ["invalid_format"]},
        "2": {"transaction_id": ["value_is_mandatory"]},
        "4": {"timestamp": ["invalid_format"]},
        "5": {"transaction_id": ["value_is_mandatory"], "code": ["value_is_mandatory"]},
    }
    assert counts(runtime)["events"] == 0


def test_duplicate_inside_the_batch(api, runtime):
    r = batch(api, [ev("a"), ev("b"), ev("a"), ev("a", external_subscription_id="other")])
    assert errors(r) == {"2": {"transaction_id": ["value_already_exist"]}}
    assert counts(runtime)["events"] == 0


def test_duplicate_against_stored_events(api, runtime):
    assert batch(api, [ev("a"), ev("b")]).status_code == 200
    r = batch(api, [ev("c"), ev("b"), ev("d"), ev("a")])
    assert errors(r) == {
        "1": {"transaction_id": ["value_already_exist"]},
        "3": {"transaction_id": ["value_already_exist"]},
    }
    assert sorted(e.transaction_id for e in stored_events(runtime)) == ["a", "b"]


def test_null_subscriptions_are_not_deduplicated_in_a_batch(api, runtime):
    r = batch(api, [{"transaction_id": "a", "code": "c"}, {"transaction_id": "a", "code": "c"}])
    assert r.status_code == 200
    assert counts(runtime)["events"] == 2


def test_missing_timestamps_share_the_request_time(api, runtime):
    runtime.clock.set(runtime.clock.now().replace(microsecond=123456))
    r = batch(api, [ev("a"), ev("b")])
    assert {e["timestamp"] for e in r.json()["events"]} == {"2024-01-01T00:00:00.123Z"}
    assert {e.timestamp.microsecond for e in stored_events(runtime)} == {123456}


def test_expressions_in_a_batch(api, runtime):
    create_metric(api, field_name="v", expression="event.properties.a * 2")
    r = batch(api, [ev("a", code="storage", properties={"a": 1}), ev("b", code="other", properties={})])
    assert [e["properties"] for e in r.json()["events"]] == [{"a": 1, "v": "2.0"}, {}]
    r = batch(
        api,
        [
            ev("c", code="storage", properties={"a": 1}),
            ev("d", code="storage", properties={}),
            {"code": "storage", "properties": {}},
        ],
    )
    # an expression failure is reported as the evaluator's message; a missing field wins over it
    assert errors(r) == {
        "1": "expression_evaluation_failed: Variable: a not found",
        "2": {"transaction_id": ["value_is_mandatory"]},
    }
    assert counts(runtime)["events"] == 2


def test_batch_limit_follows_settings(api, runtime):
    runtime.settings.events_batch_max_length = 2
    assert errors(batch(api, [ev("a"), ev("b"), ev("c")])) == {"events": ["too_many_events"]}
