"""billing.md §8 credit notes of plan changes of pay-in-advance plans (§6.4.3), through the public
API and the test clock: an upgrade credits the unused days, the upgrade day included (Ex4, Ex6),
and the new invoice consumes the note; a downgrade applies at the end of the paid period and
issues none (Ex5, as Lago's ``terminate_and_start_next``), unless the subscription is
terminated before it applies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.billing.helpers import (
    clock,
    customer,
    drain,
    fee_of,
    invoices,
    plan,
    start_clock,
    subscribe,
    terminate,
    tick_at,
)
from tests.billing.test_charge_fees import event, metric
from tests.credit_notes.helpers import amounts, at, credit_notes, split
from tests.pricing.helpers import ok

pytestmark = pytest.mark.slow


def test_ex6_upgrade_credits_unused_days_and_the_new_invoice_consumes_them(api, runtime):
    start_clock(runtime, datetime(2024, 1, 1, tzinfo=UTC))
    seats = metric(api, "seats", "sum_agg", field_name="seats", recurring=True)
    customer(api)
    for code, amount in (("a", 2900), ("b", 29000)):
        charge = {
            "billable_metric_id": seats["lago_id"],
            "charge_model": "standard",
            "prorated": True,
            "properties": {"amount": "1"},
        }
        plan(api, code, amount_cents=amount, pay_in_advance=True, charges=[charge])
    subscribe(api, "a")
    drain(api, runtime)
    event(api, "seats", datetime(2024, 1, 2, tzinfo=UTC), seats=5)
    tick_at(runtime, datetime(2024, 2, 1, tzinfo=UTC))
    february = invoices(api)[-1]
    tick_at(runtime, datetime(2024, 2, 12, 6, tzinfo=UTC))
    subscribe(api, "b")
    tick_at(runtime, datetime(2024, 2, 12, 7, tzinfo=UTC))
    [note] = credit_notes(api)
    # 18 unused days of 29, the upgrade day included: 2900 × 18/29.
    assert amounts(note) == (1800, 0, 1800)
    assert (note["reason"], note["lago_invoice_id"]) == ("order_cancellation", february["lago_id"])
    assert note["items"][0]["fee"]["lago_id"] == fee_of(february, "subscription")["lago_id"]
    upgrade = invoices(api)[-1]
    assert (
        upgrade["fees_amount_cents"],
        upgrade["credit_notes_amount_cents"],
        upgrade["total_amount_cents"],
    ) == (
        18190,
        1800,
        16390,
    )
    assert split(credit_notes(api)[0]) == (1800, 0, 0, 0)
    assert credit_notes(api)[0]["credit_status"] == "consumed"


def test_ex4_upgrade_monthly_to_yearly_credits_one_day(api, runtime):
    start_clock(runtime, at("2023-06-29T12:12:00Z"))
    customer(api)
    plan(api, "monthly", amount_cents=1000, pay_in_advance=True)
    plan(api, "yearly", interval="yearly", amount_cents=12000, pay_in_advance=True)
    subscribe(api, "monthly", billing_time="anniversary")
    clock(api, "2023-09-28T05:00:00Z")
    subscribe(api, "yearly", billing_time="anniversary")
    clock(api, "2023-09-28T05:00:05Z")
    [note] = credit_notes(api)
    assert amounts(note) == (32, 0, 32)
    assert note["items"][0]["precise_amount_cents"] == "32.25806"
    upgrade = invoices(api)[-1]
    assert (
        upgrade["fees_amount_cents"],
        upgrade["credit_notes_amount_cents"],
        upgrade["total_amount_cents"],
    ) == (
        9016,
        32,
        8984,
    )


def test_ex5_downgrade_issues_no_credit_note(api, runtime):
    start_clock(runtime, at("2023-07-19T12:12:00Z"))
    customer(api)
    plan(api, "monthly", amount_cents=12900, pay_in_advance=True)
    plan(api, "yearly", interval="yearly", amount_cents=118800, pay_in_advance=True)
    subscribe(api, "monthly", billing_time="anniversary")
    clock(api, "2023-11-09T10:00:00Z")
    subscribe(api, "yearly", billing_time="anniversary")
    assert credit_notes(api) == []
    clock(api, "2023-11-19T02:00:00Z")
    assert credit_notes(api) == []
    downgrade = invoices(api)[-1]
    assert (
        downgrade["fees_amount_cents"],
        downgrade["credit_notes_amount_cents"],
        downgrade["total_amount_cents"],
    ) == (
        78875,
        0,
        78875,
    )


def test_downgrade_pending_then_termination_credits_the_old_plan(api, runtime):
    """The downgrade waits for the end of the paid period; terminating before then credits the
    old plan's unused days and cancels the pending subscription."""
    start_clock(runtime, at("2023-07-19T12:12:00Z"))
    customer(api)
    plan(api, "monthly", amount_cents=12900, pay_in_advance=True)
    plan(api, "yearly", interval="yearly", amount_cents=118800, pay_in_advance=True)
    subscribe(api, "monthly", billing_time="anniversary")
    clock(api, "2023-11-09T10:00:00Z")
    subscribe(api, "yearly", billing_time="anniversary")
    last_paid = invoices(api)[-1]
    assert last_paid["fees_amount_cents"] == 12900
    terminate(api)
    clock(api, "2023-11-09T10:00:05Z")
    [note] = credit_notes(api)
    # Period 10-19 → 11-18 (31 days); terminated 11-09: 9 unused days (11-10 … 11-18).
    assert amounts(note) == (3745, 0, 3745)
    assert note["lago_invoice_id"] == last_paid["lago_id"]
    subs = ok(api.get("/subscriptions", external_customer_id="cus_1", **{"status[]": "canceled"}))
    assert [s["plan_code"] for s in subs["subscriptions"]] == ["yearly"]
