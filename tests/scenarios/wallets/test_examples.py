"""billing.md §8 wallet vectors through the public API and the test clock, exact to the cent:
Ex19 (ongoing balance through a draft invoice and its finalization), prepaid credits limited to
fee types, and totals that prepaid credits never take below zero (credit notes first)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.billing.helpers import (
    clock,
    customer,
    event,
    fee_of,
    invoices,
    metric,
    plan,
    start_clock,
    subscribe,
    tick_at,
)
from tests.credit_notes.helpers import at, create
from tests.pricing.helpers import create_tax, ok
from tests.wallets.helpers import create_wallet, get_wallet, transactions, webhook_counts

pytestmark = pytest.mark.slow


def _balances(api: Any, wallet_id: str) -> tuple[int, int, int]:
    wallet = get_wallet(api, wallet_id)
    return wallet["balance_cents"], wallet["ongoing_usage_balance_cents"], wallet["ongoing_balance_cents"]


def _usage_plan(api: Any, **fields: Any) -> None:
    units = metric(api, "units", aggregation_type="sum_agg", field_name="amount")
    charge = {
        "billable_metric_id": units["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": "1"},
    }
    plan(api, charges=[charge], **fields)


def test_ex19_ongoing_balance_through_draft_and_finalization(api, runtime):
    start_clock(runtime, at("2024-01-01T00:00:00Z"))
    customer(api, billing_configuration={"invoice_grace_period": 10})
    _usage_plan(api, amount_cents=100)
    subscribe(api)
    wallet = create_wallet(api, name="w", granted_credits="10")["lago_id"]
    assert _balances(api, wallet) == (1000, 0, 1000)
    event(api, "units", at("2024-01-05T00:00:00Z"), amount="5")
    clock(api, "2024-01-05T01:00:00Z")
    assert _balances(api, wallet) == (1000, 500, 500)
    # Period end: a draft invoice of 100 + 500 (wallets never touch drafts).
    tick_at(runtime, at("2024-02-01T00:10:00Z"))
    [draft] = invoices(api)
    assert (draft["status"], draft["total_amount_cents"], draft["prepaid_credit_amount_cents"]) == (
        "draft",
        600,
        0,
    )
    clock(api, "2024-02-01T01:00:00Z")
    assert _balances(api, wallet) == (1000, 600, 400)
    event(api, "units", at("2024-02-02T00:00:00Z"), amount="3")
    clock(api, "2024-02-02T01:00:00Z")
    assert _balances(api, wallet) == (1000, 900, 100)
    # Finalized at the end of the grace period: the wallet pays it.
    tick_at(runtime, at("2024-02-11T00:10:00Z"))
    clock(api, "2024-02-11T01:00:00Z")
    [final] = invoices(api)
    assert (final["status"], final["prepaid_credit_amount_cents"], final["total_amount_cents"]) == (
        "finalized",
        600,
        0,
    )
    assert _balances(api, wallet) == (400, 300, 100)
    [invoiced] = [t for t in transactions(api, wallet) if t["transaction_status"] == "invoiced"]
    assert (invoiced["transaction_type"], invoiced["status"], invoiced["credit_amount"]) == (
        "outbound",
        "settled",
        "6.0",
    )
    assert webhook_counts(runtime, "wallet.depleted_ongoing_balance") == {}


def test_wallet_limited_to_fee_types(api, runtime):
    """A wallet limited to ``charge`` fees pays the usage fee with its tax, not the plan fee."""
    start_clock(runtime, at("2024-01-01T00:00:00Z"))
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    customer(api)
    _usage_plan(api, amount_cents=1000)
    subscribe(api)
    wallet = create_wallet(api, name="w", granted_credits="50", applies_to={"fee_types": ["charge"]})
    event(api, "units", at("2024-01-10T00:00:00Z"), amount="7")
    tick_at(runtime, at("2024-02-01T00:10:00Z"))
    [invoice] = invoices(api)
    assert (
        invoice["fees_amount_cents"],
        invoice["taxes_amount_cents"],
        invoice["prepaid_credit_amount_cents"],
        invoice["total_amount_cents"],
    ) == (1700, 340, 840, 1200)
    assert get_wallet(api, wallet["lago_id"])["balance_cents"] == 4160


def test_prepaid_credits_never_take_a_total_below_zero(api, runtime):
    """A wallet larger than the invoice takes exactly its total; a credit note that already
    brings the next invoice to 0 leaves the wallet untouched (credit notes come first)."""
    start_clock(runtime, at("2024-01-01T00:00:00Z"))
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    customer(api)
    _usage_plan(api, amount_cents=1000)
    subscribe(api)
    wallet = create_wallet(api, name="w", granted_credits="100")["lago_id"]
    event(api, "units", at("2024-01-10T00:00:00Z"), amount="5")
    tick_at(runtime, at("2024-02-01T00:10:00Z"))
    [january] = invoices(api)
    assert (january["prepaid_credit_amount_cents"], january["total_amount_cents"]) == (1800, 0)
    assert (january["total_due_amount_cents"], january["payment_status"]) == (0, "succeeded")
    assert get_wallet(api, wallet)["balance_cents"] == 8200
    sub = fee_of(january, "subscription")["lago_id"]
    ok(create(api, january["lago_id"], [(sub, 1000)], credit_amount_cents=1200))
    tick_at(runtime, at("2024-03-01T00:10:00Z"))
    february = invoices(api)[-1]
    assert (
        february["credit_notes_amount_cents"],
        february["prepaid_credit_amount_cents"],
        february["total_amount_cents"],
    ) == (1200, 0, 0)
    assert get_wallet(api, wallet)["balance_cents"] == 8200
    assert len([t for t in transactions(api, wallet) if t["transaction_status"] == "invoiced"]) == 1
