"""billing.md §8 Ex18 — wallet with limitations (Lago's ``invoicing_with_prepaid_credits_spec``):
a wallet of 39.00 granted credits limited to ``bm1`` and ``bm2`` pays the taxed in-advance
charge invoices of those metrics, never the untaxed one of another metric."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.billing.helpers import customer, drain, event, invoices, metric, plan, start_clock, subscribe
from tests.pricing.helpers import create_tax
from tests.wallets.helpers import assert_ledger, create_wallet, get_wallet, transactions

WHEN = datetime(2024, 3, 5, 1, tzinfo=UTC)


def _charge(bm: dict[str, Any], amount: str, taxed: bool) -> dict[str, Any]:
    charge: dict[str, Any] = {
        "billable_metric_id": bm["lago_id"],
        "charge_model": "standard",
        "pay_in_advance": True,
        "invoiceable": True,
        "properties": {"amount": amount},
    }
    if taxed:
        charge["tax_codes"] = ["vat"]
    return charge


def _last(api: Any) -> tuple[Any, ...]:
    invoice = invoices(api)[-1]
    return (
        invoice["status"],
        invoice["fees_amount_cents"],
        invoice["taxes_amount_cents"],
        invoice["prepaid_credit_amount_cents"],
        invoice["prepaid_granted_credit_amount_cents"],
        invoice["total_amount_cents"],
    )


def test_ex18_wallet_limited_to_two_metrics(api, runtime):
    start_clock(runtime, datetime(2024, 3, 5, tzinfo=UTC))
    customer(api)
    create_tax(api, "vat", "24.0")
    bm1 = metric(api, "bm1", aggregation_type="sum_agg", field_name="amount")
    bm2 = metric(api, "bm2", aggregation_type="sum_agg", field_name="amount")
    bm3 = metric(api, "bm3", aggregation_type="sum_agg", field_name="amount")
    charges = [_charge(bm1, "14.29", True), _charge(bm2, "14.27", True), _charge(bm3, "10", False)]
    plan(api, amount_cents=0, charges=charges)
    subscribe(api)
    wallet = create_wallet(
        api, name="w", granted_credits="39", applies_to={"billable_metric_codes": ["bm1", "bm2"]}
    )
    assert wallet["applies_to"] == {"fee_types": [], "billable_metric_codes": ["bm1", "bm2"]}
    drain(api, runtime)

    event(api, "bm3", WHEN, amount="1")
    drain(api, runtime)
    assert _last(api) == ("finalized", 1000, 0, 0, None, 1000)
    assert get_wallet(api, wallet["lago_id"])["credits_balance"] == "39.0"

    event(api, "bm1", WHEN, amount="1")
    drain(api, runtime)
    assert _last(api) == ("finalized", 1429, 343, 1772, 1772, 0)
    assert get_wallet(api, wallet["lago_id"])["credits_balance"] == "21.28"

    event(api, "bm2", WHEN, amount="1")
    drain(api, runtime)
    assert _last(api) == ("finalized", 1427, 342, 1769, 1769, 0)
    after = get_wallet(api, wallet["lago_id"])
    assert (after["credits_balance"], after["balance_cents"], after["consumed_credits"]) == (
        "3.59",
        359,
        "35.41",
    )
    invoiced = [t for t in transactions(api, wallet["lago_id"]) if t["transaction_status"] == "invoiced"]
    assert sorted(t["amount"] for t in invoiced) == ["17.69", "17.72"]
    assert_ledger(runtime)
