"""Credit left on notes pays the customer's next invoices (billing.md §4.3 step 7): oldest note
first, after taxes, before the wallets (step 8); a consumed note is ``consumed``."""

from __future__ import annotations

from tests.billing.helpers import clock, fee_of, invoices, tick_at
from tests.credit_notes.helpers import at, create, credit_notes, split
from tests.pricing.helpers import ok
from tests.wallets.helpers import assert_ledger, create_wallet, get_wallet


def _summary(invoice):
    return (
        invoice["fees_amount_cents"],
        invoice["taxes_amount_cents"],
        invoice["credit_notes_amount_cents"],
        invoice["prepaid_credit_amount_cents"],
        invoice["total_amount_cents"],
    )


def test_notes_oldest_first_then_wallet(api, runtime, invoice):
    sub = fee_of(invoice, "subscription")["lago_id"]
    charge = fee_of(invoice, "charge")["lago_id"]
    older = ok(create(api, invoice["lago_id"], [(charge, 500)], credit_amount_cents=600))["credit_note"]
    clock(api, "2024-02-01T01:00:00Z")
    newer = ok(create(api, invoice["lago_id"], [(sub, 1000)], credit_amount_cents=1200))["credit_note"]
    wallet = create_wallet(api, name="w", granted_credits="10")
    # February: subscription 1000 + VAT 200 → 1200, paid by both notes, oldest first.
    tick_at(runtime, at("2024-03-01T00:10:00Z"))
    february = invoices(api)[-1]
    assert _summary(february) == (1000, 200, 1200, 0, 0)
    by_id = {n["lago_id"]: n for n in credit_notes(api)}
    assert (by_id[older["lago_id"]]["credit_status"], split(by_id[older["lago_id"]])) == (
        "consumed",
        (600, 0, 0, 0),
    )
    assert (by_id[newer["lago_id"]]["credit_status"], split(by_id[newer["lago_id"]])) == (
        "available",
        (1200, 0, 0, 600),
    )
    assert get_wallet(api, wallet["lago_id"])["balance_cents"] == 1000
    # March: the newer note's last 600, then the wallet for the rest.
    tick_at(runtime, at("2024-04-01T00:10:00Z"))
    march = invoices(api)[-1]
    assert _summary(march) == (1000, 200, 600, 600, 0)
    by_id = {n["lago_id"]: n for n in credit_notes(api)}
    assert (by_id[newer["lago_id"]]["credit_status"], by_id[newer["lago_id"]]["balance_amount_cents"]) == (
        "consumed",
        0,
    )
    assert get_wallet(api, wallet["lago_id"])["balance_cents"] == 400
    assert_ledger(runtime)


def test_voided_note_is_not_consumed(api, runtime, invoice):
    sub = fee_of(invoice, "subscription")["lago_id"]
    note = ok(create(api, invoice["lago_id"], [(sub, 1000)], credit_amount_cents=1200))["credit_note"]
    ok(api.put(f"/credit_notes/{note['lago_id']}/void"))
    tick_at(runtime, at("2024-03-01T00:10:00Z"))
    assert _summary(invoices(api)[-1]) == (1000, 200, 0, 0, 1200)
