"""Billing periods, boundaries and subscription-fee proration — pure functions over plain values.

No database, no web: dates, aware datetimes (UTC at the edges), IANA timezone names and
``Literal`` enums in; dates, datetimes, ints and Decimals out. The applicable timezone
(customer → billing entity → UTC) is chosen by callers.

Modules: :mod:`.shapes` (period shapes and durations), :mod:`.billing_day` (which days bill),
:mod:`.localtime` (local days as UTC instants, the proration day count), :mod:`.dates` (the
dates service: invoice-subscription boundaries), :mod:`.proration` (subscription-fee amount),
:mod:`.trials`, :mod:`.plans` (upgrade/downgrade comparison).
"""

from billow.subscriptions.periods.billing_day import is_anniversary_day, is_billing_day
from billow.subscriptions.periods.dates import (
    BillingDates,
    Schedule,
    base_date,
    billing_dates,
    downgrade_plan_date,
    end_of_current_period,
    invoice_billing_dates,
    previous_beginning_of_period,
    previous_period_on_termination,
)
from billow.subscriptions.periods.kinds import (
    BILLING_TIMES,
    INTERVALS,
    BillingTime,
    Interval,
    Period,
    PlanChange,
)
from billow.subscriptions.periods.localtime import (
    day_count,
    day_end_utc,
    day_start_utc,
    local_date,
    start_of_local_day,
)
from billow.subscriptions.periods.plans import is_upgrade, yearly_amount_cents
from billow.subscriptions.periods.proration import (
    FeeRule,
    SubscriptionFeeAmount,
    SubscriptionFeeFacts,
    fee_rule,
    prorated_amount,
    single_day_price,
    started_in_past,
    subscription_fee_amount,
)
from billow.subscriptions.periods.shapes import (
    is_first_month_of_period,
    iter_periods,
    next_period,
    period_containing,
    period_duration_days,
    previous_period,
)
from billow.subscriptions.periods.trials import (
    Trial,
    billable_from,
    has_trial,
    trial_end_datetime,
    trial_for,
)

__all__ = [
    "BILLING_TIMES",
    "INTERVALS",
    "BillingDates",
    "BillingTime",
    "FeeRule",
    "Interval",
    "Period",
    "PlanChange",
    "Schedule",
    "SubscriptionFeeAmount",
    "SubscriptionFeeFacts",
    "Trial",
    "base_date",
    "billable_from",
    "billing_dates",
    "day_count",
    "day_end_utc",
    "day_start_utc",
    "downgrade_plan_date",
    "end_of_current_period",
    "fee_rule",
    "has_trial",
    "invoice_billing_dates",
    "is_anniversary_day",
    "is_billing_day",
    "is_first_month_of_period",
    "is_upgrade",
    "iter_periods",
    "local_date",
    "next_period",
    "period_containing",
    "period_duration_days",
    "previous_beginning_of_period",
    "previous_period",
    "previous_period_on_termination",
    "prorated_amount",
    "single_day_price",
    "start_of_local_day",
    "started_in_past",
    "subscription_fee_amount",
    "trial_end_datetime",
    "trial_for",
    "yearly_amount_cents",
]
