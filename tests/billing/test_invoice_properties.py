"""Property: every finalized subscription invoice billed through the API and the test clock keeps
billing.md §4.4's identity, is never negative, and spreads its coupons exactly over its fees."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.billing.coupon_helpers import apply, coupon, events, metric
from tests.billing.helpers import customer, drain, invoices, plan, start_clock, subscribe, tick_at
from tests.pricing.helpers import create_tax
from tests.support.api import Api, make_org
from tests.support.db import wipe

_fixed = st.builds(
    lambda amount, frequency: {"coupon_type": "fixed_amount", "amount_cents": amount, "frequency": frequency},
    st.integers(1, 20000),
    st.sampled_from(["once", "recurring", "forever"]),
)
_percentage = st.builds(
    lambda rate, frequency: {
        "coupon_type": "percentage",
        "percentage_rate": str(rate),
        "amount_currency": None,
        "frequency": frequency,
    },
    st.decimals(Decimal("0.01"), Decimal("100"), places=2),
    st.sampled_from(["once", "recurring", "forever"]),
)
_setup = st.fixed_dictionaries(
    {
        "plan_amount": st.integers(0, 20000),
        "pay_in_advance": st.booleans(),
        "unit_price": st.decimals(Decimal("0"), Decimal("10"), places=4),
        "events": st.integers(0, 25),
        "coupons": st.lists(st.one_of(_fixed, _percentage), max_size=2),
        "tax_rate": st.one_of(st.none(), st.decimals(Decimal("0"), Decimal("30"), places=2)),
    }
)


def _bill(api: Any, runtime: Any, setup: dict[str, Any]) -> list[dict[str, Any]]:
    start_clock(runtime, datetime(2024, 1, 1, 9, tzinfo=UTC))
    if setup["tax_rate"] is not None:
        create_tax(api, "vat", str(setup["tax_rate"]), applied_to_organization=True)
    customer(api)
    bm = metric(api, "calls")
    charge = {
        "billable_metric_id": bm["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": str(setup["unit_price"])},
    }
    plan(api, amount_cents=setup["plan_amount"], pay_in_advance=setup["pay_in_advance"], charges=[charge])
    for n, fields in enumerate(setup["coupons"]):
        extra = {"frequency_duration": 2} if fields["frequency"] == "recurring" else {}
        coupon(api, f"c{n}", **fields, **extra)
        apply(api, f"c{n}")
    subscribe(api, subscription_at="2024-01-01T00:00:00Z")
    drain(api, runtime)
    events(api, "calls", datetime(2024, 1, 10, tzinfo=UTC), setup["events"])
    tick_at(runtime, datetime(2024, 2, 1, tzinfo=UTC))
    return [i for i in invoices(api) if i["status"] == "finalized"]


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(setup=_setup)
def test_finalized_invoices_keep_the_amount_identity(runtime, app_client, setup):
    wipe(runtime.db)
    api = Api(app_client, make_org(runtime).api_key)
    found = _bill(api, runtime, setup)
    assert found, "the billing day produces a finalized invoice"
    for invoice in found:
        assert invoice["total_amount_cents"] == (
            invoice["fees_amount_cents"]
            - invoice["coupons_amount_cents"]
            - invoice["progressive_billing_credit_amount_cents"]
            + invoice["taxes_amount_cents"]
            - invoice["credit_notes_amount_cents"]
            - invoice["prepaid_credit_amount_cents"]
        )
        assert invoice["total_amount_cents"] >= 0
        assert invoice["sub_total_excluding_taxes_amount_cents"] == (
            invoice["fees_amount_cents"]
            - invoice["coupons_amount_cents"]
            - invoice["progressive_billing_credit_amount_cents"]
        )
        assert invoice["fees_amount_cents"] == sum(f["amount_cents"] for f in invoice["fees"])
        assert invoice["coupons_amount_cents"] == sum(c["amount_cents"] for c in invoice["credits"])
        shares = sum((Decimal(f["precise_coupons_amount_cents"]) for f in invoice["fees"]), Decimal(0))
        # Fee shares are kept to 5 decimals: they add up to the invoice's coupons within rounding.
        assert abs(shares - invoice["coupons_amount_cents"]) <= Decimal("0.00001") * len(invoice["fees"])
        for fee in invoice["fees"]:
            assert Decimal(0) <= Decimal(fee["precise_coupons_amount_cents"]) <= fee["amount_cents"]
