"""Free trials (billing.md §2.5, §8 Ex20): no fee while in trial, a prorated fee when it ends."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.billing.helpers import (
    customer,
    drain,
    fee_of,
    invoices,
    plan,
    start_clock,
    subscribe,
    terminate,
    tick_at,
)


def test_ex20_upgrade_during_the_trial_keeps_the_initial_start(api, runtime):
    start_clock(runtime, datetime(2024, 3, 5, 12, 12, tzinfo=UTC))
    customer(api)
    plan(api, "small", amount_cents=5_000_000, pay_in_advance=True, trial_period=10)
    plan(api, "big", amount_cents=10_000_000, pay_in_advance=True, trial_period=13)
    subscribe(api, "small")
    drain(api, runtime)
    tick_at(runtime, datetime(2024, 3, 10, 9, tzinfo=UTC))
    subscribe(api, "big")
    drain(api, runtime)
    upgrade = invoices(api)
    assert all(i["fees_amount_cents"] == 0 for i in upgrade)
    tick_at(runtime, datetime(2024, 3, 18, 12, tzinfo=UTC))
    assert [i for i in invoices(api) if i["fees_amount_cents"]] == []
    tick_at(runtime, datetime(2024, 3, 18, 13, tzinfo=UTC))
    trial_end = invoices(api)[-1]
    assert fee_of(trial_end, "subscription")["amount_cents"] == 4_516_129
    assert trial_end["billing_periods"][0]["invoicing_reason"] == "subscription_starting"
    tick_at(runtime, datetime(2024, 4, 1, tzinfo=UTC))
    assert fee_of(invoices(api)[-1], "subscription")["amount_cents"] == 10_000_000


def test_ex20_a_recreated_subscription_does_not_restart_the_trial(api, runtime):
    start_clock(runtime, datetime(2024, 3, 4, 21, tzinfo=UTC))
    customer(api)
    plan(api, amount_cents=3500, pay_in_advance=True, trial_period=7)
    subscribe(api)
    drain(api, runtime)
    assert invoices(api) == []
    tick_at(runtime, datetime(2024, 3, 11, 22, tzinfo=UTC))
    [first] = invoices(api)
    assert first["fees_amount_cents"] == 2371
    tick_at(runtime, datetime(2024, 3, 11, 23, tzinfo=UTC))
    terminate(api)
    drain(api, runtime)
    tick_at(runtime, datetime(2024, 3, 11, 23, 5, tzinfo=UTC))
    subscribe(api)
    drain(api, runtime)
    assert fee_of(invoices(api)[-1], "subscription")["amount_cents"] == 2371


def test_arrears_trial_bills_from_the_trial_end(api, runtime):
    start_clock(runtime, datetime(2024, 1, 10, tzinfo=UTC))
    customer(api)
    plan(api, amount_cents=3100, trial_period=11)
    subscribe(api)
    drain(api, runtime)
    tick_at(runtime, datetime(2024, 2, 1, tzinfo=UTC))
    [invoice] = invoices(api)
    # Trial from January 10 to 21: January 21 → 31 is billed (11 days).
    assert invoice["fees_amount_cents"] == 1100


def test_trial_running_on_the_billing_day_bills_no_subscription_fee(api, runtime):
    start_clock(runtime, datetime(2024, 1, 10, tzinfo=UTC))
    customer(api, finalize_zero_amount_invoice="finalize")
    plan(api, amount_cents=3100, trial_period=30)
    subscribe(api)
    drain(api, runtime)
    tick_at(runtime, datetime(2024, 2, 1, tzinfo=UTC))
    [invoice] = invoices(api)
    # Still in trial on the billing day: no subscription fee at all (§3.7).
    assert (invoice["fees_amount_cents"], invoice["fees"]) == (0, [])
    tick_at(runtime, datetime(2024, 3, 1, tzinfo=UTC))
    # February from the trial end (February 9, 00:00) to the 29th: 21 days of 29.
    assert fee_of(invoices(api)[-1], "subscription")["amount_cents"] == 2245
