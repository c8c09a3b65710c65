"""Overdue payments (billing.md §4.8): the hourly tick flags finalized unpaid invoices past their
``payment_due_date`` once (``invoice.payment_overdue`` once, however often it runs), never a paid
or voided one; a succeeded payment clears the flag; ``GET /analytics/overdue_balance``."""

from __future__ import annotations

from typing import Any

from billow.runtime import Runtime
from tests.billing.helpers import (
    add_endpoint,
    customer,
    invoices,
    plan,
    start_clock,
    subscribe,
    tick_at,
    webhooks,
)
from tests.credit_notes.helpers import at, pay
from tests.pricing.helpers import create_tax, ok
from tests.support.openapi import assert_matches_webhook, assert_response_matches_openapi


def _bill(api: Any, runtime: Runtime) -> dict[str, dict[str, Any]]:
    """Three customers billed 1200 EUR on 2024-02-01: ``cus_1`` due in 3 days (its own term),
    ``cus_2`` due in 10 (the organization's), ``cus_3`` in USD due in 3."""
    start_clock(runtime, at("2024-01-01T00:00:00Z"))
    add_endpoint(api)
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    ok(api.put("/organizations", {"organization": {"net_payment_term": 10}}))
    customer(api, "cus_1", net_payment_term=3)
    customer(api, "cus_2")
    customer(api, "cus_3", net_payment_term=3, currency="USD")
    plan(api, "eur", amount_cents=1000)
    plan(api, "usd", amount_cents=1000, amount_currency="USD")
    subscribe(api, "eur", external_id="sub_1", customer_id="cus_1")
    subscribe(api, "eur", external_id="sub_2", customer_id="cus_2")
    subscribe(api, "usd", external_id="sub_3", customer_id="cus_3")
    tick_at(runtime, at("2024-02-01T00:10:00Z"))
    return {i["customer"]["external_id"]: i for i in invoices(api)}


def _get(api: Any, invoice: dict[str, Any]) -> dict[str, Any]:
    return ok(api.get(f"/invoices/{invoice['lago_id']}"))["invoice"]


def test_payment_due_dates_follow_the_net_payment_term(api, runtime):
    billed = _bill(api, runtime)
    assert {c: (i["payment_due_date"], i["net_payment_term"]) for c, i in billed.items()} == {
        "cus_1": ("2024-02-04", 3),
        "cus_2": ("2024-02-11", 10),
        "cus_3": ("2024-02-04", 3),
    }


def test_the_tick_flags_an_overdue_invoice_once(api, runtime):
    billed = _bill(api, runtime)
    # The due date's midnight is not yet past it.
    tick_at(runtime, at("2024-02-04T00:00:00Z"))
    assert webhooks(runtime, "invoice.payment_overdue") == []
    assert _get(api, billed["cus_1"])["payment_overdue"] is False
    tick_at(runtime, at("2024-02-04T01:00:00Z"))
    tick_at(runtime, at("2024-02-04T01:00:00Z"))
    tick_at(runtime, at("2024-02-04T02:00:00Z"))
    sent = webhooks(runtime, "invoice.payment_overdue")
    assert sorted(w["invoice"]["customer"]["external_id"] for w in sent) == ["cus_1", "cus_3"]
    assert all(w["invoice"]["payment_overdue"] is True for w in sent)
    assert_matches_webhook("invoice.payment_overdue", sent[0])
    assert _get(api, billed["cus_1"])["payment_overdue"] is True
    assert _get(api, billed["cus_2"])["payment_overdue"] is False
    # A succeeded payment clears it, for good.
    ok(api.put(f"/invoices/{billed['cus_1']['lago_id']}", {"invoice": {"payment_status": "succeeded"}}))
    assert _get(api, billed["cus_1"])["payment_overdue"] is False
    tick_at(runtime, at("2024-02-04T03:00:00Z"))
    assert _get(api, billed["cus_1"])["payment_overdue"] is False
    assert len(webhooks(runtime, "invoice.payment_overdue")) == 2


def test_paid_failed_and_voided_invoices(api, runtime):
    billed = _bill(api, runtime)
    ok(api.put(f"/invoices/{billed['cus_1']['lago_id']}", {"invoice": {"payment_status": "succeeded"}}))
    ok(api.put(f"/invoices/{billed['cus_3']['lago_id']}", {"invoice": {"payment_status": "failed"}}))
    ok(api.post(f"/invoices/{billed['cus_2']['lago_id']}/void"))
    tick_at(runtime, at("2024-02-20T05:00:00Z"))
    sent = webhooks(runtime, "invoice.payment_overdue")
    assert [w["invoice"]["customer"]["external_id"] for w in sent] == ["cus_3"]
    assert _get(api, billed["cus_1"])["payment_overdue"] is False
    assert _get(api, billed["cus_2"])["payment_overdue"] is False
    # Voiding an overdue invoice clears the flag.
    voided = ok(api.post(f"/invoices/{billed['cus_3']['lago_id']}/void"))["invoice"]
    assert voided["payment_overdue"] is False


def _balances(api: Any, **params: Any) -> list[dict[str, Any]]:
    response = api.get("/analytics/overdue_balance", **params)
    assert_response_matches_openapi(response, "/analytics/overdue_balance")
    items: list[dict[str, Any]] = ok(response)["overdue_balances"]
    return items


def test_overdue_balance_by_month_and_currency(api, runtime, other_api):
    billed = _bill(api, runtime)
    assert _balances(api) == []
    tick_at(runtime, at("2024-02-12T01:00:00Z"))
    pay(runtime, billed["cus_2"]["lago_id"], 200, succeeded=False)
    month = "2024-02-01T00:00:00.000Z"
    assert _balances(api) == [
        {
            "month": month,
            "amount_cents": 1200 + 1000,
            "currency": "EUR",
            "lago_invoice_ids": sorted([billed["cus_1"]["lago_id"], billed["cus_2"]["lago_id"]]),
        },
        {
            "month": month,
            "amount_cents": 1200,
            "currency": "USD",
            "lago_invoice_ids": [billed["cus_3"]["lago_id"]],
        },
    ]
    assert [b["currency"] for b in _balances(api, currency="usd")] == ["USD"]
    assert [(b["currency"], b["amount_cents"]) for b in _balances(api, external_customer_id="cus_1")] == [
        ("EUR", 1200)
    ]
    assert _balances(api, external_customer_id="nobody") == []
    assert len(_balances(api, months=1)) == 2  # February is the current month
    tick_at(runtime, at("2024-04-02T01:00:00Z"))
    assert _balances(api, months=2) == []  # March and April only
    assert len(_balances(api, months=3)) == 2
    assert _balances(other_api) == []
