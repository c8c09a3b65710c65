"""Grace periods, drafts, refresh, finalization and zero-amount invoices (billing.md §4.2)."""

from __future__ import annotations

from datetime import UTC, datetime

from billow.billing.models import Invoice
from tests.billing.helpers import (
    add_endpoint,
    customer,
    drain,
    invoices,
    plan,
    start_clock,
    subscribe,
    tick_at,
    webhooks,
)
from tests.pricing.helpers import ok


def _grace(api, days: int) -> None:
    ok(api.put("/organizations", {"organization": {"billing_configuration": {"invoice_grace_period": days}}}))


def _all_invoices(runtime) -> list[Invoice]:
    with runtime.db.session() as session:
        return list(session.query(Invoice).order_by(Invoice.created_at))


def test_grace_period_drafts_then_the_tick_finalizes(api, runtime):
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    add_endpoint(api)
    _grace(api, 3)
    customer(api, net_payment_term=10)
    plan(api, amount_cents=3100)
    subscribe(api)
    drain(api, runtime)
    tick_at(runtime, datetime(2024, 2, 1, tzinfo=UTC))
    [draft] = invoices(api)
    assert draft["status"] == "draft"
    assert (draft["issuing_date"], draft["payment_due_date"]) == ("2024-02-04", "2024-02-14")
    assert draft["fees_amount_cents"] == 2200
    [drafted] = webhooks(runtime, "invoice.drafted")
    assert drafted["invoice"]["lago_id"] == draft["lago_id"]
    assert {
        "customer",
        "subscriptions",
        "billing_periods",
        "fees",
        "credits",
        "applied_taxes",
        "error_details",
    } <= set(drafted["invoice"])
    assert webhooks(runtime, "invoice.created") == []
    tick_at(runtime, datetime(2024, 2, 3, 23, tzinfo=UTC))
    assert invoices(api)[0]["status"] == "draft"
    tick_at(runtime, datetime(2024, 2, 4, tzinfo=UTC))
    [final] = invoices(api)
    assert final["status"] == "finalized"
    assert (final["issuing_date"], final["payment_due_date"]) == ("2024-02-04", "2024-02-14")
    [created] = webhooks(runtime, "invoice.created")
    assert created["invoice"]["number"] == final["number"]
    assert created["invoice"]["fees"][0]["amount_cents"] == 2200
    assert "applied_taxes" not in created["invoice"]["fees"][0]


def test_refresh_recomputes_a_draft_and_finalize_dates_it_today(api, runtime):
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    _grace(api, 5)
    customer(api)
    plan(api, amount_cents=3100)
    subscribe(api)
    drain(api, runtime)
    tick_at(runtime, datetime(2024, 2, 1, tzinfo=UTC))
    [draft] = invoices(api)
    ok(api.put("/plans/pro", {"plan": {"amount_cents": 6200}}))
    tick_at(runtime, datetime(2024, 2, 2, 10, tzinfo=UTC))
    refreshed = ok(api.put(f"/invoices/{draft['lago_id']}/refresh"))["invoice"]
    assert refreshed["status"] == "draft"
    assert refreshed["fees_amount_cents"] == 4400
    assert refreshed["billing_periods"] == draft["billing_periods"]
    again = ok(api.put(f"/invoices/{draft['lago_id']}/refresh"))["invoice"]
    assert [f["amount_cents"] for f in again["fees"]] == [4400]
    final = ok(api.put(f"/invoices/{draft['lago_id']}/finalize"))["invoice"]
    assert (final["status"], final["issuing_date"], final["fees_amount_cents"]) == (
        "finalized",
        "2024-02-02",
        4400,
    )
    missing = api.put(f"/invoices/{draft['lago_id']}/finalize")
    assert missing.status_code == 404
    assert missing.json()["code"] == "invoice_not_found"
    unchanged = ok(api.put(f"/invoices/{draft['lago_id']}/refresh"))["invoice"]
    assert unchanged["number"] == final["number"]


def test_zero_amount_invoice_is_closed_without_number_or_webhook(api, runtime):
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    add_endpoint(api)
    customer(api, finalize_zero_amount_invoice="skip")
    plan(api, amount_cents=0)
    subscribe(api)
    drain(api, runtime)
    tick_at(runtime, datetime(2024, 2, 1, tzinfo=UTC))
    assert invoices(api) == []
    [closed] = _all_invoices(runtime)
    assert (closed.status, closed.sequential_id, closed.number.endswith("-DRAFT")) == ("closed", None, True)
    assert closed.payment_status == "succeeded"
    assert webhooks(runtime, "invoice.created") == []


def test_zero_amount_rule_inherits_the_billing_entity_flag(api, runtime):
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    ok(api.put("/organizations", {"organization": {"finalize_zero_amount_invoice": False}}))
    customer(api)
    customer(api, "cus_2", finalize_zero_amount_invoice="finalize")
    plan(api, amount_cents=0)
    subscribe(api)
    subscribe(api, customer_id="cus_2", external_id="sub_2")
    drain(api, runtime)
    tick_at(runtime, datetime(2024, 2, 1, tzinfo=UTC))
    [visible] = invoices(api)
    assert visible["customer"]["external_id"] == "cus_2"
    assert (visible["status"], visible["total_amount_cents"], visible["payment_status"]) == (
        "finalized",
        0,
        "succeeded",
    )
    assert sorted(i.status for i in _all_invoices(runtime)) == ["closed", "finalized"]


def test_zero_amount_draft_is_closed_when_finalized(api, runtime):
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    _grace(api, 1)
    customer(api, finalize_zero_amount_invoice="skip")
    plan(api, amount_cents=0)
    subscribe(api)
    drain(api, runtime)
    tick_at(runtime, datetime(2024, 2, 1, tzinfo=UTC))
    [draft] = invoices(api)
    assert draft["status"] == "draft"
    tick_at(runtime, datetime(2024, 2, 2, tzinfo=UTC))
    assert invoices(api) == []
    assert [i.status for i in _all_invoices(runtime)] == ["closed"]
