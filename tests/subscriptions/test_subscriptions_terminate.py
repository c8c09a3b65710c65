"""DELETE /subscriptions/{external_id}: terminate an active subscription, cancel a pending one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from billow.subscriptions.models import Subscription
from tests.subscriptions.helpers import (
    add_endpoint,
    bill_jobs,
    create_customer,
    create_plan,
    errors,
    move,
    ok,
    subscribed,
    webhook_types,
    webhooks,
)


@pytest.fixture
def started(api, runtime):
    add_endpoint(api)
    create_customer(api, "cus_1")
    create_plan(api, "arrears")
    create_plan(api, "advance", pay_in_advance=True)
    move(runtime, datetime(2024, 2, 8, tzinfo=UTC))


def terminate(api, external_id: str = "sub_1", **params) -> dict:
    return ok(api.delete(f"/subscriptions/{external_id}", **params))["subscription"]


def test_terminate_active_queues_the_termination_invoice(api, runtime, org, started):
    sub = subscribed(api, plan_code="arrears")
    move(runtime, datetime(2024, 2, 21, 6, tzinfo=UTC))
    done = terminate(api)
    assert done["lago_id"] == sub["lago_id"]
    assert done["status"] == "terminated"
    assert done["terminated_at"] == "2024-02-21T06:00:00Z"
    assert done["on_termination_credit_note"] is None
    assert done["on_termination_invoice"] == "generate"
    assert "plan" in done and "entitlements" not in done
    assert bill_jobs(runtime)[-1] == {
        "unique_key": f"bill:terminate:{sub['lago_id']}",
        "payload": {
            "customer_id": sub["lago_customer_id"],
            "timestamp": "2024-02-21T06:00:00.000000Z",
            "items": [{"subscription_id": sub["lago_id"], "reason": "subscription_terminating"}],
        },
        "organization_id": org.id,
    }
    assert webhook_types(runtime)[-1] == "subscription.terminated"
    assert webhooks(runtime, "subscription.terminated")[0]["subscription"]["status"] == "terminated"
    with runtime.db.session() as session:
        assert session.scalars(select(Subscription.termination_reason)).one() == "manual"
    # Gone from the active views; a second DELETE is a 404.
    assert errors(api.get("/subscriptions/sub_1"), 404) == "subscription_not_found"
    assert errors(api.delete("/subscriptions/sub_1"), 404) == "subscription_not_found"


def test_skip_invoice_queues_nothing(api, runtime, started):
    sub = subscribed(api, plan_code="arrears")
    done = terminate(api, on_termination_invoice="skip")
    assert done["on_termination_invoice"] == "skip"
    assert not [j for j in bill_jobs(runtime) if j["unique_key"] == f"bill:terminate:{sub['lago_id']}"]
    # Storing the option is an update (Lago's termination goes through its update service).
    assert webhook_types(runtime)[-2:] == ["subscription.updated", "subscription.terminated"]


@pytest.mark.parametrize(
    ("params", "recorded"),
    [
        ({}, "credit"),
        ({"on_termination_credit_note": ""}, "credit"),
        ({"on_termination_credit_note": "refund"}, "refund"),
        ({"on_termination_credit_note": "offset"}, "offset"),
        ({"on_termination_credit_note": "skip"}, "skip"),
    ],
)
def test_pay_in_advance_records_the_credit_note_behaviour(api, runtime, started, params, recorded):
    subscribed(api, plan_code="advance")
    assert terminate(api, **params)["on_termination_credit_note"] == recorded


def test_pay_in_arrears_ignores_the_credit_note_option(api, runtime, started):
    subscribed(api, plan_code="arrears")
    done = terminate(api, on_termination_credit_note="refund")
    assert done["on_termination_credit_note"] is None
    # Exactly one webhook: nothing was recorded, so no update.
    assert webhook_types(runtime)[-2:] == ["subscription.started", "subscription.terminated"]


def test_stored_options_apply_when_none_is_sent(api, runtime, started):
    subscribed(api, plan_code="advance")
    ok(api.put("/subscriptions/sub_1", {"subscription": {"on_termination_credit_note": "skip"}}))
    ok(api.put("/subscriptions/sub_1", {"subscription": {"on_termination_invoice": "skip"}}))
    done = terminate(api)
    assert (done["on_termination_credit_note"], done["on_termination_invoice"]) == ("skip", "skip")
    assert not [j for j in bill_jobs(runtime) if j["unique_key"].startswith("bill:terminate:")]
    assert webhook_types(runtime)[-1] == "subscription.terminated"
    assert webhook_types(runtime)[-2] == "subscription.updated"  # the second PUT


def test_terminating_cancels_the_scheduled_downgrade(api, runtime, started):
    create_plan(api, "cheap", amount_cents=10)
    subscribed(api, plan_code="arrears")
    subscribed(api, plan_code="cheap")
    pending = ok(api.get("/subscriptions/sub_1", status="pending"))["subscription"]
    done = terminate(api)
    assert done["next_plan_code"] is None  # the canceled successor no longer counts
    canceled = ok(api.get("/subscriptions/sub_1", status="canceled"))["subscription"]
    assert canceled["lago_id"] == pending["lago_id"]
    assert canceled["canceled_at"] == "2024-02-08T00:00:00Z"


def test_cancel_pending_sends_terminated_quirk(api, runtime, started):
    sub = subscribed(api, plan_code="arrears", subscription_at="2024-03-01T00:00:00Z")
    assert errors(api.delete("/subscriptions/sub_1"), 404) == "subscription_not_found"
    jobs_before = bill_jobs(runtime)
    done = terminate(api, status="pending", on_termination_invoice="bogus")
    assert done["lago_id"] == sub["lago_id"]
    assert done["status"] == "canceled"
    assert done["canceled_at"] == "2024-02-08T00:00:00Z"
    assert done["terminated_at"] is None
    assert bill_jobs(runtime) == jobs_before
    (hook,) = webhooks(runtime, "subscription.terminated")
    assert hook["subscription"]["status"] == "canceled"


def test_cancel_scheduled_downgrade_updates_the_current_subscription(api, runtime, started):
    create_plan(api, "cheap", amount_cents=10)
    current = subscribed(api, plan_code="arrears")
    subscribed(api, plan_code="cheap")
    count = len(webhooks(runtime))
    terminate(api, status="pending")
    updated, terminated = webhooks(runtime)[count:]
    assert updated["webhook_type"] == "subscription.updated"
    assert updated["subscription"]["lago_id"] == current["lago_id"]
    assert updated["subscription"]["next_plan_code"] is None
    assert updated["subscription"]["downgrade_plan_date"] is None
    assert terminated["webhook_type"] == "subscription.terminated"
    assert terminated["subscription"]["status"] == "canceled"
    assert ok(api.get("/subscriptions/sub_1"))["subscription"]["status"] == "active"


def test_unknown_subscription(api, runtime, started):
    assert errors(api.delete("/subscriptions/nope"), 404) == "subscription_not_found"
    assert errors(api.delete("/subscriptions/nope", status="pending"), 404) == "subscription_not_found"


def test_external_id_with_dots(api, runtime, started):
    subscribed(api, "coker.com", plan_code="arrears")
    assert terminate(api, "coker.com")["status"] == "terminated"
