"""Credit notes: amounts and taxes (billing.md §6.4.2), the estimate, the creditable / refundable
/ offsettable caps and the validation of §6.4.1, and the consumption of available credit notes
by a later invoice (§4.3 step 7).

Amounts of a note, from its items (``precise_amount_cents`` per fee, ex-tax, before coupons):

* per item ``share = item / fee.amount_cents`` and ``coupon_adj = fee.precise_coupons × share``;
* per tax of the fee: ``base = item − coupon_adj`` (× the invoice tax's taxable/fees ratio,
  normally 1) and ``tax = base × rate / 100``;
* ``coupons_adjustment = round(Σ coupon_adj)``, ``taxes = round(Σ tax)``,
  ``sub_total_excluding_taxes = round(Σ item − Σ coupon_adj)``;
* ``total = credit + refund + offset``; if ``total − taxes ≠ sub_total`` the total moves by one
  cent so that ``total = sub_total + taxes``.

The precise coupon adjustment and precise taxes are kept at 5 dp (Lago's ``numeric(30,5)``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from billow.billing.math.fees import FeeLine, TaxRate, exact, q5, round_cents
from billow.core.money import ZERO, round_half_up

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class CreditNoteItem:
    """One item: part of a fee's amount (ex-tax, before its coupon share)."""

    fee: FeeLine
    precise_amount_cents: Decimal

    @property
    def amount_cents(self) -> int:
        return round_cents(self.precise_amount_cents)

    @property
    def fee_rate(self) -> Decimal:
        """The part of the fee this item takes back (0 for a fee of 0)."""
        if self.fee.amount_cents == 0:
            return ZERO
        return self.precise_amount_cents / Decimal(self.fee.amount_cents)

    @property
    def coupon_adjustment(self) -> Decimal:
        return self.fee.precise_coupons_amount_cents * self.fee_rate


@dataclass(frozen=True, slots=True)
class CreditNoteAppliedTax:
    """One tax row of a credit note."""

    tax: TaxRate
    base_amount_cents: int
    amount_cents: int
    precise_amount_cents: Decimal


@dataclass(frozen=True, slots=True)
class CreditNoteTaxes:
    """The coupon adjustment and taxes of a set of items."""

    items_amount_cents: Decimal
    precise_coupons_adjustment_amount_cents: Decimal
    coupons_adjustment_amount_cents: int
    precise_taxes_amount_cents: Decimal
    taxes_rate: Decimal
    applied_taxes: tuple[CreditNoteAppliedTax, ...]

    @property
    def sub_total_excluding_taxes_amount_cents(self) -> int:
        """``round(Σ items − precise coupon adjustment)``."""
        return round_cents(self.items_amount_cents - self.precise_coupons_adjustment_amount_cents)


@exact
def credit_note_taxes(
    items: Sequence[CreditNoteItem], taxes_base_rates: Mapping[str, Decimal] | None = None
) -> CreditNoteTaxes:
    """§6.4.2 coupon adjustment and taxes of ``items``.

    ``taxes_base_rates`` maps a tax code to the invoice applied tax's
    ``taxable_base_amount_cents / fees_amount_cents`` (provider taxes); absent → 1.
    """
    rates = taxes_base_rates or {}
    items_amount = sum((item.precise_amount_cents for item in items), ZERO)
    coupons_adjustment = sum((item.coupon_adjustment for item in items), ZERO)
    bases: dict[str, Decimal] = {}
    by_code: dict[str, TaxRate] = {}
    for item in items:
        for tax in item.fee.taxes:
            by_code.setdefault(tax.code, tax)
            bases[tax.code] = bases.get(tax.code, ZERO) + item.precise_amount_cents - item.coupon_adjustment
    rows: list[CreditNoteAppliedTax] = []
    precise_taxes = ZERO
    taxes_rate = ZERO
    net_items = items_amount - coupons_adjustment
    for code, tax in by_code.items():
        base = bases[code] * rates.get(code, Decimal(1))
        precise = base * tax.rate / HUNDRED
        rows.append(
            CreditNoteAppliedTax(
                tax=tax,
                base_amount_cents=round_cents(base),
                amount_cents=round_cents(precise),
                precise_amount_cents=precise,
            )
        )
        precise_taxes += precise
        if net_items != 0:
            taxes_rate += bases[code] / net_items * tax.rate
    return CreditNoteTaxes(
        items_amount_cents=items_amount,
        precise_coupons_adjustment_amount_cents=q5(coupons_adjustment),
        coupons_adjustment_amount_cents=round_cents(coupons_adjustment),
        precise_taxes_amount_cents=q5(precise_taxes),
        taxes_rate=round_half_up(taxes_rate, 5),
        applied_taxes=tuple(rows),
    )


@dataclass(frozen=True, slots=True)
class CreditNoteAmounts:
    """The amounts of a created credit note (after the one-cent rounding fix)."""

    credit_amount_cents: int
    refund_amount_cents: int
    offset_amount_cents: int
    total_amount_cents: int
    balance_amount_cents: int
    sub_total_excluding_taxes_amount_cents: int
    taxes_amount_cents: int
    precise_taxes_amount_cents: Decimal
    coupons_adjustment_amount_cents: int
    precise_coupons_adjustment_amount_cents: Decimal
    taxes_rate: Decimal
    applied_taxes: tuple[CreditNoteAppliedTax, ...]


def _exhaust_adjusted_taxes(
    taxes: CreditNoteTaxes, exhausts_invoice: bool, prior_taxes_rounding_adjustment: Decimal
) -> Decimal:
    """Precise taxes; a note that exhausts the invoice absorbs prior notes' tax rounding
    (``Σ prior (taxes_amount_cents − precise_taxes_amount_cents)``)."""
    if not exhausts_invoice:
        return taxes.precise_taxes_amount_cents
    return q5(taxes.precise_taxes_amount_cents - prior_taxes_rounding_adjustment)


def precise_total_amount_cents(
    items: Sequence[CreditNoteItem],
    *,
    taxes_base_rates: Mapping[str, Decimal] | None = None,
    exhausts_invoice: bool = False,
    prior_taxes_rounding_adjustment: Decimal = ZERO,
) -> int:
    """``round(Σ items − coupon adjustment + precise taxes)``: what the note may total (±1)."""
    taxes = credit_note_taxes(items, taxes_base_rates)
    precise_taxes = _exhaust_adjusted_taxes(taxes, exhausts_invoice, prior_taxes_rounding_adjustment)
    return round_cents(
        taxes.items_amount_cents - taxes.precise_coupons_adjustment_amount_cents + precise_taxes
    )


@exact
def compute_credit_note(
    items: Sequence[CreditNoteItem],
    *,
    credit_amount_cents: int = 0,
    refund_amount_cents: int = 0,
    offset_amount_cents: int = 0,
    taxes_base_rates: Mapping[str, Decimal] | None = None,
    exhausts_invoice: bool = False,
    prior_taxes_rounding_adjustment: Decimal = ZERO,
) -> CreditNoteAmounts:
    """Amounts of a credit note created with the requested credit / refund / offset split.

    When ``total − taxes`` differs from the sub-total the total moves by one cent towards it;
    the cent goes to the credit amount if there is one, else to the refund, else to the offset
    (Lago overwrites the refund with the whole total in the last two cases, which loses an
    offset; Billow keeps ``total = credit + refund + offset``).
    """
    taxes = credit_note_taxes(items, taxes_base_rates)
    precise_taxes = _exhaust_adjusted_taxes(taxes, exhausts_invoice, prior_taxes_rounding_adjustment)
    taxes_amount = round_cents(precise_taxes)
    sub_total = taxes.sub_total_excluding_taxes_amount_cents
    credit, refund, offset = credit_amount_cents, refund_amount_cents, offset_amount_cents
    total = credit + refund + offset
    difference = total - taxes_amount - sub_total
    if difference != 0:
        step = -1 if difference > 0 else 1
        total += step
        if credit > 0:
            credit += step
        elif refund > 0:
            refund += step
        else:
            offset += step
    return CreditNoteAmounts(
        credit_amount_cents=credit,
        refund_amount_cents=refund,
        offset_amount_cents=offset,
        total_amount_cents=total,
        balance_amount_cents=credit,
        sub_total_excluding_taxes_amount_cents=sub_total,
        taxes_amount_cents=taxes_amount,
        precise_taxes_amount_cents=precise_taxes,
        coupons_adjustment_amount_cents=taxes.coupons_adjustment_amount_cents,
        precise_coupons_adjustment_amount_cents=taxes.precise_coupons_adjustment_amount_cents,
        taxes_rate=taxes.taxes_rate,
        applied_taxes=taxes.applied_taxes,
    )


@dataclass(frozen=True, slots=True)
class CreditNoteEstimate:
    """``POST /credit_notes/estimate`` numbers."""

    sub_total_excluding_taxes_amount_cents: int
    taxes_amount_cents: int
    precise_taxes_amount_cents: Decimal
    coupons_adjustment_amount_cents: int
    precise_coupons_adjustment_amount_cents: Decimal
    max_creditable_amount_cents: int
    max_refundable_amount_cents: int
    taxes_rate: Decimal
    applied_taxes: tuple[CreditNoteAppliedTax, ...]


@exact
def estimate_credit_note(
    items: Sequence[CreditNoteItem],
    *,
    refundable_amount_cents: Decimal | int,
    credit_invoice: bool = False,
    taxes_base_rates: Mapping[str, Decimal] | None = None,
    exhausts_invoice: bool = False,
    prior_taxes_rounding_adjustment: Decimal = ZERO,
) -> CreditNoteEstimate:
    """§6.4.2 estimate.

    ``max_creditable = round(Σ item cents − coupon adjustment + precise taxes)`` (0 on a credit
    invoice); then, as Lago's estimate does, when ``max_creditable − taxes`` exceeds the
    sub-total the maximum loses a cent, and when it falls short the taxes lose a cent.
    ``max_refundable = min(max_creditable, refundable)`` where ``refundable`` is
    :func:`invoice_refundable_amount_cents` (Lago caps it before the cent fix; Billow after, so
    it never exceeds ``max_creditable``). On a credit invoice only the refund is offered.
    """
    taxes = credit_note_taxes(items, taxes_base_rates)
    precise_taxes = _exhaust_adjusted_taxes(taxes, exhausts_invoice, prior_taxes_rounding_adjustment)
    taxes_amount = round_cents(precise_taxes)
    items_cents = Decimal(sum(item.amount_cents for item in items))
    creditable = round_cents(items_cents - taxes.precise_coupons_adjustment_amount_cents + precise_taxes)
    sub_total = taxes.sub_total_excluding_taxes_amount_cents
    refundable = Decimal(refundable_amount_cents)
    if credit_invoice:
        refund = int(min(Decimal(creditable), refundable))
        creditable = 0
    else:
        if creditable - taxes_amount > sub_total:
            creditable -= 1
        elif creditable - taxes_amount < sub_total and taxes_amount > 0:
            taxes_amount -= 1
        refund = int(min(Decimal(creditable), refundable))
    return CreditNoteEstimate(
        sub_total_excluding_taxes_amount_cents=sub_total,
        taxes_amount_cents=taxes_amount,
        precise_taxes_amount_cents=precise_taxes,
        coupons_adjustment_amount_cents=taxes.coupons_adjustment_amount_cents,
        precise_coupons_adjustment_amount_cents=taxes.precise_coupons_adjustment_amount_cents,
        max_creditable_amount_cents=creditable,
        max_refundable_amount_cents=max(refund, 0),
        taxes_rate=taxes.taxes_rate,
        applied_taxes=taxes.applied_taxes,
    )


# --- caps (§6.4.1, §6.4.2 invoice-level) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreditableInvoice:
    """What the caps need to know about an invoice and its earlier credit notes.

    * ``fee_credited_amount_cents``: per fee id, Σ ``amount_cents`` of earlier credit-note
      items on it;
    * ``credited`` / ``refunded`` / ``offset_amount_cents``: Σ of the invoice's finalized credit
      notes' credit / refund / offset amounts;
    * ``wallet_creditable_amount_cents``: for a credit (wallet top-up) invoice, what the wallet
      can still give back (its balance, or the top-up's remaining amount when traceable).
    """

    fees: tuple[FeeLine, ...]
    fees_amount_cents: int
    total_amount_cents: int
    coupons_amount_cents: int = 0
    progressive_billing_credit_amount_cents: int = 0
    total_paid_amount_cents: int = 0
    credited_amount_cents: int = 0
    refunded_amount_cents: int = 0
    offset_amount_cents: int = 0
    fee_credited_amount_cents: Mapping[str, int] = field(default_factory=dict)
    payment_succeeded: bool = False
    draft: bool = False
    credit_invoice: bool = False
    wallet_creditable_amount_cents: int = 0


def fee_creditable_amount_cents(invoice: CreditableInvoice, fee: FeeLine) -> int:
    """``fee.amount − Σ earlier items`` (a credit fee: also ≤ what its wallet can give back)."""
    remaining = fee.amount_cents - invoice.fee_credited_amount_cents.get(fee.id, 0)
    if fee.fee_type == "credit":
        return min(remaining, invoice.wallet_creditable_amount_cents)
    return remaining


@exact
def invoice_creditable_amount_cents(invoice: CreditableInvoice) -> Decimal:
    """``Σ fee creditable − prorated(coupons + progressive credit) + taxes`` (0 for drafts and
    credit invoices). Taxes are ``round(Σ (creditable − its share of the adjustment) × rate /
    100)``; the result keeps the adjustment unrounded, as Lago does."""
    if invoice.draft or invoice.credit_invoice:
        return ZERO
    creditable = {fee.id: Decimal(fee_creditable_amount_cents(invoice, fee)) for fee in invoice.fees}
    total = sum(creditable.values(), ZERO)
    if total == 0 or invoice.fees_amount_cents == 0:
        return ZERO
    adjustment = (
        Decimal(invoice.coupons_amount_cents + invoice.progressive_billing_credit_amount_cents)
        / Decimal(invoice.fees_amount_cents)
        * total
    )
    vat = ZERO
    for fee in invoice.fees:
        share = adjustment * creditable[fee.id] / total
        vat += (creditable[fee.id] - share) * fee.taxes_rate
    return total - adjustment + Decimal(round_cents(vat / HUNDRED))


@exact
def invoice_refundable_amount_cents(invoice: CreditableInvoice) -> Decimal:
    """``min(total_paid − refunded, creditable)``, floor 0 (a credit invoice: ``min(wallet
    creditable, total_paid − refunded)``); 0 for drafts and unpaid fully-"paid" invoices."""
    if invoice.draft:
        return ZERO
    if not invoice.payment_succeeded and invoice.total_paid_amount_cents == invoice.total_amount_cents:
        return ZERO
    remaining_paid = Decimal(invoice.total_paid_amount_cents - invoice.refunded_amount_cents)
    if invoice.credit_invoice:
        return min(Decimal(invoice.wallet_creditable_amount_cents), remaining_paid)
    return max(min(remaining_paid, invoice_creditable_amount_cents(invoice)), ZERO)


@exact
def invoice_offsettable_amount_cents(invoice: CreditableInvoice) -> Decimal:
    """``min(due, creditable)``; an unpaid credit invoice can only be offset in full."""
    due = invoice.total_amount_cents - invoice.total_paid_amount_cents - invoice.offset_amount_cents
    if invoice.credit_invoice and due > 0 and not invoice.payment_succeeded:
        return Decimal(invoice.total_amount_cents)
    return min(Decimal(due), invoice_creditable_amount_cents(invoice))


@exact
def fee_total_amount_cents(invoice: CreditableInvoice) -> int:
    """``Σ fees + round(Σ fee × fee.taxes_rate / 100)``: the ceiling of all notes together."""
    amounts = sum(fee.amount_cents for fee in invoice.fees)
    taxes = sum((Decimal(fee.amount_cents) * fee.taxes_rate for fee in invoice.fees), ZERO) / HUNDRED
    return amounts + round_cents(taxes)


@exact
def validate_credit_note(
    invoice: CreditableInvoice,
    items: Sequence[CreditNoteItem],
    *,
    credit_amount_cents: int,
    refund_amount_cents: int,
    offset_amount_cents: int = 0,
) -> dict[str, list[str]]:
    """§6.4.1 checks; returns Lago's ``error_details`` (empty when valid).

    Items: not negative, ≤ the fee's creditable amount. Note: ``credit + refund + offset``
    within one cent of the items' precise total, positive, within one cent of what the invoice
    still allows; refund ≤ paid − refunded; credit ≤ creditable; offset ≤ min(due, creditable);
    a credit invoice takes no credit and is offset only in full and while unpaid.
    """
    errors: dict[str, list[str]] = {}

    def add(name: str, code: str) -> None:
        errors.setdefault(name, []).append(code)

    for item in items:
        if item.amount_cents < 0:
            add("amount_cents", "invalid_value")
        elif item.amount_cents > fee_creditable_amount_cents(invoice, item.fee):
            add("amount_cents", "higher_than_remaining_fee_amount")
    total = credit_amount_cents + refund_amount_cents + offset_amount_cents
    previous = invoice.credited_amount_cents + invoice.refunded_amount_cents + invoice.offset_amount_cents
    ceiling = fee_total_amount_cents(invoice)
    settled_not_paid = (
        not invoice.payment_succeeded
        and invoice.total_paid_amount_cents == invoice.total_amount_cents
        and invoice.total_amount_cents > 0
    )
    if refund_amount_cents > 0 and settled_not_paid:
        add("refund_amount_cents", "cannot_refund_unpaid_invoice")
    if abs(total - precise_total_amount_cents(items)) > 1:
        add("base", "does_not_match_item_amounts")
    if refund_amount_cents > 0:
        if invoice.total_paid_amount_cents <= 0:
            add("refund_amount_cents", "cannot_refund_unpaid_invoice")
        elif refund_amount_cents > invoice.total_paid_amount_cents - invoice.refunded_amount_cents:
            add("refund_amount_cents", "higher_than_remaining_invoice_amount")
    creditable = ceiling - invoice.credited_amount_cents - invoice.offset_amount_cents
    if invoice.credit_invoice and credit_amount_cents > 0:
        add("credit_amount_cents", "cannot_credit_invoice")
    elif credit_amount_cents - creditable > 1:
        add("credit_amount_cents", "higher_than_remaining_invoice_amount")
    if offset_amount_cents > 0:
        if invoice.credit_invoice and invoice.total_paid_amount_cents > 0:
            add("offset_amount_cents", "cannot_apply_to_paid_invoice")
        elif invoice.credit_invoice and offset_amount_cents != invoice.total_amount_cents:
            add("offset_amount_cents", "not_equal_to_total_amount")
        elif not invoice.credit_invoice:
            due = invoice.total_amount_cents - invoice.total_paid_amount_cents - invoice.offset_amount_cents
            if offset_amount_cents > min(due, creditable):
                add("offset_amount_cents", "higher_than_remaining_invoice_amount")
    if total - (ceiling - previous) > 1:
        add("base", "higher_than_remaining_invoice_amount")
    if total <= 0:
        add("base", "total_amount_must_be_positive")
    return errors


# --- consumption by a later invoice (§4.3 step 7) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class AvailableCreditNote:
    """A finalized credit note of the customer with ``credit_status = available``."""

    id: str
    balance_amount_cents: int
    created_at: datetime
    currency: str
    invoice_id: str | None = None


@dataclass(frozen=True, slots=True)
class CreditNoteConsumption:
    """A ``credits[]`` line of ``item.type = "credit_note"`` and the note's new balance."""

    credit_note_id: str
    amount_cents: int
    balance_amount_cents: int

    @property
    def consumed(self) -> bool:
        """The note's ``credit_status`` becomes ``consumed``."""
        return self.balance_amount_cents == 0


@dataclass(frozen=True, slots=True)
class CreditNotesApplication:
    """Notes consumed by an invoice, and each fee's ``precise_credit_notes_amount_cents``."""

    consumptions: tuple[CreditNoteConsumption, ...]
    credit_notes_amount_cents: int
    fee_precise_credit_notes_amount_cents: Mapping[str, Decimal]


@dataclass(frozen=True, slots=True)
class FeeAfterTax:
    """A fee's amount after coupons and taxes, for the spread of credit notes and wallets."""

    fee_id: str
    amount_after_tax_cents: Decimal
    precise_credit_notes_amount_cents: Decimal = ZERO


@exact
def apply_credit_notes(
    credit_notes: Sequence[AvailableCreditNote],
    *,
    total_amount_cents: int,
    currency: str,
    fees: Sequence[FeeAfterTax] = (),
    invoice_id: str | None = None,
) -> CreditNotesApplication:
    """Oldest first, same currency, not issued on this invoice: each note gives
    ``min(balance, remaining total)``; stop at 0.

    Each credit is spread on the fees: ``fee.precise_credit_notes += credit × (after_tax −
    precise_credit_notes) / remaining before this credit`` (5 dp, capped at ``after_tax``), with
    ``after_tax = amount − precise_coupons + taxes_amount_cents``.
    """
    eligible = sorted(
        (
            note
            for note in credit_notes
            if note.currency == currency and (invoice_id is None or note.invoice_id != invoice_id)
        ),
        key=lambda note: note.created_at,
    )
    spread = {fee.fee_id: fee.precise_credit_notes_amount_cents for fee in fees}
    remaining = total_amount_cents
    consumptions: list[CreditNoteConsumption] = []
    for note in eligible:
        if remaining <= 0:
            break
        amount = min(note.balance_amount_cents, remaining)
        if amount <= 0:
            continue
        for fee in fees:
            current = spread[fee.fee_id]
            added = Decimal(amount) * (fee.amount_after_tax_cents - current) / Decimal(remaining)
            spread[fee.fee_id] = min(q5(current + added), fee.amount_after_tax_cents)
        consumptions.append(
            CreditNoteConsumption(
                credit_note_id=note.id,
                amount_cents=amount,
                balance_amount_cents=note.balance_amount_cents - amount,
            )
        )
        remaining -= amount
    return CreditNotesApplication(
        consumptions=tuple(consumptions),
        credit_notes_amount_cents=sum(c.amount_cents for c in consumptions),
        fee_precise_credit_notes_amount_cents=spread,
    )
