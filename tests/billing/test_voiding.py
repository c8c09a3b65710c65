"""``POST /invoices/{id}/void`` (billing.md §4.9): voidable invoices only (405 ``not_voidable``),
the number kept, ``invoice.voided`` once, coupons, credit notes and prepaid credits given back,
``generate_credit_note`` through the credit notes package, and the invoice actions that answer
Lago's errors (after the 404 of an unknown or foreign invoice)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from billow.core.hooks import Hooks
from billow.runtime import Runtime
from tests.billing.coupon_helpers import applied_coupons, apply, coupon
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
from tests.credit_notes.helpers import at, create, credit_notes, pay
from tests.pricing.helpers import create_tax, error, ok, validation
from tests.support.openapi import assert_matches_webhook, assert_response_matches_openapi
from tests.wallets.helpers import create_wallet, get_wallet, transactions

TABLES = ("invoices", "credit_notes", "credits", "wallet_transactions", "applied_coupons", "webhooks")


def _counts(runtime: Runtime) -> dict[str, int]:
    with runtime.db.session() as session:
        return {t: int(session.scalar(text(f"SELECT COUNT(*) FROM {t}")) or 0) for t in TABLES}


def _bill(api: Any, runtime: Runtime, *, before: Any = None) -> dict[str, Any]:
    """January of a 1000 EUR arrears plan, VAT 20 %, billed on 2024-02-01: total 1200 (before
    coupons / wallets set up by ``before``)."""
    start_clock(runtime, at("2024-01-01T00:00:00Z"))
    add_endpoint(api)
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    customer(api)
    plan(api, amount_cents=1000)
    subscribe(api)
    if before is not None:
        before()
    tick_at(runtime, at("2024-02-01T00:10:00Z"))
    [invoice] = invoices(api)
    return invoice


def _void(api: Any, invoice_id: str, body: Any = None) -> Any:
    return api.post(f"/invoices/{invoice_id}/void", body)


def test_void_a_pending_invoice_keeps_its_number_and_sends_one_webhook(api, runtime, other_api):
    invoice = _bill(api, runtime)
    assert (invoice["status"], invoice["payment_status"], invoice["total_amount_cents"]) == (
        "finalized",
        "pending",
        1200,
    )
    assert other_api.post(f"/invoices/{invoice['lago_id']}/void").json() == error(404, "invoice_not_found")
    response = _void(api, invoice["lago_id"])
    assert_response_matches_openapi(response, "/invoices/{lago_id}/void")
    voided = ok(response)["invoice"]
    assert voided["status"] == "voided"
    assert voided["number"] == invoice["number"]
    assert voided["voided_at"] == "2024-02-01T00:10:00Z"
    assert voided["total_amount_cents"] == 1200
    assert voided["total_due_amount_cents"] == 0
    assert voided["payment_overdue"] is False
    sent = webhooks(runtime, "invoice.voided")
    assert len(sent) == 1
    assert sent[0]["invoice"]["status"] == "voided"
    assert_matches_webhook("invoice.voided", sent[0])
    before = _counts(runtime)
    assert _void(api, invoice["lago_id"]).json() == error(405, "not_voidable")
    assert _void(api, invoice["lago_id"], {"generate_credit_note": True}).json() == error(405, "not_voidable")
    assert _counts(runtime) == before
    assert ok(api.get(f"/invoices/{invoice['lago_id']}"))["invoice"]["status"] == "voided"


def test_paid_and_draft_invoices_are_not_voidable(api, runtime):
    invoice = _bill(api, runtime)
    ok(api.put(f"/invoices/{invoice['lago_id']}", {"invoice": {"payment_status": "succeeded"}}))
    before = _counts(runtime)
    assert _void(api, invoice["lago_id"]).json() == error(405, "not_voidable")
    assert _void(api, invoice["lago_id"], {"credit_amount": 100}).json() == error(405, "not_voidable")
    assert _counts(runtime) == before
    assert api.post("/invoices/not-a-uuid/void").json() == error(404, "invoice_not_found")

    customer(api, "cus_2", billing_configuration={"invoice_grace_period": 3})
    subscribe(api, external_id="sub_2", customer_id="cus_2")
    tick_at(runtime, at("2024-03-01T00:10:00Z"))
    [draft] = [i for i in invoices(api) if i["status"] == "draft"]
    assert _void(api, draft["lago_id"], {"generate_credit_note": False}).json() == error(405, "not_voidable")


def test_explicit_intent_voids_a_paid_invoice_without_credit_notes(api, runtime):
    invoice = _bill(api, runtime)
    ok(api.put(f"/invoices/{invoice['lago_id']}", {"invoice": {"payment_status": "succeeded"}}))
    voided = ok(_void(api, invoice["lago_id"], {"generate_credit_note": False}))["invoice"]
    assert (voided["status"], voided["payment_status"]) == ("voided", "succeeded")
    assert credit_notes(api) == []
    assert len(webhooks(runtime, "invoice.voided")) == 1


def test_generate_credit_note_refunds_credits_and_voids_the_rest(api, runtime):
    invoice = _bill(api, runtime)
    pay(runtime, invoice["lago_id"], 1200)
    before = _counts(runtime)
    too_much = _void(
        api, invoice["lago_id"], {"generate_credit_note": True, "credit_amount": 1000, "refund_amount": 300}
    )
    assert too_much.json() == validation({"credit_refund_amount": ["total_amount_exceeds_invoice_amount"]})
    assert (
        _void(api, invoice["lago_id"], {"generate_credit_note": True, "refund_amount": 1201}).status_code
        == 422
    )
    assert _counts(runtime) == before

    voided = ok(
        _void(
            api,
            invoice["lago_id"],
            {"generate_credit_note": True, "credit_amount": 600, "refund_amount": 240},
        )
    )
    assert voided["invoice"]["status"] == "voided"
    notes = credit_notes(api)
    assert len(notes) == 2
    requested, rest = notes
    assert (
        requested["credit_amount_cents"],
        requested["refund_amount_cents"],
        requested["total_amount_cents"],
    ) == (
        600,
        240,
        840,
    )
    assert requested["credit_status"] == "available"
    assert (rest["total_amount_cents"], rest["credit_status"], rest["balance_amount_cents"]) == (
        360,
        "voided",
        0,
    )
    assert len(webhooks(runtime, "invoice.voided")) == 1


def test_void_gives_back_the_coupon_it_consumed(api, runtime):
    def setup() -> None:
        coupon(api, "once", amount_cents=300)
        apply(api, "once")

    invoice = _bill(api, runtime, before=setup)
    assert invoice["coupons_amount_cents"] == 300
    assert applied_coupons(api)["once"]["status"] == "terminated"  # used up
    ok(_void(api, invoice["lago_id"]))
    restored = applied_coupons(api)["once"]
    assert restored["status"] == "active"


def test_void_gives_back_prepaid_credits_as_granted_credits(api, runtime):
    wallet: dict[str, Any] = {}

    def setup() -> None:
        wallet.update(create_wallet(api, granted_credits="5.00"))

    invoice = _bill(api, runtime, before=setup)
    assert invoice["prepaid_credit_amount_cents"] == 500
    assert invoice["total_amount_cents"] == 700
    assert get_wallet(api, wallet["lago_id"])["balance_cents"] == 0
    ok(_void(api, invoice["lago_id"]))
    after = get_wallet(api, wallet["lago_id"])
    assert after["balance_cents"] == 500
    assert after["consumed_credits"] == "0.0"
    granted = [t for t in transactions(api, wallet["lago_id"]) if t["transaction_type"] == "inbound"]
    assert [(t["transaction_status"], t["status"], t["amount"]) for t in granted] == [
        ("granted", "settled", "5.0"),
        ("granted", "settled", "5.0"),
    ]
    # Newest first: the re-credit, then the original grant.
    assert [t["lago_voided_invoice_id"] for t in granted] == [invoice["lago_id"], None]
    # The webhook of the re-credit names the voided invoice too (serialized when emitted).
    sent = webhooks(runtime, "wallet_transaction.created")
    # The grant, the invoice's consumption, the re-credit.
    assert [w["wallet_transaction"]["lago_voided_invoice_id"] for w in sent] == [
        None,
        None,
        invoice["lago_id"],
    ]


def test_void_gives_back_the_credit_note_it_consumed(api, runtime):
    invoice = _bill(api, runtime)
    fee_id = invoice["fees"][0]["lago_id"]
    note = ok(create(api, invoice["lago_id"], [(fee_id, 250)], credit_amount_cents=300))["credit_note"]
    # February's invoice consumes the note's 300.
    tick_at(runtime, at("2024-03-01T00:10:00Z"))
    february = next(i for i in invoices(api) if i["lago_id"] != invoice["lago_id"])
    assert february["credit_notes_amount_cents"] == 300
    consumed = ok(api.get(f"/credit_notes/{note['lago_id']}"))["credit_note"]
    assert (consumed["balance_amount_cents"], consumed["credit_status"]) == (0, "consumed")
    # A note with credit on it blocks voiding January without an explicit intent.
    assert _void(api, invoice["lago_id"]).json() == error(405, "not_voidable")
    ok(_void(api, february["lago_id"]))
    back = ok(api.get(f"/credit_notes/{note['lago_id']}"))["credit_note"]
    assert (back["balance_amount_cents"], back["credit_status"]) == (300, "available")


def test_unavailable_invoice_actions_answer_lago_errors_after_the_404(api, runtime, other_api):
    invoice = _bill(api, runtime)
    before = _counts(runtime)
    lago_id = invoice["lago_id"]
    expected = {
        "download": error(405, "pdf_not_available"),
        "retry": error(405, "invalid_status"),
        "retry_payment": error(405, "feature_unavailable"),
        "lose_dispute": error(405, "feature_unavailable"),
        "payment_url": validation({"base": ["no_linked_payment_provider"]}),
    }
    for action, body in expected.items():
        assert other_api.post(f"/invoices/{lago_id}/{action}").json() == error(404, "invoice_not_found")
        assert api.post(f"/invoices/00000000-0000-0000-0000-000000000000/{action}").status_code == 404
        response = api.post(f"/invoices/{lago_id}/{action}")
        assert response.json() == body, action
    assert _counts(runtime) == before


def test_generate_credit_note_needs_the_credit_notes_package(api, runtime):
    invoice = _bill(api, runtime)
    runtime.hooks = Hooks()  # billing alone: no package answers the void hooks
    before = _counts(runtime)
    response = _void(api, invoice["lago_id"], {"generate_credit_note": True, "credit_amount": 100})
    assert response.json() == error(405, "feature_unavailable")
    assert _counts(runtime) == before
    assert ok(_void(api, invoice["lago_id"]))["invoice"]["status"] == "voided"
