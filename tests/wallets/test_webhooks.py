"""Each webhook of wallets and credit notes fires exactly once per transition: queued rows are
counted after each step (repeating a step that changes nothing queues none), and one delivery of
each type is received and its HMAC signature verified."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from billow.billing.models import Invoice
from billow.billing.service import InvoiceUpdateInput, update_invoice
from tests.billing.helpers import clock, customer, drain, event, fee_of, metric, plan, start_clock, subscribe
from tests.credit_notes.conftest import bill, catalog
from tests.credit_notes.helpers import at, create
from tests.pricing.helpers import ok
from tests.support.openapi import assert_matches_webhook
from tests.support.webhook_receiver import WebhookReceiver, verify_hmac
from tests.wallets.helpers import create_wallet, top_up, webhook_counts

TYPES = (
    "wallet.created",
    "wallet.updated",
    "wallet.terminated",
    "wallet_transaction.created",
    "wallet_transaction.updated",
    "wallet.depleted_ongoing_balance",
    "invoice.paid_credit_added",
    "credit_note.created",
)


@pytest.fixture
def receiver(api: Any) -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as hooks:
        endpoint = {"webhook_url": hooks.url("/hmac"), "signature_algo": "hmac"}
        ok(api.post("/webhook_endpoints", {"webhook_endpoint": endpoint}))
        yield hooks


def _counts(runtime: Any) -> dict[str, int]:
    found = webhook_counts(runtime, *TYPES)
    return {t: found.get(t, 0) for t in TYPES}


class Steps:
    """Counts per type since the last step."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.last = _counts(runtime)

    def delta(self) -> dict[str, int]:
        now = _counts(self.runtime)
        changed = {t: now[t] - self.last[t] for t in TYPES if now[t] != self.last[t]}
        self.last = now
        return changed


# The document's ``WalletObject`` requires a ``balance`` property it does not define (Lago's
# serializer no longer sends it): wallet and wallet-transaction bodies are not schema-checked.
UNCHECKED = frozenset(
    {
        "wallet.created",
        "wallet.updated",
        "wallet.terminated",
        "wallet.depleted_ongoing_balance",
        "wallet_transaction.created",
        "wallet_transaction.updated",
    }
)


def _delivered(receiver: WebhookReceiver, org: Any, webhook_type: str, count: int = 1) -> dict[str, Any]:
    """The last of exactly ``count`` deliveries of ``webhook_type``: each signature checked, the
    body as in the document where the document is consistent."""
    hooks = receiver.wait_exactly(webhook_type, count, path="/hmac")
    for hook in hooks:
        verify_hmac(hook.headers, hook.body, org.hmac_key)
    body: dict[str, Any] = hooks[-1].json()
    assert (body["webhook_type"], body["organization_id"]) == (webhook_type, str(org.id))
    if webhook_type not in UNCHECKED:
        assert_matches_webhook(webhook_type, body)
    return body


def test_wallet_lifecycle_webhooks(api, runtime, org, receiver):
    customer(api)
    steps = Steps(runtime)
    wallet = create_wallet(api, name="Main")
    assert steps.delta() == {"wallet.created": 1}
    path = f"/wallets/{wallet['lago_id']}"
    ok(api.put(path, {"wallet": {"name": "Renamed"}}))
    assert steps.delta() == {"wallet.updated": 1}
    [granted] = top_up(api, wallet["lago_id"], granted_credits="5")
    assert steps.delta() == {"wallet_transaction.created": 1, "wallet.updated": 1}
    ok(api.delete(path))
    assert steps.delta() == {"wallet.terminated": 1}
    assert ok(api.delete(path))["wallet"]["status"] == "terminated"
    drain(api, runtime)
    assert steps.delta() == {}
    created = _delivered(receiver, org, "wallet.created")
    assert created["wallet"]["lago_id"] == wallet["lago_id"]
    assert _delivered(receiver, org, "wallet.terminated")["wallet"]["status"] == "terminated"
    transaction = _delivered(receiver, org, "wallet_transaction.created")
    assert transaction["wallet_transaction"]["lago_id"] == granted["lago_id"]
    assert _delivered(receiver, org, "wallet.updated", 2)["wallet"]["balance_cents"] == 500


def test_paid_top_up_webhooks(api, runtime, org, receiver):
    customer(api)
    wallet = create_wallet(api, name="Main")
    steps = Steps(runtime)
    [paid] = top_up(api, wallet["lago_id"], paid_credits="20")
    assert steps.delta() == {"wallet_transaction.created": 1, "invoice.paid_credit_added": 1}
    invoice_path = f"/invoices/{paid['lago_invoice_id']}"
    ok(api.put(invoice_path, {"invoice": {"payment_status": "succeeded"}}))
    assert steps.delta() == {"wallet_transaction.updated": 1, "wallet.updated": 1}
    ok(api.put(invoice_path, {"invoice": {"payment_status": "succeeded"}}))
    drain(api, runtime)
    assert steps.delta() == {}
    updated = _delivered(receiver, org, "wallet_transaction.updated")
    assert (updated["wallet_transaction"]["lago_id"], updated["wallet_transaction"]["status"]) == (
        paid["lago_id"],
        "settled",
    )
    added = _delivered(receiver, org, "invoice.paid_credit_added")
    assert added["invoice"]["lago_id"] == paid["lago_invoice_id"]


def test_paid_top_up_requiring_payment_announces_the_credit_once_paid(api, runtime, ctx, receiver):
    customer(api)
    wallet = create_wallet(api, name="Main")
    steps = Steps(runtime)
    [paid] = top_up(api, wallet["lago_id"], paid_credits="20", invoice_requires_successful_payment=True)
    assert steps.delta() == {"wallet_transaction.created": 1}
    # The open credit invoice is not visible through the API until paid.
    invoice = ctx.session.get(Invoice, uuid.UUID(paid["lago_invoice_id"]))
    assert invoice is not None and invoice.status == "open"
    update_invoice(ctx, invoice, InvoiceUpdateInput(payment_status="succeeded"), {"payment_status"})
    ctx.session.commit()
    assert steps.delta() == {
        "invoice.paid_credit_added": 1,
        "wallet_transaction.updated": 1,
        "wallet.updated": 1,
    }
    ok(api.put(f"/invoices/{paid['lago_invoice_id']}", {"invoice": {"payment_status": "succeeded"}}))
    assert steps.delta() == {}


def test_depleted_ongoing_balance_fires_once(api, runtime, org, receiver):
    start_clock(runtime, at("2024-01-01T00:00:00Z"))
    customer(api)
    units = metric(api, "units", aggregation_type="sum_agg", field_name="amount")
    charge = {
        "billable_metric_id": units["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": "1"},
    }
    plan(api, amount_cents=0, charges=[charge])
    subscribe(api)
    wallet = create_wallet(api, name="w", granted_credits="2")
    drain(api, runtime)
    steps = Steps(runtime)
    event(api, "units", at("2024-01-02T00:00:00Z"), amount="1")
    clock(api, "2024-01-02T01:00:00Z")
    assert steps.delta() == {}
    event(api, "units", at("2024-01-02T02:00:00Z"), amount="1")
    clock(api, "2024-01-02T03:00:00Z")
    assert steps.delta() == {"wallet.depleted_ongoing_balance": 1}
    event(api, "units", at("2024-01-02T04:00:00Z"), amount="1")
    clock(api, "2024-01-02T05:00:00Z")
    assert steps.delta() == {}
    depleted = _delivered(receiver, org, "wallet.depleted_ongoing_balance")
    assert (depleted["wallet"]["lago_id"], depleted["wallet"]["ongoing_balance_cents"]) == (
        wallet["lago_id"],
        0,
    )


def test_credit_note_created_once(api, runtime, org, receiver):
    catalog(api, runtime)
    customer(api)
    [invoice] = bill(api, runtime)
    steps = Steps(runtime)
    sub = fee_of(invoice, "subscription")["lago_id"]
    note = ok(create(api, invoice["lago_id"], [(sub, 500)], credit_amount_cents=600))["credit_note"]
    assert steps.delta() == {"credit_note.created": 1}
    ok(api.put(f"/credit_notes/{note['lago_id']}", {"credit_note": {"refund_status": None}}))
    ok(api.put(f"/credit_notes/{note['lago_id']}/void"))
    drain(api, runtime)
    assert steps.delta() == {}
    created = _delivered(receiver, org, "credit_note.created")
    assert created["credit_note"]["lago_id"] == note["lago_id"]
