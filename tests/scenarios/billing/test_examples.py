"""billing.md §8 worked examples (subscription fees, taxes, drafts, upgrades, downgrades, trials,
``ending_at``, boundaries) through the public API and the test clock."""

from __future__ import annotations

import pytest

from tests.billing.helpers import (
    at,
    clock,
    customer,
    fee_of,
    invoices,
    plan,
    start_clock,
    subscribe,
    terminate,
)
from tests.pricing.helpers import create_tax, ok
from tests.scenarios.helpers import (
    change_to_yearly,
    ex4_monthly_until_the_upgrade,
    ex5_monthly_until_the_downgrade,
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("created", "timezone", "expected"),
    [
        ("2023-06-16T05:00:00Z", "America/Denver", 400),
        ("2023-06-16T05:00:00Z", "America/Halifax", 300),
        ("2023-06-16T20:00:00Z", "Europe/Paris", 300),
        ("2023-06-16T20:00:00Z", "Asia/Karachi", 200),
    ],
)
def test_ex3_weekly_advance_prorated_in_customer_timezone(api, runtime, created, timezone, expected):
    start_clock(runtime, at(created))
    customer(api, timezone=timezone)
    plan(api, interval="weekly", amount_cents=700, pay_in_advance=True)
    subscribe(api)
    clock(api, created)
    [invoice] = invoices(api)
    assert invoice["fees_amount_cents"] == expected
    assert invoice["billing_periods"][0]["invoicing_reason"] == "subscription_starting"


def test_ex4_upgrade_monthly_to_yearly_anniversary(api, runtime):
    ex4_monthly_until_the_upgrade(api, runtime)
    assert [i["fees_amount_cents"] for i in invoices(api)] == [1000, 1000, 1000]
    second = invoices(api)[1]["billing_periods"][0]
    assert second["subscription_from_datetime"] == "2023-07-29T00:00:00Z"
    assert second["charges_from_datetime"] == "2023-06-29T12:12:00Z"
    assert second["charges_to_datetime"] == "2023-07-28T23:59:59Z"
    change_to_yearly(api)
    clock(api, "2023-09-28T05:00:05Z")
    upgrade = invoices(api)[-1]
    periods = {p["invoicing_reason"]: p for p in upgrade["billing_periods"]}
    assert periods["subscription_terminating"]["charges_from_datetime"] == "2023-08-29T00:00:00Z"
    assert periods["subscription_terminating"]["charges_to_datetime"] == "2023-09-28T05:00:00Z"
    assert periods["subscription_starting"]["subscription_from_datetime"] == "2023-09-28T00:00:00Z"
    assert periods["subscription_starting"]["subscription_to_datetime"] == "2024-06-28T23:59:59Z"
    assert fee_of(upgrade, "subscription")["amount_cents"] == 9016
    assert upgrade["fees_amount_cents"] == 9016


def test_ex5_downgrade_monthly_to_yearly_anniversary(api, runtime):
    ex5_monthly_until_the_downgrade(api, runtime)
    change_to_yearly(api)
    clock(api, "2023-11-19T02:00:00Z")
    found = invoices(api)
    assert [i["fees_amount_cents"] for i in found[:4]] == [12900, 12900, 12900, 12900]
    downgrade = found[-1]
    periods = {p["invoicing_reason"]: p for p in downgrade["billing_periods"]}
    assert set(periods) == {"subscription_terminating", "subscription_starting"}
    assert periods["subscription_starting"]["subscription_from_datetime"] == "2023-11-19T00:00:00Z"
    assert periods["subscription_starting"]["subscription_to_datetime"] == "2024-07-18T23:59:59Z"
    assert fee_of(downgrade, "subscription")["amount_cents"] == 78875
    subs = ok(api.get("/subscriptions", external_customer_id="cus_1", **{"status[]": "terminated"}))
    assert subs["subscriptions"][0]["terminated_at"] == "2023-11-19T00:00:00Z"


def test_ex7_arrears_upgrade_and_termination_subscription_fees(api, runtime):
    start_clock(runtime, at("2024-01-01T00:00:00Z"))
    customer(api)
    plan(api, "a", amount_cents=2900)
    plan(api, "b", amount_cents=29000)
    subscribe(api, "a", external_id="up")
    subscribe(api, "a", external_id="end")
    clock(api, "2024-02-12T06:00:00Z")
    subscribe(api, "b", external_id="up")
    terminate(api, "end")
    clock(api, "2024-03-01T01:00:00Z")
    by_period = {}
    for invoice in invoices(api):
        for fee in invoice["fees"]:
            by_period.setdefault(fee["external_subscription_id"], []).append(fee["amount_cents"])
    # February 1st bills January (2900) for both, the upgrade bills 11 of 29 days (the upgrade day
    # goes to the new plan), a plain termination 12 days; March 1st bills 18 days of plan B.
    assert by_period["end"] == [2900, 1200]
    assert sorted(by_period["up"]) == [1100, 2900, 18000]


def test_ex20_free_trial_advance(api, runtime):
    start_clock(runtime, at("2024-03-05T12:12:00Z"))
    customer(api)
    plan(api, amount_cents=5_000_000, pay_in_advance=True, trial_period=10)
    subscribe(api)
    clock(api, "2024-03-05T12:12:01Z")
    assert invoices(api) == []
    clock(api, "2024-03-15T13:02:00Z")
    [invoice] = invoices(api)
    assert invoice["fees_amount_cents"] == 2_741_935
    clock(api, "2024-04-01T01:00:00Z")
    assert invoices(api)[-1]["fees_amount_cents"] == 5_000_000


@pytest.mark.parametrize(
    ("timezone", "issuing"), [("Europe/Paris", "2023-09-06"), ("America/Bogota", "2023-09-05")]
)
def test_ex21_ending_at_bills_the_partial_period(api, runtime, timezone, issuing):
    start_clock(runtime, at("2023-09-05T00:00:00Z"))
    customer(api, timezone=timezone)
    plan(api, amount_cents=1000)
    subscribe(
        api,
        billing_time="anniversary",
        subscription_at="2023-09-05T00:00:00Z",
        ending_at="2023-09-06T00:00:00Z",
    )
    clock(api, "2023-09-06T06:15:00Z")
    [invoice] = invoices(api)
    assert (
        invoice["fees_amount_cents"] == 67 if timezone == "Europe/Paris" else invoice["fees_amount_cents"] > 0
    )
    assert invoice["issuing_date"] == issuing
    assert invoice["billing_periods"][0]["invoicing_reason"] == "subscription_terminating"


def test_ex21_ending_at_on_billing_day_bills_the_previous_full_period(api, runtime):
    start_clock(runtime, at("2023-09-05T00:00:00Z"))
    customer(api)
    plan(api, amount_cents=1000)
    subscribe(api, billing_time="anniversary", ending_at="2023-10-05T00:00:00Z")
    clock(api, "2023-10-05T03:00:00Z")
    [invoice] = invoices(api)
    assert invoice["fees_amount_cents"] == 1000
    period = invoice["billing_periods"][0]
    assert period["subscription_from_datetime"] == "2023-09-05T00:00:00Z"
    assert period["subscription_to_datetime"] == "2023-10-04T23:59:59Z"


def test_ex22_month_end_anniversary_boundaries(api, runtime):
    start_clock(runtime, at("2024-01-31T01:00:00Z"))
    customer(api)
    plan(api, amount_cents=1000)
    subscribe(api, billing_time="anniversary")
    clock(api, "2024-04-30T02:00:00Z")
    periods = [i["billing_periods"][0] for i in invoices(api)]
    assert [(p["subscription_from_datetime"], p["subscription_to_datetime"]) for p in periods] == [
        ("2024-01-31T00:00:00Z", "2024-02-28T23:59:59Z"),
        ("2024-02-29T00:00:00Z", "2024-03-30T23:59:59Z"),
        ("2024-03-31T00:00:00Z", "2024-04-29T23:59:59Z"),
    ]
    assert periods[0]["charges_from_datetime"] == "2024-01-31T01:00:00Z"
    assert [i["issuing_date"] for i in invoices(api)] == ["2024-02-29", "2024-03-31", "2024-04-30"]


def test_ex22_advance_anniversary_boundaries(api, runtime):
    start_clock(runtime, at("2024-01-30T00:00:00Z"))
    customer(api)
    plan(api, amount_cents=1000, pay_in_advance=True)
    subscribe(api, billing_time="anniversary")
    clock(api, "2024-02-29T02:00:00Z")
    first, second = (i["billing_periods"][0] for i in invoices(api))
    assert (first["subscription_from_datetime"], first["subscription_to_datetime"]) == (
        "2024-01-30T00:00:00Z",
        "2024-02-28T23:59:59Z",
    )
    assert (second["subscription_from_datetime"], second["subscription_to_datetime"]) == (
        "2024-02-29T00:00:00Z",
        "2024-03-29T23:59:59Z",
    )
    assert (second["charges_from_datetime"], second["charges_to_datetime"]) == (
        "2024-01-30T00:00:00Z",
        "2024-02-28T23:59:59Z",
    )


def test_ex22_leap_calendar_advance(api, runtime):
    start_clock(runtime, at("2024-01-01T00:00:00Z"))
    customer(api)
    plan(api, amount_cents=700, pay_in_advance=True)
    subscribe(api)
    clock(api, "2024-02-01T01:00:00Z")
    feb = invoices(api)[-1]
    period = feb["billing_periods"][0]
    assert (period["subscription_from_datetime"], period["subscription_to_datetime"]) == (
        "2024-02-01T00:00:00Z",
        "2024-02-29T23:59:59Z",
    )
    assert (period["charges_from_datetime"], period["charges_to_datetime"]) == (
        "2024-01-01T00:00:00Z",
        "2024-01-31T23:59:59Z",
    )
    assert feb["total_amount_cents"] == 700


def test_ex25_upgrade_same_day_from_free_plan(api, runtime):
    start_clock(runtime, at("2024-04-24T10:00:00Z"))
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    customer(api)
    plan(api, "free", amount_cents=0)
    plan(api, "paid", amount_cents=2000)
    subscribe(api, "free")
    clock(api, "2024-04-24T11:00:00Z")
    subscribe(api, "paid")
    clock(api, "2024-04-24T11:00:05Z")
    [upgrade] = invoices(api)
    assert upgrade["total_amount_cents"] == 0
    period = upgrade["billing_periods"][0]
    assert period["invoicing_reason"] == "subscription_terminating"
    assert (period["subscription_from_datetime"], period["subscription_to_datetime"]) == (
        "2024-04-24T00:00:00Z",
        "2024-04-24T11:00:00Z",
    )
    assert (period["charges_from_datetime"], period["charges_to_datetime"]) == (
        "2024-04-24T10:00:00Z",
        "2024-04-24T11:00:00Z",
    )
    clock(api, "2024-04-26T11:00:00Z")
    terminate(api)
    clock(api, "2024-04-26T11:00:01Z")
    last = invoices(api)[-1]
    assert (last["fees_amount_cents"], last["taxes_amount_cents"], last["total_amount_cents"]) == (
        200,
        40,
        240,
    )
    assert last["billing_periods"][0]["charges_from_datetime"] == "2024-04-24T11:00:00Z"


def test_ex1_arrears_termination_with_tax_in_a_draft(api, runtime):
    start_clock(runtime, at("2022-12-15T00:00:00Z"))
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    customer(api, billing_configuration={"invoice_grace_period": 3})
    plan(api, amount_cents=1000)
    subscribe(api)
    clock(api, "2022-12-20T06:00:00Z")
    terminate(api)
    clock(api, "2022-12-20T06:00:01Z")
    [draft] = invoices(api)
    assert draft["status"] == "draft"
    assert (draft["fees_amount_cents"], draft["taxes_amount_cents"], draft["total_amount_cents"]) == (
        194,
        39,
        233,
    )
    assert fee_of(draft, "subscription")["precise_amount"] == "1.93548387096774194"
    refreshed = ok(api.put(f"/invoices/{draft['lago_id']}/refresh"))["invoice"]
    assert refreshed["total_amount_cents"] == 233
    assert [f["amount_cents"] for f in refreshed["fees"]] == [194]


def test_ex2_advance_start_with_tax(api, runtime):
    start_clock(runtime, at("2023-02-08T10:00:00Z"))
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    customer(api)
    plan(api, amount_cents=5000, pay_in_advance=True)
    subscribe(api)
    clock(api, "2023-02-08T10:00:01Z")
    [invoice] = invoices(api)
    assert (invoice["fees_amount_cents"], invoice["taxes_amount_cents"], invoice["total_amount_cents"]) == (
        3750,
        750,
        4500,
    )
    assert invoice["applied_taxes"][0]["fees_amount_cents"] == 3750
    assert invoice["applied_taxes"][0]["amount_cents"] == 750


def test_ex9_advance_draft_with_grace_then_finalized(api, runtime):
    start_clock(runtime, at("2022-12-15T09:00:00Z"))
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    customer(api, billing_configuration={"invoice_grace_period": 3})
    plan(api, amount_cents=1000, pay_in_advance=True)
    subscribe(api)
    clock(api, "2022-12-15T09:00:01Z")
    [draft] = invoices(api)
    assert (draft["status"], draft["number"].endswith("-DRAFT"), draft["total_amount_cents"]) == (
        "draft",
        True,
        658,
    )
    assert draft["issuing_date"] == "2022-12-18"
    clock(api, "2022-12-18T01:00:00Z")
    [final] = invoices(api)
    assert final["status"] == "finalized"
    assert final["total_amount_cents"] == 658
    assert final["issuing_date"] == "2022-12-18"
    assert not final["number"].endswith("-DRAFT")
