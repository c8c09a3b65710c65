"""What other packages call: plan deletion, customer deletion, currency and plan-usage checks,
the credit-note hook; and a subscription's own billing entity."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from billow.customers.models import Customer
from billow.pricing.plans.models import Plan
from billow.subscriptions.models import Subscription
from billow.subscriptions.queries import customer_has_subscriptions, plan_has_subscriptions
from billow.subscriptions.terminate import (
    credit_note_wanted,
    terminate_customer_subscriptions,
    terminate_plan_subscriptions,
    termination_credit_note_requested,
)
from tests.subscriptions.helpers import bill_jobs, create_customer, create_plan, ok, subscribed


def _plan(ctx, code: str) -> Plan:
    return ctx.session.scalars(select(Plan).where(Plan.code == code, Plan.parent_id.is_(None))).one()


def test_plan_deletion_terminates_and_cancels(api, runtime, ctx):
    create_customer(api, "cus_1")
    create_plan(api, "pro")
    active = subscribed(api, "a")
    child = subscribed(api, "b", plan_overrides={"amount_cents": 5})
    pending = subscribed(api, "c", subscription_at="2024-03-01T00:00:00Z")
    plan = _plan(ctx, "pro")
    assert plan_has_subscriptions(ctx, plan.id)
    children = list(ctx.session.scalars(select(Plan.id).where(Plan.parent_id == plan.id)))
    assert terminate_plan_subscriptions(ctx, [plan.id, *children]) == 3
    ctx.session.commit()
    statuses = {
        str(s.id): (s.status, s.termination_reason) for s in ctx.session.scalars(select(Subscription))
    }
    assert statuses == {
        active["lago_id"]: ("terminated", "plan_deleted"),
        child["lago_id"]: ("terminated", "plan_deleted"),
        pending["lago_id"]: ("canceled", None),
    }
    ctx.session.commit()  # SQLite: release the write lock before other sessions read
    keys = {j["unique_key"] for j in bill_jobs(runtime)}
    assert keys == {f"bill:terminate:{active['lago_id']}", f"bill:terminate:{child['lago_id']}"}


def test_customer_deletion_terminates_its_subscriptions(api, runtime, ctx):
    create_customer(api, "cus_1")
    create_customer(api, "cus_2")
    create_plan(api, "pro")
    create_plan(api, "cheap", amount_cents=1)
    mine = subscribed(api, "a")
    subscribed(api, "a", plan_code="cheap")  # a scheduled downgrade
    theirs = subscribed(api, "b", external_customer_id="cus_2")
    customer = ctx.session.scalars(select(Customer).where(Customer.external_id == "cus_1")).one()
    assert customer_has_subscriptions(ctx, customer.id)
    assert terminate_customer_subscriptions(ctx, customer.id) == 2
    ctx.session.commit()
    rows = {(s.external_id, s.status) for s in ctx.session.scalars(select(Subscription))}
    assert rows == {("a", "terminated"), ("a", "canceled"), ("b", "active")}
    ctx.session.commit()
    assert ok(api.get("/subscriptions/b"))["subscription"]["lago_id"] == theirs["lago_id"]
    assert ok(api.get("/subscriptions/a", status="terminated"))["subscription"]["lago_id"] == mine["lago_id"]


def test_plan_without_subscriptions(api, runtime, ctx):
    create_plan(api, "pro")
    assert not plan_has_subscriptions(ctx, _plan(ctx, "pro").id)
    assert not customer_has_subscriptions(ctx, uuid.uuid4())


def test_credit_note_hook_records_the_option(api, runtime, ctx):
    create_customer(api, "cus_1")
    create_plan(api, "adv", pay_in_advance=True)
    create_plan(api, "arr")
    adv_sub = subscribed(api, "a", plan_code="adv")
    arr_sub = subscribed(api, "b", plan_code="arr")
    adv = ctx.session.get(Subscription, uuid.UUID(adv_sub["lago_id"]))
    arr = ctx.session.get(Subscription, uuid.UUID(arr_sub["lago_id"]))
    assert adv is not None and arr is not None
    adv_plan, arr_plan = _plan(ctx, "adv"), _plan(ctx, "arr")
    assert termination_credit_note_requested(ctx, adv, adv_plan, None, upgrade=False)
    assert adv.on_termination_credit_note == "credit"
    assert not termination_credit_note_requested(ctx, adv, adv_plan, "credit", upgrade=False)
    assert termination_credit_note_requested(ctx, adv, adv_plan, "skip", upgrade=False)
    assert not credit_note_wanted(adv, adv_plan)
    assert not termination_credit_note_requested(ctx, arr, arr_plan, "refund", upgrade=False)
    assert arr.on_termination_credit_note is None
    assert not credit_note_wanted(arr, arr_plan)


def test_subscription_names_its_billing_entity(api, runtime, ctx, org):
    create_customer(api, "cus_1")
    create_plan(api, "pro")
    by_code = subscribed(api, "a", billing_entity_code="acme")
    assert by_code["billing_entity_code"] == "acme"
    entity_id = ctx.session.get(Subscription, uuid.UUID(by_code["lago_id"])).billing_entity_id
    ctx.session.commit()
    assert entity_id is not None
    by_id = subscribed(api, "b", billing_entity_id=str(entity_id))
    assert ctx.session.get(Subscription, uuid.UUID(by_id["lago_id"])).billing_entity_id == entity_id
    ctx.session.commit()
    response = api.post(
        "/subscriptions",
        {
            "subscription": {
                "external_customer_id": "cus_1",
                "plan_code": "pro",
                "external_id": "c",
                "billing_entity_id": str(uuid.uuid4()),
            }
        },
    )
    assert response.status_code == 404 and response.json()["code"] == "billing_entity_not_found"
    cleared = ok(api.put("/subscriptions/a", {"subscription": {"billing_entity_code": None}}))["subscription"]
    assert cleared["billing_entity_code"] == "acme"  # the customer's entity applies again
