"""Shared plain values of the invoice math: a fee line, a tax rate, the rounding points.

billing.md §4.5 (fee object) and §4.6 (rounding points). Every amount is integer cents or an
exact ``Decimal`` of cents; nothing here touches a database.

Lago keeps ``precise_coupons_amount_cents`` and ``precise_credit_notes_amount_cents`` in
``numeric(30,5)`` columns and its tax amounts in ``numeric(40,15)``: a value written there is
rounded half-up at that scale, and later steps read the rounded value. :func:`q5` and
:func:`q15` reproduce those storage points.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, localcontext
from typing import Literal, ParamSpec, TypeVar

from billow.core.money import DECIMAL_CONTEXT, ZERO, round_half_up

FeeType = Literal["charge", "add_on", "subscription", "credit", "commitment", "fixed_charge"]
"""``fee.fee_type`` (same strings as ``billow.billing.models.FEE_TYPES``)."""

GroupedBy = tuple[tuple[str, str], ...]
"""A fee's ``grouped_by`` as sorted ``(key, value)`` pairs (hashable, order-free)."""

_P = ParamSpec("_P")
_R = TypeVar("_R")


def exact(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``func`` under the 60-digit half-up context of :mod:`billow.core.money`."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with localcontext(DECIMAL_CONTEXT):
            return func(*args, **kwargs)

    return wrapper


def q5(value: Decimal) -> Decimal:
    """Half-up at 5 decimal places: what a ``numeric(30,5)`` column stores."""
    return round_half_up(value, 5)


def q15(value: Decimal) -> Decimal:
    """Half-up at 15 decimal places: what a ``numeric(40,15)`` column stores."""
    return round_half_up(value, 15)


def round_cents(value: Decimal) -> int:
    """Half-up to whole cents (Ruby ``round``)."""
    return int(round_half_up(value))


def truncate_cents(value: Decimal) -> int:
    """Toward zero to whole cents: a decimal assigned to one of Lago's integer columns."""
    return int(value)


def grouping(grouped_by: Mapping[str, object] | None) -> GroupedBy:
    """Normalize a ``grouped_by`` mapping into :data:`GroupedBy`."""
    if not grouped_by:
        return ()
    return tuple(sorted((str(key), str(value)) for key, value in grouped_by.items()))


@dataclass(frozen=True, slots=True)
class TaxRate:
    """A tax applied to a fee: its code (identity on an invoice) and rate in percent."""

    code: str
    rate: Decimal
    name: str = ""
    tax_id: str | None = None


@dataclass(frozen=True, slots=True)
class FeeLine:
    """One fee of an invoice as the invoice math sees it (billing.md §4.5).

    * ``amount_cents`` is the rounded fee amount, ``precise_amount_cents`` the unrounded one
      (defaults to ``amount_cents``).
    * ``taxes`` are the fee's resolved taxes (:func:`billow.billing.math.taxes.resolve_fee_taxes`).
    * ``precise_coupons_amount_cents`` is what progressive-billing credits and coupons took off
      the fee so far (5 dp); the pipeline returns updated copies.
    * ``plan_id`` is the plan of the fee's subscription, or the parent plan when the plan is an
      override (coupons limited to plans match on it); ``billable_metric_id`` is the charge's
      metric (coupons and wallets limited to metrics match on it).
    """

    id: str
    fee_type: FeeType
    amount_cents: int
    precise_amount_cents: Decimal | None = None
    taxes: tuple[TaxRate, ...] = ()
    subscription_id: str | None = None
    plan_id: str | None = None
    charge_id: str | None = None
    charge_filter_id: str | None = None
    billable_metric_id: str | None = None
    grouped_by: GroupedBy = ()
    precise_coupons_amount_cents: Decimal = ZERO

    @property
    def precise_amount(self) -> Decimal:
        """Unrounded amount in cents."""
        if self.precise_amount_cents is None:
            return Decimal(self.amount_cents)
        return self.precise_amount_cents

    @property
    def sub_total_excluding_taxes_amount_cents(self) -> Decimal:
        """``amount_cents − precise_coupons_amount_cents``: the fee's tax base (§4.6)."""
        return Decimal(self.amount_cents) - self.precise_coupons_amount_cents

    @property
    def sub_total_excluding_taxes_precise_amount_cents(self) -> Decimal:
        """``precise_amount_cents − precise_coupons_amount_cents``."""
        return self.precise_amount - self.precise_coupons_amount_cents

    @property
    def taxes_rate(self) -> Decimal:
        """Sum of the fee's tax rates (several taxes at one level add up, §6.3)."""
        return sum((tax.rate for tax in self.taxes), ZERO)


def add_precise_discount(fee: FeeLine, amount: Decimal) -> FeeLine:
    """``fee`` with ``amount`` more taken off: stored at 5 dp and capped at the fee amount."""
    discounted = q5(fee.precise_coupons_amount_cents + amount)
    cap = Decimal(fee.amount_cents)
    return replace(fee, precise_coupons_amount_cents=min(discounted, cap))
