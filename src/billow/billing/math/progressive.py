"""Progressive billing: the usage-threshold crossing check and the credit of earlier invoices.

metering.md §5 and billing.md §5.3.

Crossing check (run on every lifetime-usage refresh): with ``billed`` the fees of the latest
progressive-billing invoice of the current period (it re-bills all usage to date),
``actual = current − billed`` (stop if negative), ``invoiced = historical + invoiced + billed``
and ``total = invoiced + actual``. While ``invoiced`` is below the largest fixed threshold, the
fixed thresholds with ``invoiced < amount ≤ total`` pass, and the recurring one passes when
``total − largest ≥ recurring``; once every fixed threshold is behind, the recurring threshold
passes when ``actual + (invoiced mod recurring) ≥ recurring``.

Credit rule: an invoice whose charges window holds a progressive-billing invoice of the same
subscription (the latest one) is credited, before taxes, with that invoice's
``fees − coupons − credits already drawn from it − its credit notes' credit amounts`` (floor 0),
capped at this invoice's charge fees of the same charges; the excess goes back through an
automatic credit note on the progressive invoice (``excess_amount_cents``).

Spread on fees, as Lago does it: each charge fee of the progressive invoice adds **its own
amount** to the ``precise_coupons_amount_cents`` of the matching fee of this invoice (same
charge, filter and grouping, within the same subscription), capped at that fee's amount. When
the progressive invoice had no coupon and no credit note, that equals the credit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from billow.billing.math.fees import FeeLine, GroupedBy, add_precise_discount, exact
from billow.core.money import ZERO


@dataclass(frozen=True, slots=True)
class UsageThreshold:
    """A usage threshold (plan or subscription level); at most one is ``recurring``."""

    amount_cents: int
    recurring: bool = False
    threshold_display_name: str | None = None


@dataclass(frozen=True, slots=True)
class LifetimeUsage:
    """The lifetime usage of a subscription (metering.md §5), in cents, pre-tax."""

    historical_usage_amount_cents: int = 0
    invoiced_usage_amount_cents: int = 0
    current_usage_amount_cents: int = 0


def passed_usage_thresholds(
    thresholds: Sequence[UsageThreshold],
    usage: LifetimeUsage,
    progressive_billed_amount_cents: int = 0,
) -> tuple[UsageThreshold, ...]:
    """The thresholds crossed now (fixed ones by ascending amount, then the recurring one).

    ``progressive_billed_amount_cents`` is ``fees_amount_cents`` of the latest finalized (or
    failed) progressive-billing invoice whose charges window contains now, 0 if none.
    """
    if not thresholds:
        return ()
    fixed = sorted((t for t in thresholds if not t.recurring), key=lambda t: t.amount_cents)
    recurring = next((t for t in thresholds if t.recurring), None)
    actual = usage.current_usage_amount_cents - progressive_billed_amount_cents
    if actual < 0:
        return ()
    invoiced = (
        usage.historical_usage_amount_cents
        + usage.invoiced_usage_amount_cents
        + progressive_billed_amount_cents
    )
    largest = fixed[-1].amount_cents if fixed else 0
    total = invoiced + actual
    passed: list[UsageThreshold] = []
    if invoiced < largest:
        passed.extend(t for t in fixed if invoiced < t.amount_cents <= total)
        if recurring is not None and recurring.amount_cents > 0 and total - largest >= recurring.amount_cents:
            passed.append(recurring)
    elif (
        recurring is not None
        and recurring.amount_cents > 0
        and actual + invoiced % recurring.amount_cents >= recurring.amount_cents
    ):
        passed.append(recurring)
    return tuple(passed)


@dataclass(frozen=True, slots=True)
class ProgressiveBillingFee:
    """A charge fee of a progressive-billing invoice."""

    charge_id: str
    amount_cents: int
    charge_filter_id: str | None = None
    grouped_by: GroupedBy = ()


@dataclass(frozen=True, slots=True)
class ProgressiveBillingInvoice:
    """The latest finalized/failed progressive-billing invoice of a subscription whose charges
    window contains the crediting invoice's ``charges_from_datetime``.

    * ``credits_drawn_amount_cents``: progressive-billing credits already taken from it by other
      non-voided invoices;
    * ``credit_notes_credit_amount_cents``: ``credit_amount_cents`` of its available or consumed
      credit notes.
    """

    id: str
    subscription_id: str
    fees_amount_cents: int
    fees: tuple[ProgressiveBillingFee, ...] = ()
    coupons_amount_cents: int = 0
    credits_drawn_amount_cents: int = 0
    credit_notes_credit_amount_cents: int = 0


def to_credit_amount_cents(invoice: ProgressiveBillingInvoice) -> int:
    """``fees − coupons − already drawn − credit notes' credit``, floor 0."""
    amount = (
        invoice.fees_amount_cents
        - invoice.coupons_amount_cents
        - invoice.credits_drawn_amount_cents
        - invoice.credit_notes_credit_amount_cents
    )
    return max(amount, 0)


@dataclass(frozen=True, slots=True)
class ProgressiveBillingCredit:
    """A credit line (``credits[].item.type = "invoice"``) and what it leaves to give back."""

    progressive_billing_invoice_id: str
    subscription_id: str
    amount_cents: int
    to_credit_amount_cents: int
    matching_charge_fees_amount_cents: int
    excess_amount_cents: int


@dataclass(frozen=True, slots=True)
class ProgressiveBillingCredits:
    """Result of :func:`apply_progressive_billing_credits`.

    ``fees`` are the input fees with the spread added to ``precise_coupons_amount_cents``;
    ``fee_shares`` is what each fee got (fee id → cents, 5 dp).
    """

    fees: tuple[FeeLine, ...]
    credits: tuple[ProgressiveBillingCredit, ...]
    progressive_billing_credit_amount_cents: int
    fee_shares: Mapping[str, Decimal]


def _matches(fee: FeeLine, pb_fee: ProgressiveBillingFee, subscription_id: str) -> bool:
    return (
        fee.fee_type == "charge"
        and fee.subscription_id == subscription_id
        and fee.charge_id == pb_fee.charge_id
        and fee.charge_filter_id == pb_fee.charge_filter_id
        and tuple(sorted(fee.grouped_by)) == tuple(sorted(pb_fee.grouped_by))
    )


@exact
def apply_progressive_billing_credits(
    fees: Sequence[FeeLine], progressive_invoices: Sequence[ProgressiveBillingInvoice]
) -> ProgressiveBillingCredits:
    """§5.3 credit rule for each subscription of the invoice that has a progressive invoice."""
    current = list(fees)
    credits: list[ProgressiveBillingCredit] = []
    shares: dict[str, Decimal] = {}
    for pb in progressive_invoices:
        charge_ids = {pb_fee.charge_id for pb_fee in pb.fees}
        matching = sum(
            fee.amount_cents
            for fee in current
            if fee.fee_type == "charge"
            and fee.subscription_id == pb.subscription_id
            and fee.charge_id in charge_ids
        )
        to_credit = to_credit_amount_cents(pb)
        amount = min(to_credit, matching)
        credits.append(
            ProgressiveBillingCredit(
                progressive_billing_invoice_id=pb.id,
                subscription_id=pb.subscription_id,
                amount_cents=amount,
                to_credit_amount_cents=to_credit,
                matching_charge_fees_amount_cents=matching,
                excess_amount_cents=max(to_credit - matching, 0),
            )
        )
        if amount <= 0:
            continue
        for pb_fee in pb.fees:
            index = next(
                (i for i, fee in enumerate(current) if _matches(fee, pb_fee, pb.subscription_id)), None
            )
            if index is None:
                continue
            before = current[index]
            after = add_precise_discount(before, Decimal(pb_fee.amount_cents))
            current[index] = after
            taken = after.precise_coupons_amount_cents - before.precise_coupons_amount_cents
            shares[before.id] = shares.get(before.id, ZERO) + taken
    total = sum(credit.amount_cents for credit in credits)
    return ProgressiveBillingCredits(
        fees=tuple(current),
        credits=tuple(credits),
        progressive_billing_credit_amount_cents=total,
        fee_shares=shares,
    )
