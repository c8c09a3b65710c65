"""Subscription-fee amounts (billing.md §3.7) on the §8 examples, from boundaries to cents."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billow.subscriptions.periods import (
    Schedule,
    SubscriptionFeeAmount,
    SubscriptionFeeFacts,
    Trial,
    fee_rule,
    invoice_billing_dates,
    previous_beginning_of_period,
    prorated_amount,
    single_day_price,
    started_in_past,
    subscription_fee_amount,
    trial_for,
)


def utc(text: str) -> datetime:
    if "T" not in text:
        text += "T00:00:00"
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def sub(
    interval: str = "monthly",
    billing_time: str = "calendar",
    *,
    at: str,
    started: str | None = None,
    advance: bool = False,
    tz: str = "UTC",
    terminated: str | None = None,
    successor: str | None = None,
) -> Schedule:
    return Schedule(
        interval=interval,  # type: ignore[arg-type]
        billing_time=billing_time,  # type: ignore[arg-type]
        pay_in_advance=advance,
        timezone=tz,
        subscription_at=utc(at),
        started_at=utc(started or at),
        terminated_at=utc(terminated) if terminated else None,
        successor=successor,  # type: ignore[arg-type]
    )


def fee(schedule: Schedule, billing_at: str, amount_cents: int, **facts: object) -> SubscriptionFeeAmount:
    """Bill ``schedule`` at ``billing_at`` the way the billing package will."""
    dates = invoice_billing_dates(schedule, utc(billing_at))
    return subscription_fee_amount(
        SubscriptionFeeFacts(
            amount_cents=amount_cents,
            duration_days=dates.duration,
            from_datetime=dates.from_datetime,
            to_datetime=dates.to_datetime,
            timezone=schedule.timezone,
            pay_in_advance=schedule.pay_in_advance,
            billing_time=schedule.billing_time,
            terminated=schedule.terminated_at is not None,
            successor=schedule.successor,
            **facts,  # type: ignore[arg-type]
        )
    )


def test_ex1_arrears_termination() -> None:
    result = fee(sub(at="2022-12-15", terminated="2022-12-20T06:00:00"), "2022-12-20T06:00:00", 1000)
    assert result.rule == "terminated"
    assert result.days == 6
    assert result.precise_amount_cents == Decimal(
        "193.548387096774193548387096774193548387096774193548387096774"
    )
    assert result.amount_cents == 194  # 193.548… half-up


def test_ex2_pay_in_advance_start() -> None:
    calendar = fee(sub(at="2023-02-08T10:00:00", advance=True), "2023-02-08T10:00:00", 5000)
    assert (calendar.rule, calendar.days, calendar.amount_cents) == ("first_period", 21, 3750)
    assert calendar.precise_amount_cents == Decimal(3750)
    anniversary = fee(
        sub(billing_time="anniversary", at="2023-02-08T10:00:00", advance=True), "2023-02-08T10:00:00", 5000
    )
    assert (anniversary.rule, anniversary.days, anniversary.amount_cents) == ("full_period", None, 5000)
    # Los Angeles: 02-08T05:00Z is still Feb 7 → 22 days
    la = fee(
        sub(at="2023-02-08T05:00:00", advance=True, tz="America/Los_Angeles"), "2023-02-08T05:00:00", 5000
    )
    assert (la.days, la.amount_cents) == (22, 3929)


@pytest.mark.parametrize(
    ("tz", "created", "amount"),
    [
        ("America/Denver", "2023-06-16T05:00:00", 400),
        ("America/Halifax", "2023-06-16T05:00:00", 300),
        ("Europe/Paris", "2023-06-16T20:00:00", 300),
        ("Asia/Karachi", "2023-06-16T20:00:00", 200),
    ],
)
def test_ex3_weekly_timezone_proration(tz: str, created: str, amount: int) -> None:
    result = fee(sub("weekly", at=created, advance=True, tz=tz), created, 700)
    assert result.amount_cents == amount
    assert result.days == amount // 100


def test_ex4_upgrade_to_yearly_anniversary() -> None:
    new = sub("yearly", "anniversary", at="2023-06-29T12:12:00", started="2023-09-28T05:00:00", advance=True)
    result = fee(
        new,
        "2023-09-28T05:00:01",
        12000,
        has_previous_subscription=True,
        previous_subscription_upgraded=True,
    )
    assert (result.rule, result.days, result.amount_cents) == ("upgraded", 275, 9016)
    # the monthly invoices before the upgrade: advance + anniversary → full amount each time
    monthly = sub(billing_time="anniversary", at="2023-06-29T12:12:00", advance=True)
    assert fee(monthly, "2023-06-29T12:12:00", 1000).amount_cents == 1000
    assert fee(monthly, "2023-07-29T00:10:00", 1000, has_earlier_subscription_fee=True).amount_cents == 1000


def test_ex5_downgrade_prorates_the_first_yearly_fee() -> None:
    new = sub("yearly", "anniversary", at="2023-07-19T12:12:00", started="2023-11-19T00:10:00", advance=True)
    result = fee(new, "2023-11-19T00:10:00", 118800, has_previous_subscription=True)
    assert (result.rule, result.days, result.amount_cents) == ("first_period", 243, 78875)


def test_ex6_upgrade_between_advance_plans() -> None:
    new = sub(at="2024-01-01", started="2024-02-12T06:00:00", advance=True)
    result = fee(
        new,
        "2024-02-12T06:00:01",
        29000,
        has_previous_subscription=True,
        previous_subscription_upgraded=True,
    )
    assert (result.rule, result.days, result.amount_cents) == ("upgraded", 18, 18000)


def test_ex7_arrears_upgrade_and_termination() -> None:
    upgraded = sub(at="2024-01-01", terminated="2024-02-12T06:00:00", successor="upgrade")
    result = fee(upgraded, "2024-02-12T06:00:01", 2900, has_earlier_subscription_fee=True)
    assert (result.rule, result.days, result.amount_cents) == ("terminated", 11, 1100)
    terminated = sub(at="2024-01-01", terminated="2024-02-12T06:00:00")
    result = fee(terminated, "2024-02-12T06:00:00", 2900, has_earlier_subscription_fee=True)
    assert (result.rule, result.days, result.amount_cents) == ("terminated", 12, 1200)


@pytest.mark.parametrize(
    ("created", "amount_cents", "expected"),
    [
        ("2022-12-15T09:00:00", 1000, 548),  # Ex9: 17/31
        ("2023-01-08T09:00:00", 5000, 3871),  # Ex10: 24/31
    ],
)
def test_first_pay_in_advance_invoice(created: str, amount_cents: int, expected: int) -> None:
    assert fee(sub(at=created, advance=True), created, amount_cents).amount_cents == expected


@pytest.mark.parametrize(
    ("interval", "started", "billing_at", "days", "expected"),
    [
        ("weekly", "2023-02-01", "2023-02-06T00:10:00", 5, 71429),  # 5/7
        ("monthly", "2023-02-04", "2023-03-01T00:10:00", 25, 89286),  # 25/28
        ("quarterly", "2023-02-04", "2023-04-01T00:10:00", 56, 62222),  # 56/90
        ("yearly", "2022-02-01", "2023-01-01T00:10:00", 334, 91507),  # 334/365
    ],
)
def test_ex11_first_arrears_invoice_is_prorated(
    interval: str, started: str, billing_at: str, days: int, expected: int
) -> None:
    result = fee(sub(interval, at=started), billing_at, 100000)
    assert (result.rule, result.days, result.amount_cents) == ("first_period", days, expected)


def test_ex11_first_arrears_anniversary_invoice_is_full() -> None:
    # an anniversary period starts on the subscription day: the first period is whole
    result = fee(sub("monthly", "anniversary", at="2023-02-04"), "2023-03-04T00:10:00", 100000)
    assert (result.days, result.amount_cents) == (28, 100000)


def test_ex15_and_ex16_arrears_terminations() -> None:
    ex15 = fee(sub(at="2025-02-08T09:00:00", terminated="2025-02-21T10:00:00"), "2025-02-21T10:00:00", 10000)
    assert (ex15.days, ex15.amount_cents) == (14, 5000)
    ex16 = fee(sub(at="2022-12-01", terminated="2022-12-18"), "2022-12-18", 3100)
    assert (ex16.days, ex16.amount_cents) == (18, 1800)
    upgraded = fee(
        sub(at="2022-12-01", terminated="2022-12-18", successor="upgrade"), "2022-12-18T00:00:01", 3100
    )
    assert (upgraded.days, upgraded.amount_cents) == (17, 1700)


def test_ex21_ending_at() -> None:
    for tz in ("UTC", "Europe/Paris", "Asia/Bangkok", "America/Bogota"):
        schedule = sub("monthly", "anniversary", at="2023-09-05", terminated="2023-09-06T00:15:00", tz=tz)
        result = fee(schedule, "2023-09-06T00:15:00", 1000)
        assert (result.days, result.amount_cents) == (2, 67), tz
    on_billing_day = sub("monthly", "anniversary", at="2023-09-05", terminated="2023-10-05T00:15:00")
    result = fee(on_billing_day, "2023-10-05T00:15:00", 1000)
    assert (result.rule, result.days, result.amount_cents) == ("terminated", 30, 1000)


def test_ex25_upgrade_from_a_free_plan_then_termination() -> None:
    free = sub(at="2024-04-24T10:00:00", terminated="2024-04-24T11:00:00", successor="upgrade")
    assert fee(free, "2024-04-24T11:00:01", 0).amount_cents == 0
    new = sub(at="2024-04-24T10:00:00", started="2024-04-24T11:00:00", terminated="2024-04-26T11:00:00")
    result = fee(
        new, "2024-04-26T11:00:00", 2000, has_previous_subscription=True, previous_subscription_upgraded=True
    )
    assert (result.rule, result.days, result.amount_cents) == ("terminated", 3, 200)


def test_ex20_trial_end_billing() -> None:
    schedule = sub(at="2024-03-05T12:12:00", advance=True)
    trial = trial_for(utc("2024-03-05T12:12:00"), 10)
    result = fee(schedule, "2024-03-15T13:02:00", 5_000_000, trial=trial)
    assert (result.rule, result.days, result.amount_cents) == ("first_period", 17, 2_741_935)
    # upgrade on 03-10 to a plan with a 13-day trial counted from the initial start
    upgraded = sub(at="2024-03-05T12:12:00", started="2024-03-10T09:00:00", advance=True)
    longer = trial_for(utc("2024-03-05T12:12:00"), 13)
    result = fee(
        upgraded,
        "2024-03-18T13:02:00",
        10_000_000,
        trial=longer,
        has_previous_subscription=True,
        previous_subscription_upgraded=True,
        is_first_invoice=False,
    )
    assert (result.days, result.amount_cents) == (14, 4_516_129)
    # the upgraded rule reads the exact trial end: same amount
    as_upgraded = fee(
        upgraded,
        "2024-03-18T13:02:00",
        10_000_000,
        trial=longer,
        has_previous_subscription=True,
        previous_subscription_upgraded=True,
    )
    assert (as_upgraded.rule, as_upgraded.amount_cents) == ("upgraded", 4_516_129)


def test_ex20_trial_and_re_subscription() -> None:
    trial = trial_for(utc("2024-03-04T21:00:00"), 7)
    first = fee(sub(at="2024-03-04T21:00:00", advance=True), "2024-03-11T22:00:00", 3500, trial=trial)
    assert (first.days, first.amount_cents) == (21, 2371)
    # re-created at 23:05 with the same external id: the initial start is unchanged, trial over
    again = fee(sub(at="2024-03-11T23:05:00", advance=True), "2024-03-11T23:05:00", 3500, trial=trial)
    assert (again.days, again.amount_cents) == (21, 2371)


def test_trial_covering_the_window_bills_nothing() -> None:
    trial = trial_for(utc("2024-03-05T12:12:00"), 60)
    arrears = fee(sub(at="2024-03-05T12:12:00"), "2024-04-01T00:10:00", 5000, trial=trial)
    assert (arrears.amount_cents, arrears.days, arrears.precise_amount_cents) == (0, 0, Decimal(0))
    terminated = fee(sub(at="2024-03-05T12:12:00", terminated="2024-03-20"), "2024-03-20", 5000, trial=trial)
    assert (terminated.rule, terminated.amount_cents) == ("terminated", 0)


def test_trial_ending_inside_a_full_period_prorates_from_its_end() -> None:
    trial = trial_for(utc("2024-02-20T08:00:00"), 14)  # ends 2024-03-05T08:00
    schedule = sub(at="2024-02-20T08:00:00")
    result = fee(schedule, "2024-04-01T00:10:00", 3100, trial=trial, has_earlier_subscription_fee=True)
    assert (result.rule, result.days, result.amount_cents) == ("full_period", 27, 2700)
    over = fee(schedule, "2024-05-01T00:10:00", 3100, trial=trial, has_earlier_subscription_fee=True)
    assert (over.rule, over.days, over.amount_cents) == ("full_period", None, 3100)


def test_terminated_arrears_with_trial_ending_mid_window() -> None:
    trial = trial_for(utc("2024-03-01"), 10)  # ends 03-11
    schedule = sub(at="2024-03-01", terminated="2024-03-20T12:00:00")
    result = fee(schedule, "2024-03-20T12:00:00", 3100, trial=trial)
    assert (result.days, result.amount_cents) == (10, 1000)


def test_backdated_subscriptions() -> None:
    # created 2024-03-10, started 2024-02-15 (backdated), pay in advance: next billing day → full fee
    backdated = sub(at="2024-02-15", advance=True)
    assert started_in_past(backdated.started_at, utc("2024-03-10T10:00:00"))
    result = fee(backdated, "2024-04-01T00:10:00", 3000, started_in_past=True)
    assert (result.rule, result.amount_cents) == ("full_period", 3000)
    # arrears, started before the billed period: full fee too
    arrears = sub(at="2024-01-15")
    billed_from = previous_beginning_of_period(arrears, utc("2024-04-01T00:10:00"))
    assert billed_from == utc("2024-03-01")
    result = fee(
        arrears,
        "2024-04-01T00:10:00",
        3000,
        started_in_past=True,
        started_before_billed_period=arrears.started_at < billed_from,
    )
    assert (result.rule, result.amount_cents) == ("full_period", 3000)
    # arrears, started inside the billed period: prorated
    inside = sub(at="2024-03-16")
    result = fee(inside, "2024-04-01T00:10:00", 3100, started_in_past=True)
    assert (result.rule, result.days, result.amount_cents) == ("first_period", 16, 1600)


def test_rule_order() -> None:
    base = SubscriptionFeeFacts(
        amount_cents=100,
        duration_days=30,
        from_datetime=utc("2024-04-01"),
        to_datetime=utc("2024-04-30T23:59:59.999999"),
        timezone="UTC",
        pay_in_advance=False,
        billing_time="calendar",
    )
    assert fee_rule(base) == "first_period"
    assert fee_rule(replace(base, terminated=True)) == "terminated"
    assert fee_rule(replace(base, terminated=True, successor="upgrade")) == "terminated"
    # terminated by a downgrade: the old period is billed as usual
    assert fee_rule(
        replace(base, terminated=True, successor="downgrade", has_earlier_subscription_fee=True)
    ) == ("full_period")
    # a terminated pay-in-advance subscription is not prorated here (a credit note refunds it)
    assert fee_rule(replace(base, terminated=True, pay_in_advance=True)) == "first_period"
    after_upgrade = replace(base, has_previous_subscription=True, previous_subscription_upgraded=True)
    assert fee_rule(after_upgrade) == "upgraded"
    assert fee_rule(replace(after_upgrade, is_first_invoice=False)) == "first_period"
    assert fee_rule(replace(base, pay_in_advance=True, billing_time="anniversary")) == "full_period"
    assert fee_rule(
        replace(base, pay_in_advance=True, billing_time="anniversary", has_previous_subscription=True)
    ) == ("first_period")
    assert fee_rule(replace(base, started_in_past=True)) == "first_period"
    assert fee_rule(replace(base, started_in_past=True, started_before_billed_period=True)) == "full_period"


def test_decimal_helpers() -> None:
    assert single_day_price(1000, 31) == Decimal(
        "32.2580645161290322580645161290322580645161290322580645161290"
    )
    assert prorated_amount(1000, 6, 31) == Decimal(
        "193.548387096774193548387096774193548387096774193548387096774"
    )
    with pytest.raises(ValueError):
        prorated_amount(1000, 6, 0)
    with pytest.raises(ValueError):
        single_day_price(1000, 0)
    # ties round half-up, never to even
    half = subscription_fee_amount(
        SubscriptionFeeFacts(
            amount_cents=5,
            duration_days=2,
            from_datetime=utc("2024-04-01"),
            to_datetime=utc("2024-04-01T23:59:59.999999"),
            timezone="UTC",
            pay_in_advance=False,
            billing_time="calendar",
        )
    )
    assert (half.precise_amount_cents, half.amount_cents) == (Decimal("2.5"), 3)


def test_trial_value_object() -> None:
    assert trial_for(utc("2024-01-01"), 0) is None
    assert trial_for(utc("2024-01-01"), None) is None
    trial = trial_for(utc("2024-03-05T12:12:00"), Decimal("1.5"))
    assert isinstance(trial, Trial)
    assert trial.end == utc("2024-03-07T00:12:00")
