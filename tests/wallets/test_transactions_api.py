"""``/wallet_transactions``: grants, paid top-ups and their credit invoices, settlement by
payment, voids, Lago's validation codes, listing, consumptions/fundings, payment URLs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from billow.billing.models import Invoice
from billow.billing.service import InvoiceUpdateInput, update_invoice
from tests.billing.helpers import add_endpoint, customer
from tests.pricing.helpers import ok
from tests.wallets.helpers import (
    assert_ledger,
    create_wallet,
    get_wallet,
    top_up,
    transactions,
    wallet_webhooks,
    webhook_counts,
)


def _errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 422, response.text
    details: dict[str, list[str]] = response.json()["error_details"]
    return details


def _post(api: Any, **fields: Any) -> Any:
    return api.post("/wallet_transactions", {"wallet_transaction": fields})


def test_grant_paid_and_void_return_a_list(api, runtime):
    add_endpoint(api)
    customer(api)
    wallet = create_wallet(api, name="Main")
    wid = wallet["lago_id"]
    paid, granted = top_up(
        api, wid, paid_credits="20", granted_credits="5", name="Top-up", metadata=[{"key": "k", "value": "v"}]
    )
    assert (paid["transaction_status"], paid["status"], paid["transaction_type"]) == (
        "purchased",
        "pending",
        "inbound",
    )
    assert (granted["transaction_status"], granted["status"]) == ("granted", "settled")
    assert (paid["amount"], paid["credit_amount"], paid["name"]) == ("20.0", "20.0", "Top-up")
    assert paid["metadata"] == [{"key": "k", "value": "v"}]
    assert granted["remaining_amount_cents"] == 500 and paid["remaining_amount_cents"] is None
    assert (get_wallet(api, wid)["balance_cents"], get_wallet(api, wid)["credits_balance"]) == (500, "5.0")
    [voided] = top_up(api, wid, voided_credits="2")
    assert (voided["transaction_status"], voided["transaction_type"], voided["status"]) == (
        "voided",
        "outbound",
        "settled",
    )
    after = get_wallet(api, wid)
    assert (after["balance_cents"], after["credits_balance"], after["consumed_credits"]) == (
        300,
        "3.0",
        "2.0",
    )
    assert top_up(api, wid, paid_credits="0") == []
    counts = webhook_counts(
        runtime, "wallet.updated", "wallet_transaction.created", "invoice.paid_credit_added"
    )
    assert counts == {"wallet.updated": 2, "wallet_transaction.created": 3, "invoice.paid_credit_added": 1}
    fundings = ok(api.get(f"/wallet_transactions/{voided['lago_id']}/fundings"))
    [funding] = fundings["wallet_transaction_fundings"]
    assert (funding["amount_cents"], funding["credit_amount"]) == (200, "2.0")
    assert funding["wallet_transaction"]["lago_id"] == granted["lago_id"]
    [consumption] = ok(api.get(f"/wallet_transactions/{granted['lago_id']}/consumptions"))[
        "wallet_transaction_consumptions"
    ]
    assert consumption["wallet_transaction"]["lago_id"] == voided["lago_id"]
    assert _errors(api.get(f"/wallet_transactions/{granted['lago_id']}/fundings")) == {
        "transaction_type": ["invalid_transaction_type"]
    }
    assert_ledger(runtime)


def test_credit_invoice_and_settlement_by_payment(api, runtime):
    add_endpoint(api)
    customer(api, billing_configuration={}, net_payment_term=7)
    wallet = create_wallet(api, name="Main", rate_amount="0.5")
    wid = wallet["lago_id"]
    [paid] = top_up(api, wid, paid_credits="30")
    invoice = ok(api.get(f"/invoices/{paid['lago_invoice_id']}"))["invoice"]
    assert (invoice["invoice_type"], invoice["status"], invoice["payment_status"]) == (
        "credit",
        "finalized",
        "pending",
    )
    assert invoice["number"].endswith("-001")
    assert (invoice["fees_amount_cents"], invoice["taxes_amount_cents"], invoice["total_amount_cents"]) == (
        1500,
        0,
        1500,
    )
    assert (invoice["issuing_date"], invoice["payment_due_date"]) == ("2024-01-01", "2024-01-08")
    [fee] = invoice["fees"]
    assert fee["item"] == {
        "type": "credit",
        "code": "credit",
        "name": "credit",
        "description": "credit",
        "invoice_display_name": "credit",
        "filters": None,
        "filter_invoice_display_name": None,
        "lago_item_id": paid["lago_id"],
        "item_type": "WalletTransaction",
        "grouped_by": {},
    }
    assert (fee["units"], fee["amount_cents"], fee["taxes_amount_cents"]) == ("30.0", 1500, 0)
    assert get_wallet(api, wid)["balance_cents"] == 0
    ok(api.put(f"/invoices/{invoice['lago_id']}", {"invoice": {"payment_status": "succeeded"}}))
    settled = ok(api.get(f"/wallet_transactions/{paid['lago_id']}"))["wallet_transaction"]
    assert (settled["status"], settled["settled_at"], settled["remaining_amount_cents"]) == (
        "settled",
        "2024-01-01T00:00:00Z",
        1500,
    )
    assert (get_wallet(api, wid)["balance_cents"], get_wallet(api, wid)["credits_balance"]) == (1500, "30.0")
    ok(api.put(f"/invoices/{invoice['lago_id']}", {"invoice": {"payment_status": "succeeded"}}))
    assert get_wallet(api, wid)["balance_cents"] == 1500
    updates = wallet_webhooks(runtime, "wallet_transaction.updated")
    assert [u[1]["status"] for u in updates] == ["settled"]
    assert updates[0][1]["wallet"]["balance_cents"] == 1500
    assert webhook_counts(runtime, "invoice.paid_credit_added") == {"invoice.paid_credit_added": 1}
    assert_ledger(runtime)


def test_failed_payment_fails_the_top_up(api, runtime):
    add_endpoint(api)
    customer(api)
    wid = create_wallet(api)["lago_id"]
    [paid] = top_up(api, wid, paid_credits="10")
    ok(api.put(f"/invoices/{paid['lago_invoice_id']}", {"invoice": {"payment_status": "failed"}}))
    failed = ok(api.get(f"/wallet_transactions/{paid['lago_id']}"))["wallet_transaction"]
    assert (failed["status"], failed["failed_at"]) == ("failed", "2024-01-01T00:00:00Z")
    assert get_wallet(api, wid)["balance_cents"] == 0
    assert [u[1]["status"] for u in wallet_webhooks(runtime, "wallet_transaction.updated")] == ["failed"]
    assert_ledger(runtime)


def test_payment_gated_top_up_stays_open_until_paid(api, runtime, ctx):
    add_endpoint(api)
    customer(api)
    wid = create_wallet(api, invoice_requires_successful_payment=True)["lago_id"]
    [paid] = top_up(api, wid, paid_credits="10")
    assert paid["invoice_requires_successful_payment"] is True
    assert api.get(f"/invoices/{paid['lago_invoice_id']}").status_code == 404
    assert webhook_counts(runtime, "invoice.paid_credit_added") == {}
    invoice = ctx.session.scalar(select(Invoice).where(Invoice.invoice_type == "credit"))
    assert invoice is not None and invoice.status == "open" and invoice.number.endswith("-DRAFT")
    update_invoice(ctx, invoice, InvoiceUpdateInput(payment_status="succeeded"), {"payment_status"})
    ctx.session.commit()
    finalized = ok(api.get(f"/invoices/{paid['lago_invoice_id']}"))["invoice"]
    assert (finalized["status"], finalized["payment_status"]) == ("finalized", "succeeded")
    assert not finalized["number"].endswith("DRAFT")
    assert get_wallet(api, wid)["balance_cents"] == 1000
    assert webhook_counts(runtime, "invoice.paid_credit_added") == {"invoice.paid_credit_added": 1}
    assert_ledger(runtime)


def test_top_up_validation_codes(api, runtime):
    customer(api)
    wallet = create_wallet(api, paid_top_up_min_amount_cents=500, paid_top_up_max_amount_cents=1000)
    wid = wallet["lago_id"]
    assert _errors(_post(api, wallet_id="01a21a4a-0000-7000-0000-000000000000")) == {
        "wallet_id": ["wallet_not_found"]
    }
    details = _errors(
        _post(api, wallet_id=wid, paid_credits="x", granted_credits="0.001", voided_credits="1", name=12)
    )
    assert details == {
        "paid_credits": ["invalid_paid_credits", "invalid_amount"],
        "granted_credits": ["amount_rounds_to_zero"],
        "voided_credits": ["insufficient_credits"],
        "name": ["invalid_value"],
    }
    assert _errors(
        _post(api, wallet_id=wid, metadata=[{"key": str(i), "value": "v"} for i in range(16)])
    ) == {"metadata": ["too_many_keys"]}
    assert _errors(_post(api, wallet_id=wid, paid_credits="1")) == {"paid_credits": ["amount_below_minimum"]}
    assert _errors(_post(api, wallet_id=wid, paid_credits="11")) == {"paid_credits": ["amount_above_maximum"]}
    assert len(top_up(api, wid, paid_credits="11", ignore_paid_top_up_limits=True)) == 1
    ok(api.delete(f"/wallets/{wid}"))
    assert _errors(_post(api, wallet_id=wid, granted_credits="1")) == {"wallet_id": ["wallet_is_terminated"]}
    assert api.post("/wallet_transactions", {"wallet_transaction": {}}).status_code == 400


def test_listing_filters_and_lookup(api, runtime, other_api):
    customer(api)
    wid = create_wallet(api, granted_credits="10")["lago_id"]
    top_up(api, wid, paid_credits="5")
    top_up(api, wid, voided_credits="1")
    assert len(transactions(api, wid)) == 3
    assert [t["transaction_status"] for t in transactions(api, wid, status="pending")] == ["purchased"]
    assert [t["transaction_status"] for t in transactions(api, wid, transaction_type="outbound")] == [
        "voided"
    ]
    assert [t["status"] for t in transactions(api, wid, transaction_status="granted")] == ["settled"]
    assert len(transactions(api, wid, status="bogus")) == 3
    listed = ok(api.get(f"/wallets/{wid}/wallet_transactions", per_page=2))
    assert (len(listed["wallet_transactions"]), listed["meta"]["total_pages"]) == (2, 2)
    any_id = listed["wallet_transactions"][0]["lago_id"]
    assert ok(api.get(f"/wallet_transactions/{any_id}"))["wallet_transaction"]["lago_id"] == any_id
    assert other_api.get(f"/wallet_transactions/{any_id}").status_code == 404
    assert other_api.get(f"/wallets/{wid}/wallet_transactions").status_code == 404


def test_payment_url_needs_a_payment_provider(api, runtime):
    customer(api)
    wid = create_wallet(api, granted_credits="1")["lago_id"]
    [granted] = transactions(api, wid)
    [paid] = top_up(api, wid, paid_credits="2")
    assert _errors(api.post(f"/wallet_transactions/{granted['lago_id']}/payment_url")) == {
        "base": ["wallet_transaction_not_purchased"]
    }
    assert _errors(api.post(f"/wallet_transactions/{paid['lago_id']}/payment_url")) == {
        "base": ["no_linked_payment_provider"]
    }
