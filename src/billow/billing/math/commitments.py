"""Minimum commitment true-up (billing.md §5.1) and charge spending minimum (§5.2).

Minimum commitment: ``commitment_for_period = round(amount × days_billed / days_total)`` where
``days_total`` counts the whole commitment period and ``days_billed`` the part of it the
subscription was billed for; the true-up fee is ``commitment_for_period − Σ fees`` when
positive (subscription, charge, in-advance charge, recurring and fixed-charge fees of the
period; coupons and taxes are ignored). ``precise_amount_cents`` subtracts the fees' precise
amounts instead.

Spending minimum: ``prorated_min = min_amount_cents / charges_duration × billed days``; when
the charge's fees (all its filters and groups) used less, the true-up fee is
``round(prorated_min − used)`` with ``precise = prorated_min − Σ precise used``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from billow.billing.math.fees import exact, round_cents
from billow.core.money import ZERO


@dataclass(frozen=True, slots=True)
class BilledFee:
    """A fee counted against a minimum: its rounded and precise amounts."""

    amount_cents: int
    precise_amount_cents: Decimal | None = None

    @property
    def precise(self) -> Decimal:
        return Decimal(self.amount_cents) if self.precise_amount_cents is None else self.precise_amount_cents


@dataclass(frozen=True, slots=True)
class CommitmentTrueUp:
    """The commitment for the billed part of the period and the true-up fee (0 when none)."""

    commitment_amount_cents: int
    fees_amount_cents: int
    amount_cents: int
    precise_amount_cents: Decimal

    @property
    def due(self) -> bool:
        return self.amount_cents > 0


@exact
def prorated_commitment_amount_cents(commitment_amount_cents: int, days_billed: int, days_total: int) -> int:
    """``round_half_up(commitment × days_billed / days_total)``."""
    if days_total <= 0:
        raise ValueError("days_total must be positive")
    return round_cents(Decimal(commitment_amount_cents) * days_billed / days_total)


@exact
def minimum_commitment_true_up(
    commitment_amount_cents: int, days_billed: int, days_total: int, fees: Sequence[BilledFee]
) -> CommitmentTrueUp:
    """§5.1 true-up of a minimum commitment over the fees of the reconciled period."""
    fees_amount = sum(fee.amount_cents for fee in fees)
    if commitment_amount_cents == 0:
        return CommitmentTrueUp(0, fees_amount, 0, ZERO)
    commitment = prorated_commitment_amount_cents(commitment_amount_cents, days_billed, days_total)
    precise_fees = sum((fee.precise for fee in fees), ZERO)
    amount = commitment - fees_amount if fees_amount < commitment else 0
    precise = Decimal(commitment) - precise_fees if precise_fees < commitment else ZERO
    return CommitmentTrueUp(
        commitment_amount_cents=commitment,
        fees_amount_cents=fees_amount,
        amount_cents=amount,
        precise_amount_cents=precise,
    )


@dataclass(frozen=True, slots=True)
class SpendingMinimumTrueUp:
    """A charge's prorated minimum spend and its true-up fee."""

    prorated_min_amount_cents: Decimal
    used_amount_cents: int
    amount_cents: int
    precise_amount_cents: Decimal


@exact
def spending_minimum_true_up(
    min_amount_cents: int, charges_duration_days: int, billed_days: int, fees: Sequence[BilledFee]
) -> SpendingMinimumTrueUp | None:
    """§5.2 true-up of ``charge.min_amount_cents``; ``None`` when the charge used enough.

    ``billed_days`` is ``days(charges_from, charges_to)`` (the upgrade rule already applied).
    """
    if charges_duration_days <= 0:
        raise ValueError("charges_duration_days must be positive")
    prorated = Decimal(min_amount_cents) / charges_duration_days * billed_days
    used = sum(fee.amount_cents for fee in fees)
    if used >= prorated:
        return None
    precise_used = sum((fee.precise for fee in fees), ZERO)
    return SpendingMinimumTrueUp(
        prorated_min_amount_cents=prorated,
        used_amount_cents=used,
        amount_cents=round_cents(prorated - used),
        precise_amount_cents=prorated - precise_used,
    )
