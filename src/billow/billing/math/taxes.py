"""Taxes: which taxes a fee takes (billing.md §6.3) and how fee and invoice taxes round (§4.6).

Fee level: per tax, ``base = fee.amount_cents − fee.precise_coupons_amount_cents`` (the rounded
fee amount minus the unrounded coupon and progressive-billing share) and
``precise = base × rate / 100``; the fee applied-tax row is ``round(precise)``; the fee's
``taxes_amount_cents = round(Σ precise)``. ``taxes_precise_amount_cents`` uses the unrounded fee
amount instead (``precise_amount_cents − precise_coupons``), as Lago does.

Invoice level: per tax, ``Σ over the fees carrying it of base × rate / 100``; each invoice
applied-tax row is rounded on its own, the invoice ``taxes_amount_cents`` is rounded once on the
unrounded sum over every tax. Neither is the sum of the fees' rounded taxes, so the two may
differ by up to one cent per fee. ``taxes_rate`` is the rate of each tax weighted by the share of
the invoice sub-total it applies to, rounded to 5 dp.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from billow.billing.math.fees import (
    FeeLine,
    FeeType,
    TaxRate,
    exact,
    q15,
    round_cents,
    truncate_cents,
)
from billow.core.money import ZERO, round_half_up

HUNDRED = Decimal(100)

_ITEM_TAXED: frozenset[str] = frozenset({"add_on", "charge", "fixed_charge", "commitment"})
_PLAN_TAXED: frozenset[str] = frozenset({"charge", "subscription", "commitment", "fixed_charge"})


@dataclass(frozen=True, slots=True)
class TaxSources:
    """The candidate taxes of a fee, one tuple per level of §6.3.

    * ``explicit``: taxes named by ``tax_codes`` in a one-off invoice request;
    * ``item``: taxes of the fee's add-on, charge, fixed charge or commitment;
    * ``plan``: taxes of the subscription's plan;
    * ``customer``: the customer's taxes;
    * ``billing_entity``: the billing entity's default taxes.
    """

    explicit: tuple[TaxRate, ...] = ()
    item: tuple[TaxRate, ...] = ()
    plan: tuple[TaxRate, ...] = ()
    customer: tuple[TaxRate, ...] = ()
    billing_entity: tuple[TaxRate, ...] = ()


def resolve_fee_taxes(fee_type: FeeType, sources: TaxSources) -> tuple[TaxRate, ...]:
    """§6.3: the first non-empty level wins; levels are never cumulated; credit fees are untaxed.

    Item taxes count for add-on, charge, fixed-charge and commitment fees; plan taxes for
    charge, subscription, commitment and fixed-charge fees.
    """
    if fee_type == "credit":
        return ()
    if sources.explicit:
        return sources.explicit
    if fee_type in _ITEM_TAXED and sources.item:
        return sources.item
    if fee_type in _PLAN_TAXED and sources.plan:
        return sources.plan
    if sources.customer:
        return sources.customer
    return sources.billing_entity


@dataclass(frozen=True, slots=True)
class FeeAppliedTax:
    """One tax row of a fee (``fee.applied_taxes[]``)."""

    tax: TaxRate
    amount_cents: int
    precise_amount_cents: Decimal


@dataclass(frozen=True, slots=True)
class FeeTaxes:
    """A fee's taxes: ``taxes_amount_cents = round(Σ per-tax unrounded amounts)``."""

    fee_id: str
    base_amount_cents: Decimal
    taxes_amount_cents: int
    taxes_precise_amount_cents: Decimal
    taxes_rate: Decimal
    applied_taxes: tuple[FeeAppliedTax, ...]
    unrounded_taxes_amount_cents: Decimal


@exact
def compute_fee_taxes(fee: FeeLine) -> FeeTaxes:
    """§4.6 fee taxes on ``amount_cents − precise_coupons_amount_cents`` (credit fees: none)."""
    taxes = () if fee.fee_type == "credit" else fee.taxes
    base = fee.sub_total_excluding_taxes_amount_cents
    precise_base = fee.sub_total_excluding_taxes_precise_amount_cents
    rows: list[FeeAppliedTax] = []
    unrounded_total = ZERO
    precise_total = ZERO
    for tax in taxes:
        amount = base * tax.rate / HUNDRED
        precise = q15(precise_base * tax.rate / HUNDRED)
        rows.append(FeeAppliedTax(tax=tax, amount_cents=round_cents(amount), precise_amount_cents=precise))
        unrounded_total += amount
        precise_total += precise
    return FeeTaxes(
        fee_id=fee.id,
        base_amount_cents=base,
        taxes_amount_cents=round_cents(unrounded_total),
        taxes_precise_amount_cents=q15(precise_total),
        taxes_rate=sum((tax.rate for tax in taxes), ZERO),
        applied_taxes=tuple(rows),
        unrounded_taxes_amount_cents=unrounded_total,
    )


@dataclass(frozen=True, slots=True)
class InvoiceAppliedTax:
    """One tax row of an invoice (``invoice.applied_taxes[]``).

    ``amount_cents`` is this tax's unrounded total rounded on its own;
    ``fees_amount_cents`` is the sum of the taxed fees' bases, truncated as Lago's integer
    column stores it (``fees_base_amount_cents`` keeps it exact).
    """

    tax: TaxRate
    amount_cents: int
    precise_amount_cents: Decimal
    fees_amount_cents: int
    fees_base_amount_cents: Decimal
    fees_count: int


@dataclass(frozen=True, slots=True)
class InvoiceTaxes:
    """Invoice-level taxes: ``taxes_amount_cents`` rounded once on the unrounded sum."""

    taxes_amount_cents: int
    precise_taxes_amount_cents: Decimal
    taxes_rate: Decimal
    applied_taxes: tuple[InvoiceAppliedTax, ...]


@exact
def compute_invoice_taxes(
    fees: Sequence[FeeLine], sub_total_excluding_taxes_amount_cents: int
) -> InvoiceTaxes:
    """§4.6 / §6.3 invoice taxes from the fees' (unrounded) bases.

    Rows come in the order each tax code first appears on the fees. ``taxes_rate`` weighs each
    rate by ``Σ taxed bases / invoice sub-total``; when the sub-total is 0 it weighs by
    ``taxed fees / all fees``.
    """
    taxed = [fee for fee in fees if fee.fee_type != "credit"]
    bases: dict[str, Decimal] = {}
    counts: dict[str, int] = {}
    by_code: dict[str, TaxRate] = {}
    for fee in taxed:
        for tax in fee.taxes:
            by_code.setdefault(tax.code, tax)
            bases[tax.code] = bases.get(tax.code, ZERO) + fee.sub_total_excluding_taxes_amount_cents
            counts[tax.code] = counts.get(tax.code, 0) + 1
    rows: list[InvoiceAppliedTax] = []
    total = ZERO
    rate = ZERO
    sub_total = Decimal(sub_total_excluding_taxes_amount_cents)
    for code, tax in by_code.items():
        base = bases[code]
        amount = base * tax.rate / HUNDRED
        rows.append(
            InvoiceAppliedTax(
                tax=tax,
                amount_cents=round_cents(amount),
                precise_amount_cents=amount,
                fees_amount_cents=truncate_cents(base),
                fees_base_amount_cents=base,
                fees_count=counts[code],
            )
        )
        total += amount
        if sub_total > 0:
            rate += base / sub_total * tax.rate
        elif fees:
            rate += Decimal(counts[code]) / Decimal(len(fees)) * tax.rate
    return InvoiceTaxes(
        taxes_amount_cents=round_cents(total),
        precise_taxes_amount_cents=total,
        taxes_rate=round_half_up(rate, 5),
        applied_taxes=tuple(rows),
    )


@exact
def aggregate_paid_fee_taxes(fees_amount_cents: int, fee_taxes: Sequence[FeeTaxes]) -> InvoiceTaxes:
    """``advance_charges`` invoices: the already-paid fees' taxes are summed, not recomputed.

    ``taxes_rate = round(taxes × 100 / fees, 2)`` (0 without fees), as Lago fills it there.
    """
    taxes = sum(ft.taxes_amount_cents for ft in fee_taxes)
    rows: dict[str, list[FeeAppliedTax]] = {}
    bases: dict[str, Decimal] = {}
    for ft in fee_taxes:
        for row in ft.applied_taxes:
            rows.setdefault(row.tax.code, []).append(row)
            bases[row.tax.code] = bases.get(row.tax.code, ZERO) + ft.base_amount_cents
    applied = tuple(
        InvoiceAppliedTax(
            tax=group[0].tax,
            amount_cents=sum(row.amount_cents for row in group),
            precise_amount_cents=sum((row.precise_amount_cents for row in group), ZERO),
            fees_amount_cents=truncate_cents(bases[code]),
            fees_base_amount_cents=bases[code],
            fees_count=len(group),
        )
        for code, group in rows.items()
    )
    rate = ZERO if fees_amount_cents == 0 else round_half_up(Decimal(taxes) * HUNDRED / fees_amount_cents, 2)
    return InvoiceTaxes(
        taxes_amount_cents=taxes,
        precise_taxes_amount_cents=Decimal(taxes),
        taxes_rate=rate,
        applied_taxes=applied,
    )
