"""A finalized invoice to credit: a monthly arrears plan (1000) with a usage charge (5 units at
1.00), VAT 20% on the billing entity, billed on 2024-02-01: fees 1000 + 500, taxes 300, total
1800."""

from __future__ import annotations

from typing import Any

import pytest

from billow.runtime import Runtime
from tests.billing.helpers import customer, event, invoices, metric, plan, start_clock, subscribe, tick_at
from tests.credit_notes.helpers import at
from tests.pricing.helpers import create_tax


def bill(api: Any, runtime: Runtime, *customer_ids: str) -> list[dict[str, Any]]:
    """Subscribe each customer (created by the caller; ``cus_1`` by default) and bill January:
    their invoices, in that order."""
    customer_ids = customer_ids or ("cus_1",)
    for n, customer_id in enumerate(customer_ids, 1):
        subscribe(api, external_id=f"sub_{n}", customer_id=customer_id)
        event(api, "calls", at("2024-01-10T00:00:00Z"), sub=f"sub_{n}", amount="5")
    tick_at(runtime, at("2024-02-01T00:10:00Z"))
    billed = {i["customer"]["external_id"]: i for i in invoices(api)}
    return [billed[c] for c in customer_ids]


def catalog(api: Any, runtime: Runtime) -> None:
    start_clock(runtime, at("2024-01-01T00:00:00Z"))
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    calls = metric(api, "calls", aggregation_type="sum_agg", field_name="amount")
    charge = {
        "billable_metric_id": calls["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": "1"},
    }
    plan(api, amount_cents=1000, charges=[charge])


@pytest.fixture
def invoice(api: Any, runtime: Runtime) -> dict[str, Any]:
    catalog(api, runtime)
    customer(api)
    [billed] = bill(api, runtime)
    return billed
