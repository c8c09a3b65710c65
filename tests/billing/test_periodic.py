"""The billing-day tick: grouping into invoices, streaming in chunks, what is never billed."""

from __future__ import annotations

from datetime import UTC, datetime

from billow.billing import periodic
from tests.billing.helpers import customer, drain, invoices, plan, start_clock, subscribe, tick_at

BILLING_DAY = datetime(2024, 2, 1, tzinfo=UTC)


def _periods(invoice: dict) -> list[str]:
    return sorted(p["external_subscription_id"] for p in invoice["billing_periods"])


def test_one_invoice_per_customer_unless_opted_out_or_another_purchase_order(api, runtime):
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    customer(api)
    customer(api, "cus_2")
    plan(api, amount_cents=3100)
    subscribe(api, external_id="a")
    subscribe(api, external_id="b")
    subscribe(api, external_id="alone", consolidate_invoice=False)
    subscribe(api, external_id="po", purchase_order_number="PO-1")
    subscribe(api, external_id="c", customer_id="cus_2")
    drain(api, runtime)
    tick_at(runtime, BILLING_DAY)
    grouped = sorted(_periods(i) for i in invoices(api))
    assert grouped == [["a", "b"], ["alone"], ["c"], ["po"]]


def test_the_tick_streams_subscriptions_in_chunks(api, runtime, monkeypatch):
    monkeypatch.setattr(periodic, "CHUNK", 2)
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    plan(api, amount_cents=3100)
    for c in range(3):
        customer(api, f"cus_{c}")
        for s in range(3):
            subscribe(api, external_id=f"s{c}{s}", customer_id=f"cus_{c}")
    drain(api, runtime)
    tick_at(runtime, BILLING_DAY)
    found = invoices(api)
    assert sorted(_periods(i) for i in found) == [
        ["s00", "s01", "s02"],
        ["s10", "s11", "s12"],
        ["s20", "s21", "s22"],
    ]


def test_only_the_first_tick_of_a_local_day_looks_at_a_timezone(api, runtime):
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    customer(api, timezone="Asia/Kolkata")
    plan(api, amount_cents=3100)
    subscribe(api)
    drain(api, runtime)
    # Local midnight in India (+05:30) falls at 18:30 UTC: the 19:00 UTC tick is its first.
    assert periodic.zones_starting_a_day(["Asia/Kolkata", "UTC"], datetime(2024, 1, 31, 19, tzinfo=UTC)) == [
        "Asia/Kolkata"
    ]
    tick_at(runtime, datetime(2024, 1, 31, 18, tzinfo=UTC))
    assert invoices(api) == []
    tick_at(runtime, datetime(2024, 1, 31, 19, tzinfo=UTC))
    [invoice] = invoices(api)
    assert invoice["issuing_date"] == "2024-02-01"


def test_a_terminated_subscription_is_not_billed_periodically(api, runtime):
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    customer(api)
    plan(api, amount_cents=3100)
    subscribe(api, ending_at="2024-02-01T12:00:00Z")
    drain(api, runtime)
    tick_at(runtime, BILLING_DAY)
    [invoice] = invoices(api)
    # The ending_at day is not a periodic billing day: the termination invoice bills January.
    assert invoice["billing_periods"][0]["invoicing_reason"] == "subscription_terminating"
    assert invoice["fees_amount_cents"] == 2200
