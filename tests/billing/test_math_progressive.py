"""Usage thresholds (metering.md §5, V35) and the progressive-billing credit (billing.md §5.3,
Ex16, Ex17)."""

from __future__ import annotations

from decimal import Decimal

from billow.billing.math import (
    FeeLine,
    InvoiceInput,
    LifetimeUsage,
    ProgressiveBillingFee,
    ProgressiveBillingInvoice,
    UsageThreshold,
    apply_progressive_billing_credits,
    compute_invoice,
    grouping,
    passed_usage_thresholds,
    to_credit_amount_cents,
)

D = Decimal
EX17 = (
    UsageThreshold(200),
    UsageThreshold(500),
    UsageThreshold(700),
    UsageThreshold(1000, recurring=True),
)


def usage_fee(amount: int, fee_id: str = "usage") -> FeeLine:
    return FeeLine(
        id=fee_id,
        fee_type="charge",
        amount_cents=amount,
        subscription_id="sub",
        charge_id="charge",
        billable_metric_id="bm",
    )


def pb_invoice(invoice_id: str, amount: int, **kwargs: int) -> ProgressiveBillingInvoice:
    return ProgressiveBillingInvoice(
        id=invoice_id,
        subscription_id="sub",
        fees_amount_cents=amount,
        fees=(ProgressiveBillingFee(charge_id="charge", amount_cents=amount),),
        **kwargs,
    )


class Period:
    """A billing period with progressive billing: usage grows, thresholds are checked."""

    def __init__(self, thresholds: tuple[UsageThreshold, ...], invoiced_usage: int = 0) -> None:
        self.thresholds = thresholds
        self.invoiced_usage = invoiced_usage
        self.usage = 0
        self.latest: ProgressiveBillingInvoice | None = None

    def add(self, amount: int) -> int | None:
        """Add usage; return the total of the progressive invoice created, if any."""
        self.usage += amount
        billed = self.latest.fees_amount_cents if self.latest else 0
        lifetime = LifetimeUsage(
            invoiced_usage_amount_cents=self.invoiced_usage, current_usage_amount_cents=self.usage
        )
        if not passed_usage_thresholds(self.thresholds, lifetime, billed):
            return None
        totals = compute_invoice(
            InvoiceInput(
                kind="progressive_billing",
                currency="EUR",
                fees=(usage_fee(self.usage),),
                progressive_billing_invoices=() if self.latest is None else (self.latest,),
            )
        )
        self.latest = pb_invoice(f"pb{self.usage}", self.usage)
        return totals.total_amount_cents


def test_ex17_fixed_and_recurring_thresholds() -> None:
    period = Period(EX17)
    assert [period.add(220), period.add(220), period.add(220), period.add(220)] == [220, None, 440, 220]
    assert [period.add(2200), period.add(2200)] == [2200, 2200]
    assert period.latest is not None
    totals = compute_invoice(
        InvoiceInput(
            kind="subscription",
            currency="EUR",
            fees=(FeeLine(id="plan", fee_type="subscription", amount_cents=3100), usage_fee(period.usage)),
            progressive_billing_invoices=(period.latest,),
        )
    )
    assert totals.progressive_billing_credit_amount_cents == 5280
    assert totals.total_amount_cents == 3100
    # next period: invoiced usage 5280; the first 2200 of usage crosses the recurring threshold
    assert Period(EX17, invoiced_usage=5280).add(2200) == 2200


def test_v35_ex16_single_threshold() -> None:
    period = Period((UsageThreshold(20000),))
    assert period.add(20000) == 20000
    assert period.add(20000) is None
    assert period.latest is not None
    totals = compute_invoice(
        InvoiceInput(
            kind="subscription",
            currency="EUR",
            fees=(FeeLine(id="plan", fee_type="subscription", amount_cents=3100), usage_fee(40000)),
            progressive_billing_invoices=(period.latest,),
        )
    )
    assert (totals.fees_amount_cents, totals.progressive_billing_credit_amount_cents) == (43100, 20000)
    assert totals.total_amount_cents == 23100
    # a draft (grace period) gets the same numbers
    draft = compute_invoice(
        InvoiceInput(
            kind="subscription",
            currency="EUR",
            fees=(FeeLine(id="plan", fee_type="subscription", amount_cents=3100), usage_fee(40000)),
            progressive_billing_invoices=(period.latest,),
            finalizing=False,
        )
    )
    assert draft.total_amount_cents == 23100
    # next periods: invoiced usage already above the only (non-recurring) threshold
    assert Period((UsageThreshold(20000),), invoiced_usage=43100).add(40000) is None


def test_ex16_termination_and_upgrade() -> None:
    latest = pb_invoice("pb", 20000)
    for subscription_fee, total in ((1800, 1800), (1700, 1700)):
        totals = compute_invoice(
            InvoiceInput(
                kind="subscription",
                currency="EUR",
                fees=(
                    FeeLine(id="plan", fee_type="subscription", amount_cents=subscription_fee),
                    usage_fee(20000),
                ),
                progressive_billing_invoices=(latest,),
            )
        )
        assert totals.fees_amount_cents == subscription_fee + 20000
        assert totals.total_amount_cents == total


def test_threshold_check_edges() -> None:
    assert passed_usage_thresholds((), LifetimeUsage(current_usage_amount_cents=10)) == ()
    # usage below what was billed progressively (e.g. after a correction): nothing
    assert passed_usage_thresholds(EX17, LifetimeUsage(current_usage_amount_cents=100), 200) == ()
    # historical usage counts as invoiced
    assert passed_usage_thresholds(
        EX17, LifetimeUsage(historical_usage_amount_cents=600, current_usage_amount_cents=150)
    ) == (UsageThreshold(700),)
    # a jump over every fixed threshold and past the recurring one
    passed = passed_usage_thresholds(EX17, LifetimeUsage(current_usage_amount_cents=1800))
    assert passed == EX17


def test_credit_rule_subtracts_coupons_drawn_and_credit_notes() -> None:
    latest = pb_invoice("pb", 5000, coupons_amount_cents=500, credits_drawn_amount_cents=1000)
    assert to_credit_amount_cents(latest) == 3500
    noted = pb_invoice("pb", 5000, credit_notes_credit_amount_cents=6000)
    assert to_credit_amount_cents(noted) == 0


def test_credit_is_capped_at_matching_charge_fees_and_the_excess_returned() -> None:
    latest = pb_invoice("pb", 5000)
    other_charge = FeeLine(
        id="other", fee_type="charge", amount_cents=9000, subscription_id="sub", charge_id="x"
    )
    result = apply_progressive_billing_credits([usage_fee(3000), other_charge], [latest])
    credit = result.credits[0]
    assert (credit.amount_cents, credit.matching_charge_fees_amount_cents, credit.excess_amount_cents) == (
        3000,
        3000,
        2000,
    )
    assert result.progressive_billing_credit_amount_cents == 3000
    # the spread is capped at the fee amount and only hits the matching fee
    assert [f.precise_coupons_amount_cents for f in result.fees] == [D(3000), D(0)]
    assert dict(result.fee_shares) == {"usage": D(3000)}


def test_spread_matches_filter_and_grouping_within_the_subscription() -> None:
    latest = ProgressiveBillingInvoice(
        id="pb",
        subscription_id="sub",
        fees_amount_cents=300,
        fees=(
            ProgressiveBillingFee(charge_id="charge", charge_filter_id="eu", amount_cents=100),
            ProgressiveBillingFee(charge_id="charge", grouped_by=(("region", "us"),), amount_cents=200),
        ),
    )
    fees = [
        FeeLine(
            id="eu",
            fee_type="charge",
            amount_cents=500,
            subscription_id="sub",
            charge_id="charge",
            charge_filter_id="eu",
        ),
        FeeLine(
            id="us",
            fee_type="charge",
            amount_cents=500,
            subscription_id="sub",
            charge_id="charge",
            grouped_by=(("region", "us"),),
        ),
        FeeLine(
            id="elsewhere", fee_type="charge", amount_cents=500, subscription_id="other", charge_id="charge"
        ),
    ]
    result = apply_progressive_billing_credits(fees, [latest])
    assert result.progressive_billing_credit_amount_cents == 300
    assert [f.precise_coupons_amount_cents for f in result.fees] == [D(100), D(200), D(0)]


def test_grouping_normalizes_grouped_by() -> None:
    assert grouping({"region": "us", "cloud": "aws"}) == (("cloud", "aws"), ("region", "us"))
    assert grouping(None) == grouping({}) == ()
