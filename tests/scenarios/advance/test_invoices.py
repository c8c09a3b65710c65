"""Where pay-in-advance fees go (billing.md §4.12): one finalized ``in_advance_charge`` invoice per
invoiceable fee, issued on the event's day in the customer's timezone; unattached fees for
non-invoiceable charges; ``fee.created`` once per fee; exactly once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from billow.billing.advance.jobs import PAY_IN_ADVANCE_JOB
from billow.db.context import Ctx
from billow.jobs.models import Job
from billow.jobs.queue import enqueue
from tests.advance.helpers import (
    advance_charge,
    advance_fees,
    amounts,
    metric,
    row_counts,
    send,
    settle,
    setup,
)
from tests.billing.helpers import add_endpoint, invoices, webhooks
from tests.pricing.helpers import create_tax, ok
from tests.scenarios.helpers import fee_owner, metric_item, unattached_fee_ids
from tests.support.openapi import assert_matches_webhook

pytestmark = pytest.mark.slow

# 21:00 on March 9 in Los Angeles.
NOW = datetime(2024, 3, 10, 5, tzinfo=UTC)
LA = {"timezone": "America/Los_Angeles"}


def _fee_without_taxes(api: Any, lago_id: str) -> dict[str, Any]:
    fee = ok(api.get(f"/fees/{lago_id}"))["fee"]
    fee.pop("applied_taxes")
    return fee


def test_each_invoiceable_fee_gets_its_own_finalized_invoice_on_the_local_event_day(api, runtime):
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    add_endpoint(api)
    bm = metric(api, "storage")
    setup(api, runtime, NOW, [advance_charge(bm)], subscription_at="2024-03-01T08:00:00Z", customer_fields=LA)
    for value in (10, 5):
        send(api, "storage", value=value)
    settle(api, runtime)
    found = [i for i in invoices(api) if i["billing_periods"][0]["invoicing_reason"] == "in_advance_charge"]
    assert len(found) == 2
    for invoice, fee_cents in zip(found, (1000, 500), strict=True):
        assert invoice["invoice_type"] == "subscription"
        assert invoice["status"] == "finalized"
        assert not invoice["number"].endswith("DRAFT")
        assert (invoice["issuing_date"], invoice["payment_due_date"]) == ("2024-03-09", "2024-03-09")
        assert invoice["fees_amount_cents"] == fee_cents
        assert invoice["taxes_amount_cents"] == fee_cents // 5
        assert invoice["total_amount_cents"] == fee_cents * 6 // 5
        assert invoice["payment_status"] == "pending"
        [fee] = invoice["fees"]
        assert (fee["amount_cents"], fee["taxes_amount_cents"], fee["pay_in_advance"]) == (
            fee_cents,
            fee_cents // 5,
            True,
        )
        assert fee["from_date"] == "2024-03-01T08:00:00Z"
    assert [i["sequential_id"] for i in found] == [1, 2]
    # fee.created then invoice.created, once each, with the fee as the API shows it (no taxes).
    hooks = webhooks(runtime, "fee.created", "invoice.created")
    assert [h["webhook_type"] for h in hooks] == ["fee.created", "invoice.created"] * 2
    fee_hooks = [h for h in hooks if h["webhook_type"] == "fee.created"]
    for hook, fee in zip(fee_hooks, advance_fees(api), strict=True):
        assert_matches_webhook("fee.created", hook)
        assert hook["fee"] == _fee_without_taxes(api, fee["lago_id"])
        assert hook["fee"]["lago_invoice_id"] is not None


def test_non_invoiceable_fee_is_unattached_taxed_and_announced(api, runtime, org):
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    add_endpoint(api)
    bm = metric(api, "storage")
    setup(
        api,
        runtime,
        NOW,
        [advance_charge(bm, invoiceable=False, invoice_display_name="Storage")],
        subscription_at="2024-03-01T08:00:00Z",
        customer_fields=LA,
    )
    transaction_id = send(api, "storage", value=7)
    settle(api, runtime)
    assert [i for i in invoices(api) if i["fees"]] == []
    [fee] = advance_fees(api)
    [hook] = webhooks(runtime, "fee.created")
    assert_matches_webhook("fee.created", hook)
    sub = ok(api.get("/subscriptions/sub_1"))["subscription"]
    expected = {
        **unattached_fee_ids(fee["lago_id"], fee["lago_charge_id"]),
        **fee_owner(sub),
        "item": metric_item("storage", "Storage", bm["lago_id"]),
        "pay_in_advance": True,
        "invoiceable": False,
        "amount_cents": 700,
        "amount_currency": "EUR",
        "precise_amount": "7.0",
        "precise_total_amount": "8.4",
        "taxes_amount_cents": 140,
        "taxes_precise_amount": "1.4",
        "taxes_rate": 20.0,
        "total_aggregated_units": "7.0",
        "total_amount_cents": 840,
        "total_amount_currency": "EUR",
        "units": "7.0",
        "description": None,
        "precise_unit_amount": "1.0",
        "precise_coupons_amount_cents": "0.0",
        "sub_total_excluding_taxes_amount_cents": 700,
        "sub_total_excluding_taxes_precise_amount_cents": "700.0",
        "events_count": 1,
        "payment_status": "pending",
        "created_at": "2024-03-10T05:00:00Z",
        "succeeded_at": None,
        "failed_at": None,
        "refunded_at": None,
        "amount_details": {},
        "self_billed": False,
        "pricing_unit_details": None,
        "presentation_breakdowns": [],
        # The period the fee pays for, as local days (March in Los Angeles).
        "from_date": "2024-03-01T00:00:00Z",
        "to_date": "2024-03-31T23:59:59Z",
        "event_transaction_id": transaction_id,
    }
    assert hook["fee"] == expected
    assert hook["organization_id"] == str(org.id)
    assert [t["amount_cents"] for t in ok(api.get(f"/fees/{fee['lago_id']}"))["fee"]["applied_taxes"]] == [
        140
    ]


def test_invoiceable_and_non_invoiceable_charges_on_one_metric(api, runtime):
    bm = metric(api, "storage")
    charges = [advance_charge(bm, properties={"amount": "2"}), advance_charge(bm, invoiceable=False)]
    setup(api, runtime, NOW, charges)
    send(api, "storage", value=3)
    settle(api, runtime)
    fees = advance_fees(api)
    assert sorted((f["amount_cents"], f["invoiceable"], f["lago_invoice_id"] is None) for f in fees) == [
        (300, False, True),
        (600, True, False),
    ]


def test_zero_amount_invoice_is_closed_silently_when_the_customer_skips_them(api, runtime):
    add_endpoint(api)
    bm = metric(api, "storage")
    setup(api, runtime, NOW, [advance_charge(bm)], customer_fields={"finalize_zero_amount_invoice": "skip"})
    send(api, "storage", value=4)
    send(api, "storage", value=-4)
    settle(api, runtime)
    assert amounts(api) == [400, 0]
    statuses = sorted(i["status"] for i in ok(api.get("/invoices"))["invoices"])
    assert statuses == ["finalized"]  # the closed one is not listed
    assert len(webhooks(runtime, "fee.created")) == 1
    assert len(webhooks(runtime, "invoice.created")) == 1


def test_zero_amount_invoice_is_finalized_by_default(api, runtime):
    bm = metric(api, "storage")
    setup(api, runtime, NOW, [advance_charge(bm)])
    send(api, "storage", value=-1)
    settle(api, runtime)
    assert amounts(api) == [0]
    [invoice] = [i for i in invoices(api) if i["fees"]]
    assert (invoice["status"], invoice["fees_amount_cents"], invoice["payment_status"]) == (
        "finalized",
        0,
        "succeeded",
    )


def test_duplicate_event_and_job_rerun_create_no_second_fee(api, runtime, org):
    bm = metric(api, "storage")
    setup(api, runtime, NOW, [advance_charge(bm)])
    body = {
        "transaction_id": "dup",
        "external_subscription_id": "sub_1",
        "code": "storage",
        "properties": {"value": 5},
    }
    ok(api.post("/events", {"event": body}))
    duplicate = api.post("/events", {"event": body})
    assert (duplicate.status_code, duplicate.json()["error_details"]) == (
        422,
        {"transaction_id": ["value_already_exist"]},
    )
    settle(api, runtime)
    assert len(advance_fees(api)) == 1
    before = row_counts(runtime)
    with runtime.db.session() as session:
        [payload] = session.scalars(select(Job.payload).where(Job.kind == PAY_IN_ADVANCE_JOB)).all()
    # The same job again, twice (a retry, a second worker): nothing new.
    for _ in range(2):
        with runtime.db.session() as session:
            ctx = Ctx(session=session, clock=runtime.clock, settings=runtime.settings, organization_id=org.id)
            enqueue(ctx, PAY_IN_ADVANCE_JOB, payload)
    settle(api, runtime)
    after = row_counts(runtime)
    assert {k: after[k] - before[k] for k in after} == {
        "events": 0,
        "fees": 0,
        "fee_applied_taxes": 0,
        "invoices": 0,
        "invoice_subscriptions": 0,
        "jobs": 2,
        "webhooks": 0,
    }


def test_events_that_make_no_fee(api, runtime):
    bm = metric(api, "storage")
    plain = metric(api, "plain")
    charges = [
        advance_charge(bm),
        {"billable_metric_id": plain["lago_id"], "charge_model": "standard", "properties": {"amount": "1"}},
    ]
    setup(api, runtime, NOW, charges, subscription_at="2024-03-10T05:00:00Z")
    send(api, "storage", when=datetime(2024, 3, 10, 4, tzinfo=UTC), value=5)  # before the start
    send(api, "storage", sub="unknown", value=5)  # no such subscription
    send(api, "storage", other=5)  # no value: Lago makes no fee
    send(api, "plain", value=5)  # not a pay-in-advance charge
    settle(api, runtime)
    assert advance_fees(api) == []


def test_one_job_per_batch_and_none_without_pay_in_advance_charges(api, runtime):
    bm = metric(api, "storage")
    metric(api, "other")
    setup(api, runtime, NOW, [advance_charge(bm)])
    events = [
        {
            "transaction_id": f"b{i}",
            "external_subscription_id": "sub_1",
            "code": code,
            "properties": {"value": i},
        }
        for i, code in enumerate(["storage", "other", "storage"], start=1)
    ]
    ok(api.post("/events/batch", {"events": events}))
    ok(api.post("/events/batch", {"events": [{**events[1], "transaction_id": "only_other"}]}))
    with runtime.db.session() as session:
        jobs = session.scalars(select(Job.payload).where(Job.kind == PAY_IN_ADVANCE_JOB)).all()
    assert jobs == [{"events": [["sub_1", "b1"], ["sub_1", "b3"]]}]
    settle(api, runtime)
    assert amounts(api) == [100, 300]


def test_a_plan_written_after_events_is_seen_by_the_next_event(api, runtime):
    metric(api, "storage")
    setup(api, runtime, NOW, [])
    send(api, "storage", value=1)  # ingestion caches: nobody charges "storage" in advance
    bm = ok(api.get("/billable_metrics/storage"))["billable_metric"]
    ok(
        api.post(
            "/plans",
            {
                "plan": {
                    "name": "Adv",
                    "code": "adv",
                    "interval": "monthly",
                    "amount_cents": 0,
                    "amount_currency": "EUR",
                    "pay_in_advance": False,
                    "charges": [advance_charge(bm)],
                }
            },
        )
    )
    ok(
        api.post(
            "/subscriptions",
            {"subscription": {"external_customer_id": "cus_1", "plan_code": "adv", "external_id": "sub_2"}},
        )
    )
    send(api, "storage", sub="sub_2", value=3)
    settle(api, runtime)
    assert amounts(api) == [300]
