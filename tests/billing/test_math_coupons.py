"""Coupons applied to an invoice (billing.md §6.1): order, base, amount, distribution, lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from billow.billing.math import (
    AppliedCoupon,
    FeeLine,
    InvoiceInput,
    TaxRate,
    apply_coupons,
    compute_invoice,
    coupon_amount,
    order_applied_coupons,
)
from billow.billing.math.coupons import CouponType, Frequency

D = Decimal
T0 = datetime(2024, 1, 1, tzinfo=UTC)
VAT10 = TaxRate("vat10", D(10))
VAT20 = TaxRate("vat20", D(20))


def coupon(
    coupon_id: str,
    *,
    kind: CouponType = "fixed_amount",
    frequency: Frequency = "once",
    amount: int = 0,
    rate: str = "0",
    day: int = 0,
    plans: frozenset[str] = frozenset(),
    metrics: frozenset[str] = frozenset(),
    currency: str = "EUR",
    duration: int | None = None,
    remaining: int | None = None,
) -> AppliedCoupon:
    return AppliedCoupon(
        id=coupon_id,
        coupon_type=kind,
        frequency=frequency,
        created_at=T0 + timedelta(days=day),
        amount_cents=amount,
        amount_currency=currency,
        percentage_rate=D(rate),
        frequency_duration_remaining=duration,
        remaining_amount_cents=remaining,
        limited_plan_ids=plans,
        limited_billable_metric_ids=metrics,
    )


def charge(
    fee_id: str, amount: int, *, plan: str = "p1", metric: str = "bm", taxes: tuple[TaxRate, ...] = ()
) -> FeeLine:
    return FeeLine(
        id=fee_id,
        fee_type="charge",
        amount_cents=amount,
        taxes=taxes,
        subscription_id=f"sub-{plan}",
        plan_id=plan,
        charge_id=f"charge-{fee_id}",
        billable_metric_id=metric,
    )


def ex13_fees() -> tuple[FeeLine, ...]:
    """Two subscriptions, four charges each (1/unit), usage 10/20/30/40, taxes 10/20/10/10 %."""
    rates = (VAT10, VAT20, VAT10, VAT10)
    fees = []
    for plan, metrics in (("plan1", ("bm1", "bm2", "bm3", "bm4")), ("plan2", ("bm5", "bm6", "bm7", "bm8"))):
        for index, metric in enumerate(metrics):
            fees.append(
                charge(
                    f"{plan}-{metric}", 1000 * (index + 1), plan=plan, metric=metric, taxes=(rates[index],)
                )
            )
    return tuple(fees)


EX13_COUPONS = (
    coupon("c3", amount=500, day=0),
    coupon("c2", amount=1000, day=1, plans=frozenset({"plan2"})),
    coupon("c1", amount=2000, day=2, metrics=frozenset({"bm1", "bm2"})),
)


def test_ex13_per_fee_coupon_shares() -> None:
    result = apply_coupons(
        ex13_fees(), EX13_COUPONS, currency="EUR", sub_total_excluding_taxes_amount_cents=20000
    )
    assert [f.precise_coupons_amount_cents for f in result.fees] == [
        D("676.47059"),
        D("1352.94117"),
        D("88.23529"),
        D("117.64706"),
        D("126.47059"),
        D("252.94118"),
        D("379.41176"),
        D("505.88235"),
    ]
    assert [c.applied_coupon_id for c in result.credits] == ["c1", "c2", "c3"]
    assert [c.amount_cents for c in result.credits] == [2000, 1000, 500]
    assert [c.base_amount_cents for c in result.credits] == [D(3000), D(10000), D(17000)]
    assert result.coupons_amount_cents == 3500
    assert result.sub_total_excluding_taxes_amount_cents == 16500
    assert all(o.terminated and o.remaining_amount_cents == 0 for o in result.outcomes)


def test_ex13_invoice_totals() -> None:
    totals = compute_invoice(
        InvoiceInput(kind="subscription", currency="EUR", fees=ex13_fees(), applied_coupons=EX13_COUPONS)
    )
    assert [f.taxes.taxes_amount_cents for f in totals.fees] == [32, 129, 291, 388, 87, 349, 262, 349]
    assert totals.fees_amount_cents == 20000
    assert totals.coupons_amount_cents == 3500
    assert totals.sub_total_excluding_taxes_amount_cents == 16500
    assert totals.taxes_amount_cents == 1889
    assert totals.total_amount_cents == 18389
    assert totals.fees[0].coupon_share == D("676.47059")


def test_ex14_coupon_limited_to_plan2_with_two_plan_taxes() -> None:
    plan1 = FeeLine(id="plan1", fee_type="subscription", amount_cents=17900, taxes=(VAT10,), plan_id="p1")
    plan2 = FeeLine(
        id="plan2",
        fee_type="subscription",
        amount_cents=39900,
        taxes=(TaxRate("a", D(10)), TaxRate("b", D(10))),
        plan_id="p2",
    )
    forever = coupon("c", frequency="forever", amount=25000, plans=frozenset({"p2"}))
    totals = compute_invoice(
        InvoiceInput(kind="subscription", currency="EUR", fees=(plan1, plan2), applied_coupons=(forever,))
    )
    assert totals.fees_amount_cents == 57800
    assert totals.coupons_amount_cents == 25000
    assert [f.coupon_share for f in totals.fees] == [D(0), D(25000)]
    assert [f.taxes.taxes_amount_cents for f in totals.fees] == [1790, 2980]
    assert totals.taxes_amount_cents == 4770
    assert totals.taxes_rate == D("14.54268")
    assert totals.total_amount_cents == 37570
    outcome = totals.coupon_outcomes[0]
    assert outcome.applied and not outcome.terminated


def test_order_metric_limited_then_plan_limited_then_unlimited_then_created_at() -> None:
    coupons = [
        coupon("unlimited-old", day=0),
        coupon("plan", day=3, plans=frozenset({"p"})),
        coupon("metric-new", day=5, metrics=frozenset({"m"})),
        coupon("metric-old", day=4, metrics=frozenset({"m"})),
        coupon("unlimited-new", day=1),
    ]
    assert [c.id for c in order_applied_coupons(coupons)] == [
        "metric-old",
        "metric-new",
        "plan",
        "unlimited-old",
        "unlimited-new",
    ]


def test_percentage_amount_and_cap() -> None:
    assert coupon_amount(coupon("p", kind="percentage", rate="12.5"), D(1001)) == D(125)  # 125.125
    assert coupon_amount(coupon("p", kind="percentage", rate="10"), D(1005)) == D(101)  # 100.5 half-up
    assert coupon_amount(coupon("p", kind="percentage", rate="150"), D("99.5")) == D("99.5")


def test_fixed_amounts_once_uses_the_remaining_amount() -> None:
    assert coupon_amount(coupon("f", frequency="recurring", amount=1000), D(400)) == D(400)
    assert coupon_amount(coupon("f", frequency="forever", amount=1000), D(4000)) == D(1000)
    assert coupon_amount(coupon("f", amount=1000, remaining=300), D(4000)) == D(300)


def test_fixed_coupon_in_another_currency_is_skipped() -> None:
    result = apply_coupons(
        [charge("a", 1000)],
        [coupon("usd", amount=100, currency="USD")],
        currency="EUR",
        sub_total_excluding_taxes_amount_cents=1000,
    )
    assert result.credits == ()
    assert result.outcomes[0].skipped_reason == "currency_mismatch"
    # a percentage coupon has no currency
    pct = coupon("pct", kind="percentage", rate="10", currency="USD")
    applied = apply_coupons(
        [charge("a", 1000)], [pct], currency="EUR", sub_total_excluding_taxes_amount_cents=1000
    )
    assert applied.coupons_amount_cents == 100


def test_limited_coupon_without_matching_fee_is_skipped() -> None:
    result = apply_coupons(
        [charge("a", 1000, plan="p1")],
        [coupon("c", amount=100, plans=frozenset({"other"}))],
        currency="EUR",
        sub_total_excluding_taxes_amount_cents=1000,
    )
    assert result.coupons_amount_cents == 0
    assert result.outcomes[0].skipped_reason == "no_matching_fees"
    assert not result.outcomes[0].terminated


def test_metric_limited_coupon_only_matches_charge_fees() -> None:
    sub = FeeLine(id="sub", fee_type="subscription", amount_cents=1000, plan_id="p1", billable_metric_id="bm")
    result = apply_coupons(
        [sub, charge("a", 500)],
        [coupon("c", amount=800, metrics=frozenset({"bm"}))],
        currency="EUR",
        sub_total_excluding_taxes_amount_cents=1500,
    )
    assert result.credits[0].amount_cents == 500
    assert dict(result.fee_coupon_shares) == {"a": D(500)}


def test_application_stops_when_the_sub_total_reaches_zero() -> None:
    coupons = [
        coupon("big", amount=5000, day=0),
        coupon("next", frequency="recurring", amount=10, day=1, duration=3),
    ]
    result = apply_coupons(
        [charge("a", 1000)], coupons, currency="EUR", sub_total_excluding_taxes_amount_cents=1000
    )
    assert result.coupons_amount_cents == 1000
    assert result.sub_total_excluding_taxes_amount_cents == 0
    big, following = result.outcomes
    assert big.applied and not big.terminated and big.remaining_amount_cents == 4000
    assert following.skipped_reason == "sub_total_reached_zero"
    assert following.frequency_duration_remaining == 3


def test_once_fixed_terminates_when_consumed() -> None:
    result = apply_coupons(
        [charge("a", 1000)],
        [coupon("c", amount=1000, remaining=600)],
        currency="EUR",
        sub_total_excluding_taxes_amount_cents=1000,
    )
    assert result.coupons_amount_cents == 600
    assert result.outcomes[0].terminated
    assert result.outcomes[0].remaining_amount_cents == 0


def test_once_percentage_terminates_after_first_use() -> None:
    pct = coupon("c", kind="percentage", rate="10")
    result = apply_coupons(
        [charge("a", 1000)], [pct], currency="EUR", sub_total_excluding_taxes_amount_cents=1000
    )
    assert result.outcomes[0].terminated


def test_recurring_decrements_per_invoice_and_terminates_at_zero() -> None:
    fees = [charge("a", 1000)]
    two_left = coupon("c", frequency="recurring", amount=100, duration=2)
    first = apply_coupons(fees, [two_left], currency="EUR", sub_total_excluding_taxes_amount_cents=1000)
    assert (first.outcomes[0].frequency_duration_remaining, first.outcomes[0].terminated) == (1, False)
    last = coupon("c", frequency="recurring", amount=100, duration=1)
    second = apply_coupons(fees, [last], currency="EUR", sub_total_excluding_taxes_amount_cents=1000)
    assert (second.outcomes[0].frequency_duration_remaining, second.outcomes[0].terminated) == (0, True)


def test_forever_never_terminates() -> None:
    forever = coupon("c", frequency="forever", amount=5000)
    result = apply_coupons(
        [charge("a", 1000)], [forever], currency="EUR", sub_total_excluding_taxes_amount_cents=1000
    )
    assert result.coupons_amount_cents == 1000
    assert not result.outcomes[0].terminated


def test_distribution_is_pro_rata_and_capped_at_the_fee() -> None:
    fees = [charge("a", 1), charge("b", 2)]
    result = apply_coupons(
        fees, [coupon("c", amount=2)], currency="EUR", sub_total_excluding_taxes_amount_cents=3
    )
    assert [f.precise_coupons_amount_cents for f in result.fees] == [D("0.66667"), D("1.33333")]
    full = apply_coupons(
        fees, [coupon("c", amount=9)], currency="EUR", sub_total_excluding_taxes_amount_cents=3
    )
    assert [f.precise_coupons_amount_cents for f in full.fees] == [D(1), D(2)]


def test_fractional_limited_base_credits_whole_cents() -> None:
    # after a first coupon, the plan-limited base is 1000 − 333.33333 = 666.66667; a 5000 coupon
    # credits the truncated 666 cents and spreads exactly that.
    fees = [charge("a", 1000, plan="p1"), charge("b", 2000, plan="p2")]
    first = coupon("first", amount=1000, plans=frozenset({"p1", "p2"}), day=0)
    second = coupon("second", frequency="forever", amount=5000, plans=frozenset({"p1"}), day=1)
    result = apply_coupons(fees, [first, second], currency="EUR", sub_total_excluding_taxes_amount_cents=3000)
    credit = result.credits[1]
    assert credit.precise_amount_cents == D("666.66667")
    assert credit.amount_cents == 666
    assert result.coupons_amount_cents == 1666
    total_shares = sum(result.fee_coupon_shares.values(), D(0))
    assert total_shares == D(1666)


def test_drafts_and_zero_fees_take_no_coupons() -> None:
    c = coupon("c", amount=100)
    draft = compute_invoice(
        InvoiceInput(
            kind="subscription",
            currency="EUR",
            fees=(charge("a", 1000),),
            applied_coupons=(c,),
            finalizing=False,
        )
    )
    assert draft.coupons_amount_cents == 0 and draft.coupon_outcomes == ()
    zero = compute_invoice(
        InvoiceInput(kind="subscription", currency="EUR", fees=(charge("a", 0),), applied_coupons=(c,))
    )
    assert zero.coupons_amount_cents == 0 and zero.coupon_outcomes == ()
