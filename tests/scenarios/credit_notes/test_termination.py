"""billing.md §8 Ex2 — the credit note of a same-day termination of a pay-in-advance plan
(§6.4.3), through the public API and the test clock, with its anniversary and timezone variants.
Ex8 and Ex15 are in ``test_termination_options.py``, Ex4/Ex5/Ex6 in ``test_plan_changes.py``,
Ex14 in ``test_rounding.py``; Ex9 and Ex10 in ``tests/scenarios/billing`` and ``tests/billing``."""

from __future__ import annotations

import pytest

from tests.billing.helpers import (
    add_endpoint,
    clock,
    customer,
    fee_of,
    invoices,
    plan,
    start_clock,
    subscribe,
    terminate,
    webhooks,
)
from tests.credit_notes.helpers import amounts, at, credit_notes, split
from tests.pricing.helpers import create_tax

pytestmark = pytest.mark.slow


def _vat(api, rate: str = "20.0") -> None:
    create_tax(api, "vat", rate, applied_to_organization=True)


# --- Ex2: advance start + same-day termination ---------------------------------------------


def test_ex2_same_day_termination_credits_unused_days(api, runtime):
    start_clock(runtime, at("2023-02-08T10:00:00Z"))
    _vat(api)
    customer(api)
    add_endpoint(api)
    plan(api, amount_cents=5000, pay_in_advance=True)
    subscribe(api)
    clock(api, "2023-02-08T10:00:01Z")
    [start] = invoices(api)
    assert start["total_amount_cents"] == 4500
    terminate(api)
    clock(api, "2023-02-08T10:00:02Z")
    [note] = credit_notes(api)
    assert amounts(note) == (3571, 714, 4285)
    # Nothing to bill at termination (no usage charge): the whole credit stays available.
    assert split(note) == (4285, 0, 0, 4285)
    assert (note["reason"], note["credit_status"], note["lago_invoice_id"]) == (
        "order_cancellation",
        "available",
        start["lago_id"],
    )
    assert note["number"] == f"{start['number']}-CN001"
    assert note["items"][0]["precise_amount_cents"] == "3571.42857"
    assert note["items"][0]["fee"]["lago_id"] == fee_of(start, "subscription")["lago_id"]
    assert note["applied_taxes"][0]["base_amount_cents"] == 3571
    termination = invoices(api)[-1]
    assert termination["billing_periods"][0]["invoicing_reason"] == "subscription_terminating"
    assert termination["total_amount_cents"] == 0
    [created] = webhooks(runtime, "credit_note.created")
    assert created["credit_note"]["lago_id"] == note["lago_id"]
    assert {"customer", "items", "applied_taxes"} <= set(created["credit_note"])


def test_ex2_anniversary_variant(api, runtime):
    start_clock(runtime, at("2023-02-08T10:00:00Z"))
    _vat(api)
    customer(api)
    plan(api, amount_cents=5000, pay_in_advance=True)
    subscribe(api, billing_time="anniversary")
    clock(api, "2023-02-08T10:00:01Z")
    assert invoices(api)[0]["total_amount_cents"] == 6000
    terminate(api)
    clock(api, "2023-02-08T10:00:02Z")
    [note] = credit_notes(api)
    assert amounts(note) == (4821, 964, 5785)


def test_ex2_los_angeles_customer(api, runtime):
    start_clock(runtime, at("2023-02-08T05:00:00Z"))
    _vat(api)
    customer(api, timezone="America/Los_Angeles")
    plan(api, amount_cents=5000, pay_in_advance=True)
    subscribe(api)
    clock(api, "2023-02-08T05:00:01Z")
    assert invoices(api)[0]["total_amount_cents"] == 4715
    terminate(api)
    clock(api, "2023-02-08T05:00:02Z")
    [note] = credit_notes(api)
    assert note["total_amount_cents"] == 4500
    assert note["issuing_date"] == "2023-02-07"
