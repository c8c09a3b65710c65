"""Set-ups and expected bodies shared by the scenario files (billing.md §8 worked examples, pay-in-advance
fees and their estimates), through the public API and the test clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from billow.runtime import Runtime
from tests.billing.helpers import (
    at,
    clock,
    customer,
    drain,
    event,
    metric,
    plan,
    start_clock,
    subscribe,
    tick_at,
)
from tests.pricing.helpers import ok

# ------------------------------------------------------- plan changes (billing.md §8 Ex4, Ex5, Ex6)


def _monthly_then_yearly(
    api: Any, runtime: Runtime, start: str, monthly_cents: int, yearly_cents: int, until: str
) -> None:
    start_clock(runtime, at(start))
    customer(api)
    plan(api, "monthly", amount_cents=monthly_cents, pay_in_advance=True)
    plan(api, "yearly", interval="yearly", amount_cents=yearly_cents, pay_in_advance=True)
    subscribe(api, "monthly", billing_time="anniversary")
    clock(api, until)


def ex4_monthly_until_the_upgrade(api: Any, runtime: Runtime) -> None:
    """Ex4: monthly (1000, in advance, anniversary) from 2023-06-29 12:12, a yearly plan (12000),
    the clock at 2023-09-28 05:00 (three monthly invoices)."""
    _monthly_then_yearly(api, runtime, "2023-06-29T12:12:00Z", 1000, 12000, "2023-09-28T05:00:00Z")


def ex5_monthly_until_the_downgrade(api: Any, runtime: Runtime) -> None:
    """Ex5: monthly (12900, in advance, anniversary) from 2023-07-19 12:12, a yearly plan (118800),
    the clock at 2023-11-09 10:00 (four monthly invoices)."""
    _monthly_then_yearly(api, runtime, "2023-07-19T12:12:00Z", 12900, 118800, "2023-11-09T10:00:00Z")


def change_to_yearly(api: Any) -> None:
    """The Ex4 upgrade / Ex5 downgrade: subscribe ``sub_1`` to the yearly plan."""
    subscribe(api, "yearly", billing_time="anniversary")


def ex6_plans_a_and_b_billed_for_january(api: Any, runtime: Runtime) -> dict[str, Any]:
    """Ex6: plans ``a`` (2900) and ``b`` (29000), in advance, each with a prorated recurring
    ``seats`` charge (1 a seat); ``sub_1`` on ``a`` from 2024-01-01, 5 seats on January 2nd,
    billed on February 1st. Returns the metric."""
    start_clock(runtime, datetime(2024, 1, 1, tzinfo=UTC))
    seats = metric(api, "seats", "sum_agg", field_name="seats", recurring=True)
    customer(api)
    for code, amount in (("a", 2900), ("b", 29000)):
        charge = {
            "billable_metric_id": seats["lago_id"],
            "charge_model": "standard",
            "prorated": True,
            "properties": {"amount": "1"},
        }
        plan(api, code, amount_cents=amount, pay_in_advance=True, charges=[charge])
    subscribe(api, "a")
    drain(api, runtime)
    event(api, "seats", datetime(2024, 1, 2, tzinfo=UTC), seats=5)
    tick_at(runtime, datetime(2024, 2, 1, tzinfo=UTC))
    return seats


def ex6_upgrade_to_b_on_february_12(api: Any, runtime: Runtime) -> None:
    tick_at(runtime, datetime(2024, 2, 12, 6, tzinfo=UTC))
    subscribe(api, "b")
    tick_at(runtime, datetime(2024, 2, 12, 7, tzinfo=UTC))


# ------------------------------------------------------------- pay-in-advance fee bodies (sub_1)


def subscription_and_charge_ids(api: Any) -> tuple[dict[str, Any], str]:
    """``sub_1`` as the API shows it, and the id of plan ``pro``'s first charge."""
    sub = ok(api.get("/subscriptions/sub_1"))["subscription"]
    charge_id = ok(api.get("/plans/pro"))["plan"]["charges"][0]["lago_id"]
    return sub, charge_id


def unattached_fee_ids(lago_id: str | None, charge_id: str) -> dict[str, Any]:
    """A charge fee body's own ids: on no invoice, no charge filter, fixed charge, true-up or original fee."""
    return {
        "lago_id": lago_id,
        "lago_charge_id": charge_id,
        "lago_charge_filter_id": None,
        "lago_fixed_charge_id": None,
        "lago_invoice_id": None,
        "lago_true_up_fee_id": None,
        "lago_true_up_parent_fee_id": None,
        "lago_original_fee_id": None,
    }


def fee_owner(sub: dict[str, Any]) -> dict[str, Any]:
    """A fee body's subscription and customer keys: ``sub`` (as the API shows ``sub_1``) of ``cus_1``."""
    return {
        "lago_subscription_id": sub["lago_id"],
        "external_subscription_id": "sub_1",
        "lago_customer_id": sub["lago_customer_id"],
        "external_customer_id": "cus_1",
    }


def metric_item(code: str, name: str, metric_id: str) -> dict[str, Any]:
    """A charge fee's ``item`` for a metric (no filter, no grouping, its ``name`` shown)."""
    return {
        "type": "charge",
        "code": code,
        "name": name,
        "description": None,
        "invoice_display_name": name,
        "filters": None,
        "filter_invoice_display_name": None,
        "lago_item_id": metric_id,
        "item_type": "BillableMetric",
        "grouped_by": {},
    }
