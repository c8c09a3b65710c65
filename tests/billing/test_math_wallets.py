"""Prepaid credits paying an invoice (billing.md §6.5, Ex18) and the ongoing balance (Ex19)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from billow.billing.math import (
    FeeLine,
    InvoiceInput,
    TaxRate,
    Wallet,
    WalletFee,
    apply_wallets,
    compute_invoice,
    credits_for_amount,
    fee_buckets,
    ongoing_balance,
)

D = Decimal
T0 = datetime(2024, 1, 1, tzinfo=UTC)
VAT24 = (TaxRate("vat24", D(24)),)


def wallet(
    wallet_id: str,
    balance: int,
    *,
    rate_amount: Decimal = D(1),
    currency: str = "EUR",
    created_at: datetime = T0,
    priority: int = 50,
    code: str | None = None,
    active: bool = True,
    allowed_fee_types: frozenset[str] = frozenset(),
    billable_metric_ids: frozenset[str] = frozenset(),
) -> Wallet:
    return Wallet(
        id=wallet_id,
        balance_cents=balance,
        rate_amount=rate_amount,
        currency=currency,
        created_at=created_at,
        priority=priority,
        code=code,
        active=active,
        allowed_fee_types=allowed_fee_types,
        billable_metric_ids=billable_metric_ids,
    )


def in_advance_fee(fee_id: str, amount: int, metric: str, taxes: tuple[TaxRate, ...] = ()) -> FeeLine:
    return FeeLine(
        id=fee_id,
        fee_type="charge",
        amount_cents=amount,
        taxes=taxes,
        subscription_id="sub",
        charge_id=f"charge-{metric}",
        billable_metric_id=metric,
    )


def test_ex18_wallet_limited_to_two_metrics() -> None:
    limited = wallet("w", 3900, billable_metric_ids=frozenset({"bm1", "bm2"}))

    other = compute_invoice(
        InvoiceInput(
            kind="in_advance_charge",
            currency="EUR",
            fees=(in_advance_fee("o", 1000, "bm3"),),
            wallets=(limited,),
        )
    )
    assert (other.prepaid_credit_amount_cents, other.total_amount_cents) == (0, 1000)

    first = compute_invoice(
        InvoiceInput(
            kind="in_advance_charge",
            currency="EUR",
            fees=(in_advance_fee("a", 1429, "bm1", VAT24),),
            wallets=(limited,),
        )
    )
    assert first.sub_total_including_taxes_amount_cents == 1772
    assert first.prepaid_credit_amount_cents == 1772
    assert (first.total_amount_cents, first.payment_status) == (0, "succeeded")
    consumption = first.wallet_consumptions[0]
    assert consumption.credit_amount == D("17.72")
    assert credits_for_amount(consumption.balance_cents, limited) == D("21.28")

    after_first = wallet("w", consumption.balance_cents, billable_metric_ids=frozenset({"bm1", "bm2"}))
    second = compute_invoice(
        InvoiceInput(
            kind="in_advance_charge",
            currency="EUR",
            fees=(in_advance_fee("b", 1427, "bm2", VAT24),),
            wallets=(after_first,),
        )
    )
    assert second.sub_total_including_taxes_amount_cents == 1769
    assert second.prepaid_credit_amount_cents == 1769
    assert credits_for_amount(second.wallet_consumptions[0].balance_cents, limited) == D("3.59")


def test_buckets_sorted_by_cap_and_gap_added_to_the_largest() -> None:
    fees = [
        WalletFee("charge", D(1429), D("342.96"), billable_metric_id="bm1"),
        WalletFee("charge", D(100), D("0.4"), billable_metric_id="bm1"),
        WalletFee("subscription", D(2000)),
        WalletFee("charge", D(0), billable_metric_id="bm9"),
    ]
    buckets = fee_buckets(fees, 3872)  # caps 3872.36: no gap to fill
    assert [(b.fee_type, b.billable_metric_id, b.cap) for b in buckets] == [
        ("subscription", None, D(2000)),
        ("charge", "bm1", D("1872.36")),
    ]
    reconciled = fee_buckets(fees, 3874)  # gap 1.64 ≤ 2 buckets
    assert reconciled[0].cap == D("2001.64")
    too_far = fee_buckets(fees, 3880)
    assert too_far[0].cap == D(2000)


def test_credit_notes_reduce_a_bucket() -> None:
    buckets = fee_buckets([WalletFee("charge", D(1000), D(200), D(300), billable_metric_id="m")], 900)
    assert buckets[0].cap == D(900)


def test_wallet_priority_then_creation_and_currency() -> None:
    wallets = [
        wallet("late", 1000, priority=1, created_at=T0 + timedelta(days=5)),
        wallet("usd", 1000, currency="USD", priority=1),
        wallet("default", 1000),
        wallet("early", 300, priority=1),
        wallet("empty", 0, priority=1),
        wallet("terminated", 1000, priority=1, active=False),
    ]
    result = apply_wallets(
        wallets, [WalletFee("subscription", D(1000))], total_amount_cents=1000, currency="EUR"
    )
    assert [(c.wallet_id, c.amount_cents) for c in result.consumptions] == [("early", 300), ("late", 700)]
    assert result.prepaid_credit_amount_cents == 1000


def test_applies_to_fee_types_and_metrics() -> None:
    fees = [
        WalletFee("subscription", D(500)),
        WalletFee("charge", D(300), billable_metric_id="bm1"),
        WalletFee("charge", D(200), billable_metric_id="bm2"),
    ]
    wallets = [
        wallet("subs", 10_000, priority=1, allowed_fee_types=frozenset({"subscription"})),
        wallet("bm2", 10_000, priority=2, billable_metric_ids=frozenset({"bm2"})),
        wallet("any", 50, priority=3),
    ]
    result = apply_wallets(wallets, fees, total_amount_cents=1000, currency="EUR")
    assert [(c.wallet_id, c.amount_cents) for c in result.consumptions] == [
        ("subs", 500),
        ("bm2", 200),
        ("any", 50),
    ]


def test_target_wallet_code_routes_a_bucket() -> None:
    fees = [WalletFee("charge", D(500), billable_metric_id="bm", target_wallet_code="vip")]
    wallets = [wallet("any", 10_000, priority=1), wallet("vip", 10_000, code="vip")]
    result = apply_wallets(wallets, fees, total_amount_cents=500, currency="EUR")
    assert [(c.wallet_id, c.amount_cents) for c in result.consumptions] == [("vip", 500)]


def test_consumption_never_exceeds_balance_or_total() -> None:
    fees = [
        WalletFee("charge", D("1000.4"), billable_metric_id="a"),
        WalletFee("charge", D("500.3"), billable_metric_id="b"),
    ]
    result = apply_wallets(
        [wallet("w", 10_000, billable_metric_ids=frozenset({"a"}))],
        fees,
        total_amount_cents=1501,
        currency="EUR",
    )
    # gap 0.3 goes to the larger bucket (1000.7); the wallet pays whole cents, truncated
    consumption = result.consumptions[0]
    assert (consumption.amount_cents, consumption.precise_amount_cents) == (1000, D("1000.7"))
    assert consumption.credit_amount == D(10)
    assert apply_wallets([wallet("w", 10_000)], fees, total_amount_cents=0, currency="EUR").consumptions == ()


def test_credits_use_the_rate_and_currency_exponent() -> None:
    assert credits_for_amount(1000, wallet("w", 1, rate_amount=D(3))) == D("3.33333")
    assert credits_for_amount(1000, wallet("w", 1, rate_amount=D(2), currency="JPY")) == D(500)


def test_ex19_ongoing_balance() -> None:
    w = wallet("w", 1000)
    assert ongoing_balance(w, 0).ongoing_balance_cents == 1000
    five_units = ongoing_balance(w, 500)
    assert (five_units.ongoing_balance_cents, five_units.credits_ongoing_balance) == (500, D(5))
    assert ongoing_balance(w, 600).ongoing_balance_cents == 400  # draft invoice 600
    assert ongoing_balance(w, 900).ongoing_balance_cents == 100  # + 3 units
    # the draft is finalized: the wallet pays 600 (6 credits), 300 of usage stays unbilled
    paid = apply_wallets(
        [w], [WalletFee("charge", D(600), billable_metric_id="bm")], total_amount_cents=600, currency="EUR"
    )
    assert paid.consumptions[0].credit_amount == D(6)
    after = ongoing_balance(wallet("w", paid.consumptions[0].balance_cents), 300)
    assert (after.ongoing_usage_balance_cents, after.ongoing_balance_cents) == (300, 100)
    assert after.credits_ongoing_usage_balance == D(3)
    assert ongoing_balance(w, 1200).depleted
