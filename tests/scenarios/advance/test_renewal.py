"""Recurring pay-in-advance charges on billing days (metering.md §3.8) and pay-in-advance fees in
the minimum commitment (billing.md §5.1, §8 Ex11 mixed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.advance.helpers import advance_charge, amounts, metric, send, settle, setup
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
from tests.pricing.helpers import ok

pytestmark = pytest.mark.slow

FEB10 = datetime(2024, 2, 10, 9, tzinfo=UTC)
MAR1 = datetime(2024, 3, 1, tzinfo=UTC)


def _periodic(api: Any) -> dict[str, Any]:
    [invoice] = [
        i for i in invoices(api) if i["billing_periods"][0]["invoicing_reason"] == "subscription_periodic"
    ]
    return invoice


@pytest.mark.parametrize(("prorated", "instant"), [(False, 15000), (True, 10345)])
def test_invoiceable_recurring_charge_renews_carried_units_at_full_value(api, runtime, prorated, instant):
    bm = metric(api, "seats", recurring=True)
    charge = advance_charge(bm, prorated=prorated, properties={"amount": "30"})
    setup(api, runtime, FEB10, [charge], subscription_at="2024-02-01T00:00:00Z")
    send(api, "seats", value=5)
    settle(api, runtime)
    # 5 seats × 30; prorated: 5 × ceil(20/29, 5) = 3.44828 × 30 = 103.4484.
    assert amounts(api) == [instant]
    tick_at(runtime, MAR1)
    periodic = _periodic(api)
    [fee] = [f for f in periodic["fees"] if f["item"]["type"] == "charge"]
    assert (fee["amount_cents"], fee["units"], fee["pay_in_advance"]) == (15000, "5.0", False)
    assert (fee["from_date"], fee["to_date"]) == ("2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z")


def test_non_recurring_pay_in_advance_charge_is_never_on_the_periodic_invoice(api, runtime):
    bm = metric(api, "calls", "count_agg")
    setup(api, runtime, FEB10, [advance_charge(bm)], subscription_at="2024-02-01T00:00:00Z")
    send(api, "calls")
    settle(api, runtime)
    tick_at(runtime, MAR1)
    assert [f for f in _periodic(api)["fees"] if f["item"]["type"] == "charge"] == []


def test_non_invoiceable_recurring_charge_renews_as_an_unattached_fee(api, runtime):
    add_endpoint(api)
    bm = metric(api, "seats", recurring=True)
    charge = advance_charge(bm, invoiceable=False, properties={"amount": "30"})
    setup(api, runtime, FEB10, [charge], subscription_at="2024-02-01T00:00:00Z")
    send(api, "seats", value=5)
    settle(api, runtime)
    tick_at(runtime, MAR1)
    fees = [f for f in ok(api.get("/fees", per_page=100))["fees"] if f["item"]["type"] == "charge"]
    renewal = [f for f in fees if f.get("event_transaction_id") is None]
    assert len(fees) == 2 and len(renewal) == 1
    [fee] = renewal
    assert (
        fee["amount_cents"],
        fee["units"],
        fee["lago_invoice_id"],
        fee["pay_in_advance"],
        fee["invoiceable"],
    ) == (
        15000,
        "5.0",
        None,
        True,
        False,
    )
    assert (fee["from_date"], fee["to_date"]) == ("2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z")
    assert [f for f in _periodic(api)["fees"] if f["item"]["type"] == "charge"] == []
    hooks = webhooks(runtime, "fee.created")
    assert [h["fee"]["lago_id"] for h in hooks][-1] == fee["lago_id"]
    assert len(hooks) == 2
    # A second run of the same billing day creates nothing more.
    tick_at(runtime, datetime(2024, 3, 1, 1, tzinfo=UTC))
    assert len([f for f in ok(api.get("/fees", per_page=100))["fees"] if f["item"]["type"] == "charge"]) == 2


def test_ex11_minimum_commitment_counts_the_pay_in_advance_fees(api, runtime):
    start_clock(runtime, datetime(2024, 2, 28, 10, tzinfo=UTC))
    customer(api)
    arrears = metric(api, "metered", field_name="total")
    advance = metric(api, "metered_advance", field_name="total")
    recurring = metric(api, "advance_recurring", field_name="total", recurring=True)
    charges = [
        {"billable_metric_id": arrears["lago_id"], "charge_model": "standard", "properties": {"amount": "1"}},
        advance_charge(advance),
        advance_charge(recurring),
    ]
    plan(api, amount_cents=10_000, charges=charges, minimum_commitment={"amount_cents": 1_000_000})
    subscribe(api, external_id="sub_1")
    for code in ("advance_recurring", "metered", "metered_advance"):
        send(api, code, total="10")
    settle(api, runtime)
    tick_at(runtime, MAR1)
    periodic = _periodic(api)
    [commitment] = [f for f in periodic["fees"] if f["item"]["type"] == "commitment"]
    # 1 000 000 × 2/29 = 68 966 − (subscription 690 + arrears 1 000 + in-advance 1 000 + recurring 1 000).
    assert commitment["amount_cents"] == 65_276
    tick_at(runtime, datetime(2024, 4, 1, tzinfo=UTC))
    april = [i for i in invoices(api) if i["issuing_date"] == "2024-04-01"]
    [march_commitment] = [f for i in april for f in i["fees"] if f["item"]["type"] == "commitment"]
    # March: subscription 10 000 + the renewal of the recurring charge billed on March 1st.
    assert march_commitment["amount_cents"] == 989_000
