"""Prepaid credits: wallets paying an invoice (billing.md §6.5), and the ongoing balance.

Wallets: active, positive balance, the invoice's currency, in ``priority ASC, created_at ASC``
order. The invoice's fees are grouped into buckets keyed by ``(fee_type, billable metric)``
(plus the event's target wallet code when the charge routes usage to a wallet); a bucket's cap
is ``Σ (amount − precise_coupons + taxes_precise − precise_credit_notes)`` over its fees (fees
with a zero sub-total are left out). Buckets are sorted by cap, largest first; when the caps fall
short of the invoice total by a rounding gap (0 < gap ≤ number of buckets) the gap is added to
the largest bucket. Each wallet then takes, from every bucket it applies to,
``min(bucket remaining, wallet remaining, invoice remaining)``.

A wallet applies to a bucket whose billable metric it targets (charge fees), whose fee type it
allows, or to every bucket when it has neither restriction; a bucket with a target wallet code
goes to that wallet only.

Decision: a wallet's consumption is whole cents, truncated (Lago writes the decimal sum into an
integer column, which truncates, while it derives the credits from the rounded sum); Billow
derives the credits from the same truncated cents, floored to 5 dp, so money and credits agree
and nothing ever exceeds the balance or the invoice total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from billow.billing.math.fees import exact, truncate_cents
from billow.core.money import ZERO, cents_to_amount, floor, round_half_up


@dataclass(frozen=True, slots=True)
class Wallet:
    """A customer wallet as the invoice sees it (``balance_cents`` is settled money)."""

    id: str
    balance_cents: int
    rate_amount: Decimal
    currency: str
    created_at: datetime
    priority: int = 50
    code: str | None = None
    active: bool = True
    allowed_fee_types: frozenset[str] = frozenset()
    billable_metric_ids: frozenset[str] = frozenset()

    @property
    def unrestricted(self) -> bool:
        return not self.allowed_fee_types and not self.billable_metric_ids


@dataclass(frozen=True, slots=True)
class WalletFee:
    """A fee of the invoice as the wallets see it, after coupons, taxes and credit notes."""

    fee_type: str
    sub_total_excluding_taxes_amount_cents: Decimal
    taxes_precise_amount_cents: Decimal = ZERO
    precise_credit_notes_amount_cents: Decimal = ZERO
    billable_metric_id: str | None = None
    target_wallet_code: str | None = None


@dataclass(frozen=True, slots=True)
class FeeBucket:
    """A group of fees wallets pay together, and how much they may pay on it."""

    fee_type: str
    billable_metric_id: str | None
    target_wallet_code: str | None
    cap: Decimal


@exact
def fee_buckets(fees: Sequence[WalletFee], total_amount_cents: int) -> tuple[FeeBucket, ...]:
    """Buckets by ``(fee_type, billable metric, target wallet)``, largest cap first, with the
    rounding gap to ``total_amount_cents`` added to the largest."""
    caps: dict[tuple[str, str | None, str | None], Decimal] = {}
    for fee in fees:
        if fee.sub_total_excluding_taxes_amount_cents == 0:
            continue
        cap = (
            fee.sub_total_excluding_taxes_amount_cents
            + fee.taxes_precise_amount_cents
            - fee.precise_credit_notes_amount_cents
        )
        if cap <= 0:
            continue
        key = (
            fee.fee_type,
            fee.billable_metric_id if fee.fee_type == "charge" else None,
            fee.target_wallet_code,
        )
        caps[key] = caps.get(key, ZERO) + cap
    ordered = sorted(caps.items(), key=lambda item: -item[1])
    if ordered:
        gap = Decimal(total_amount_cents) - sum((cap for _, cap in ordered), ZERO)
        if 0 < gap <= len(ordered):
            key, cap = ordered[0]
            ordered[0] = (key, cap + gap)
    return tuple(
        FeeBucket(fee_type=key[0], billable_metric_id=key[1], target_wallet_code=key[2], cap=cap)
        for key, cap in ordered
    )


def wallet_applies_to(wallet: Wallet, bucket: FeeBucket) -> bool:
    """Target wallet code first; then metric target, fee type, or no restriction."""
    if bucket.target_wallet_code:
        return wallet.code == bucket.target_wallet_code
    if bucket.fee_type == "charge" and bucket.billable_metric_id in wallet.billable_metric_ids:
        return True
    return bucket.fee_type in wallet.allowed_fee_types or wallet.unrestricted


def applicable_wallets(wallets: Sequence[Wallet], currency: str) -> list[Wallet]:
    """Active wallets with a positive balance in ``currency``, in application order."""
    return sorted(
        (w for w in wallets if w.active and w.balance_cents > 0 and w.currency == currency),
        key=lambda w: (w.priority, w.created_at),
    )


@exact
def credits_for_amount(amount_cents: int, wallet: Wallet) -> Decimal:
    """Credits worth ``amount_cents``: ``amount / rate_amount`` floored to 5 dp."""
    return floor(cents_to_amount(amount_cents, wallet.currency) / wallet.rate_amount, 5)


@dataclass(frozen=True, slots=True)
class WalletConsumption:
    """One outbound ``invoiced`` wallet transaction."""

    wallet_id: str
    amount_cents: int
    credit_amount: Decimal
    precise_amount_cents: Decimal
    balance_cents: int


@dataclass(frozen=True, slots=True)
class WalletsApplication:
    """The wallet transactions of an invoice and ``prepaid_credit_amount_cents``."""

    consumptions: tuple[WalletConsumption, ...]
    prepaid_credit_amount_cents: int
    buckets: tuple[FeeBucket, ...]


@exact
def apply_wallets(
    wallets: Sequence[Wallet], fees: Sequence[WalletFee], *, total_amount_cents: int, currency: str
) -> WalletsApplication:
    """§6.5 application to an invoice whose total (after credit notes) is ``total_amount_cents``."""
    if total_amount_cents <= 0:
        return WalletsApplication(consumptions=(), prepaid_credit_amount_cents=0, buckets=())
    buckets = fee_buckets(fees, total_amount_cents)
    remaining = [bucket.cap for bucket in buckets]
    invoice_remaining = Decimal(total_amount_cents)
    consumptions: list[WalletConsumption] = []
    for wallet in applicable_wallets(wallets, currency):
        used = ZERO
        for index, bucket in enumerate(buckets):
            if remaining[index] <= 0 or not wallet_applies_to(wallet, bucket):
                continue
            available = Decimal(wallet.balance_cents) - used
            if available <= 0:
                break
            amount = min(remaining[index], available, invoice_remaining)
            if amount <= 0:
                continue
            remaining[index] -= amount
            invoice_remaining -= amount
            used += amount
        cents = truncate_cents(used)
        if cents <= 0:
            continue
        invoice_remaining += used - cents
        consumptions.append(
            WalletConsumption(
                wallet_id=wallet.id,
                amount_cents=cents,
                credit_amount=credits_for_amount(cents, wallet),
                precise_amount_cents=used,
                balance_cents=wallet.balance_cents - cents,
            )
        )
    return WalletsApplication(
        consumptions=tuple(consumptions),
        prepaid_credit_amount_cents=sum(c.amount_cents for c in consumptions),
        buckets=buckets,
    )


@dataclass(frozen=True, slots=True)
class OngoingBalance:
    """A wallet's balances net of unbilled usage (§6.5)."""

    ongoing_usage_balance_cents: int
    ongoing_balance_cents: int
    credits_ongoing_usage_balance: Decimal
    credits_ongoing_balance: Decimal

    @property
    def depleted(self) -> bool:
        return self.ongoing_balance_cents <= 0


@exact
def ongoing_balance(wallet: Wallet, ongoing_usage_amount_cents: int) -> OngoingBalance:
    """``ongoing_balance = balance − ongoing usage``; credits at 5 dp (half-up, as stored)."""
    ongoing = wallet.balance_cents - ongoing_usage_amount_cents

    def credits(cents: int) -> Decimal:
        return round_half_up(cents_to_amount(cents, wallet.currency) / wallet.rate_amount, 5)

    return OngoingBalance(
        ongoing_usage_balance_cents=ongoing_usage_amount_cents,
        ongoing_balance_cents=ongoing,
        credits_ongoing_usage_balance=credits(ongoing_usage_amount_cents),
        credits_ongoing_balance=credits(ongoing),
    )
