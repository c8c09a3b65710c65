"""billing.md §8 Ex8 and Ex15 — termination of pay-in-advance plans with their automatic credit
note (§6.4.3): consumed by the termination invoice, and the ``credit``/``refund``/``skip``
options and a same-day termination, exact to the cent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.billing.helpers import (
    add_endpoint,
    clock,
    customer,
    drain,
    event,
    fee_of,
    invoices,
    metric,
    plan,
    start_clock,
    subscribe,
    terminate,
    tick_at,
    webhooks,
)
from tests.credit_notes.helpers import amounts, at, credit_notes, pay, split, totals
from tests.pricing.helpers import create_tax

pytestmark = pytest.mark.slow


def test_ex8_termination_invoice_consumes_the_credit_note(api, runtime):
    start_clock(runtime, datetime(2024, 1, 1, tzinfo=UTC))
    seats = metric(api, "seats", "sum_agg", field_name="seats", recurring=True)
    customer(api)
    add_endpoint(api)
    charge = {
        "billable_metric_id": seats["lago_id"],
        "charge_model": "standard",
        "prorated": True,
        "properties": {"amount": "1"},
    }
    plan(api, amount_cents=2900, pay_in_advance=True, charges=[charge])
    subscribe(api)
    drain(api, runtime)
    event(api, "seats", datetime(2024, 1, 2, tzinfo=UTC), seats=5)
    tick_at(runtime, datetime(2024, 2, 1, tzinfo=UTC))
    tick_at(runtime, datetime(2024, 2, 12, 6, tzinfo=UTC))
    terminate(api)
    drain(api, runtime)
    [note] = credit_notes(api)
    assert amounts(note) == (1700, 0, 1700)
    termination = invoices(api)[-1]
    assert totals(termination) == (207, 0, 207, 0)
    [note] = credit_notes(api)
    assert split(note) == (1700, 0, 0, 1493)
    assert note["credit_status"] == "available"
    assert len(webhooks(runtime, "credit_note.created")) == 1


def _ex15(api: Any, runtime: Any, when: str = "2025-02-21T10:00:00Z") -> dict[str, Any]:
    """Plan 10000 in advance, VAT 20%, usage 1.00/unit; subscribed 2025-02-08 (7500 + 1500)."""
    start_clock(runtime, at("2025-02-08T10:00:00Z"))
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    customer(api)
    units = metric(api, "units", "sum_agg", field_name="units")
    charge = {
        "billable_metric_id": units["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": "1"},
    }
    plan(api, amount_cents=10000, pay_in_advance=True, charges=[charge])
    subscribe(api)
    clock(api, "2025-02-08T10:00:01Z")
    [start] = invoices(api)
    assert start["total_amount_cents"] == 9000
    event(api, "units", at("2025-02-08T11:00:00Z"), units=50)
    tick_at(runtime, at(when))
    return start


def test_ex15_credit(api, runtime):
    _ex15(api, runtime)
    terminate(api, on_termination_credit_note="credit")
    drain(api, runtime)
    [note] = credit_notes(api)
    assert amounts(note) == (2500, 500, 3000)
    assert totals(invoices(api)[-1]) == (5000, 1000, 3000, 3000)
    assert split(credit_notes(api)[0]) == (3000, 0, 0, 0)


def test_ex15_refund_after_a_partial_payment(api, runtime):
    start = _ex15(api, runtime)
    pay(runtime, start["lago_id"], 7500, succeeded=False)
    terminate(api, on_termination_credit_note="refund")
    drain(api, runtime)
    [note] = credit_notes(api)
    assert amounts(note) == (2500, 500, 3000)
    assert (note["credit_amount_cents"], note["refund_amount_cents"], note["refund_status"]) == (
        1500,
        1500,
        "pending",
    )
    assert totals(invoices(api)[-1]) == (5000, 1000, 1500, 4500)


def test_ex15_skip(api, runtime):
    _ex15(api, runtime)
    terminate(api, on_termination_credit_note="skip")
    drain(api, runtime)
    assert credit_notes(api) == []
    assert totals(invoices(api)[-1]) == (5000, 1000, 0, 6000)


def test_ex15_skip_the_termination_invoice(api, runtime):
    _ex15(api, runtime)
    terminate(api, on_termination_invoice="skip")
    drain(api, runtime)
    [note] = credit_notes(api)
    assert amounts(note) == (2500, 500, 3000)
    assert len(invoices(api)) == 1


def test_ex15_same_day_termination(api, runtime):
    start = _ex15(api, runtime, when="2025-02-08T12:00:00Z")
    terminate(api)
    drain(api, runtime)
    [note] = credit_notes(api)
    assert amounts(note) == (7143, 1429, 8572)
    assert note["lago_invoice_id"] == start["lago_id"]
    assert fee_of(invoices(api)[-1], "charge")["amount_cents"] == 5000
    assert totals(invoices(api)[-1]) == (5000, 1000, 6000, 0)
    assert split(credit_notes(api)[0]) == (8572, 0, 0, 2572)
