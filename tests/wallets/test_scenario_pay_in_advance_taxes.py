from datetime import UTC, datetime

from tests.billing.helpers import customer, drain, invoices, plan, start_clock, subscribe
from tests.billing.test_charge_fees import event, metric
from tests.pricing.helpers import create_tax
from tests.wallets.helpers import (
    assert_ledger,
    create_wallet,
    get_wallet,
)


def test_ex18(api, runtime):
    start_clock(runtime, datetime(2024, 3, 5, tzinfo=UTC))
    customer(api)
    create_tax(api, "vat", "24.0")
    bm1 = metric(api, "bm1", aggregation_type="sum_agg", field_name="amount")
    bm2 = metric(api, "bm2", aggregation_type="sum_agg", field_name="amount")
    bm3 = metric(api, "bm3", aggregation_type="sum_agg", field_name="amount")

    def ch(bm, amount, taxed):
        c = {
            "billable_metric_id": bm["lago_id"],
            "charge_model": "standard",
            "pay_in_advance": True,
            "invoiceable": True,
            "properties": {"amount": amount},
        }
        if taxed:
            c["tax_codes"] = ["vat"]
        return c

    plan(api, amount_cents=0, charges=[ch(bm1, "14.29", True), ch(bm2, "14.27", True), ch(bm3, "10", False)])
    subscribe(api)
    w = create_wallet(
        api, name="w", granted_credits="39", applies_to={"billable_metric_codes": ["bm1", "bm2"]}
    )
    print(w["applies_to"])
    drain(api, runtime)
    event(api, "bm3", datetime(2024, 3, 5, 1, tzinfo=UTC), amount="1")
    drain(api, runtime)
    print(
        [
            (
                i["invoice_type"],
                i["status"],
                i["fees_amount_cents"],
                i["taxes_amount_cents"],
                i["prepaid_credit_amount_cents"],
                i["total_amount_cents"],
            )
            for i in invoices(api)
        ]
    )
    event(api, "bm1", datetime(2024, 3, 5, 1, tzinfo=UTC), amount="1")
    drain(api, runtime)
    print(
        [
            (
                i["invoice_type"],
                i["status"],
                i["fees_amount_cents"],
                i["taxes_amount_cents"],
                i["prepaid_credit_amount_cents"],
                i["total_amount_cents"],
            )
            for i in invoices(api)
        ]
    )
    print(get_wallet(api, w["lago_id"])["credits_balance"])
    event(api, "bm2", datetime(2024, 3, 5, 1, tzinfo=UTC), amount="1")
    drain(api, runtime)
    print(
        [
            (
                i["invoice_type"],
                i["status"],
                i["fees_amount_cents"],
                i["taxes_amount_cents"],
                i["prepaid_credit_amount_cents"],
                i["total_amount_cents"],
                i["prepaid_granted_credit_amount_cents"],
            )
            for i in invoices(api)
        ]
    )
    print(get_wallet(api, w["lago_id"])["credits_balance"])
    assert_ledger(runtime)
