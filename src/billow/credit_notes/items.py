"""A note's items against its invoice's fees: parsing them from a request, the per-fee checks
of billing.md §6.4.1 (Lago's ``ValidateItemService``), and the invoice's caps before and after.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from billow.billing.math import (
    CreditableInvoice,
    CreditNoteItem,
    FeeLine,
    fee_creditable_amount_cents,
    invoice_creditable_amount_cents,
)
from billow.billing.models import Fee, Invoice
from billow.core.errors import ErrorCollector, NotFound, ValidationFailed
from billow.core.ids import parse_uuid
from billow.credit_notes.repository import creditable_invoice, fee_lines, invoice_fees
from billow.credit_notes.schemas import ItemRequest
from billow.db.context import Ctx


def _amount(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    if isinstance(value, bool):
        raise ValidationFailed({"amount_cents": ["invalid_value"]})
    try:
        if isinstance(value, int | Decimal):
            return Decimal(value)
        if isinstance(value, float | str):
            return Decimal(str(value))
    except InvalidOperation:
        pass
    raise ValidationFailed({"amount_cents": ["invalid_value"]})


def parse_items(raw: Any, *, whole_cents: bool = False) -> tuple[ItemRequest, ...]:
    """``items`` as sent: an array (else 422 ``items: must_be_an_array``) of ``{fee_id,
    amount_cents}``. ``whole_cents`` truncates amounts (Lago's estimate reads ``to_i``)."""
    if not isinstance(raw, list):
        raise ValidationFailed({"items": ["must_be_an_array"]})
    parsed: list[ItemRequest] = []
    for entry in raw:
        data = entry if isinstance(entry, dict) else {}
        amount = _amount(data.get("amount_cents"))
        if whole_cents:
            amount = Decimal(int(amount))
        fee_id = data.get("fee_id")
        parsed.append(ItemRequest(fee_id=str(fee_id) if fee_id is not None else None, amount_cents=amount))
    return tuple(parsed)


@dataclass(frozen=True)
class PreparedItems:
    """The request's items on their fees, and the invoice before and after them."""

    invoice: Invoice
    fees: Mapping[uuid.UUID, Fee]
    lines: Mapping[uuid.UUID, FeeLine]
    items: tuple[tuple[Fee, CreditNoteItem], ...]
    before: CreditableInvoice

    @property
    def math_items(self) -> list[CreditNoteItem]:
        return [item for _, item in self.items]

    @property
    def after(self) -> CreditableInvoice:
        credited = dict(self.before.fee_credited_amount_cents)
        for fee, item in self.items:
            credited[str(fee.id)] = credited.get(str(fee.id), 0) + item.amount_cents
        return replace(self.before, fee_credited_amount_cents=credited)

    @property
    def exhausts_invoice(self) -> bool:
        """Lago's ``invoice.creditable_amount_cents == 0`` once the items are stored (always
        true on a draft or credit invoice): the note then absorbs earlier notes' tax rounding."""
        return invoice_creditable_amount_cents(self.after) == 0

    @property
    def covers_remaining_fees(self) -> bool:
        """The estimate's test: the items take every fee's remaining creditable amount."""
        taken = sum((item.precise_amount_cents for item in self.math_items), Decimal(0))
        remaining = sum(fee_creditable_amount_cents(self.before, line) for line in self.lines.values())
        return taken == remaining


def _payment_open(invoice: Invoice) -> bool:
    return invoice.payment_status in ("pending", "failed")


def prepare_items(ctx: Ctx, invoice: Invoice, requests: Sequence[ItemRequest]) -> PreparedItems:
    """Each item's fee (404 ``fee_not_found`` when not one of the invoice's) and its checks, in
    order, stopping at the first invalid item (422): not negative; not above the fee's
    creditable amount (``fee.amount − Σ earlier items``, this note's included); a credit fee
    also within what its wallet can give back, unless the credit invoice is still unpaid."""
    fees = {fee.id: fee for fee in invoice_fees(ctx, invoice)}
    lines = fee_lines(ctx, list(fees.values()))
    before = creditable_invoice(ctx, invoice, lines)
    taken: dict[uuid.UUID, int] = {}
    prepared: list[tuple[Fee, CreditNoteItem]] = []
    credit_invoice = invoice.invoice_type == "credit"
    for request in requests:
        parsed = parse_uuid(request.fee_id) if request.fee_id else None
        fee = fees.get(parsed) if parsed is not None else None
        if fee is None:
            raise NotFound("fee")
        item = CreditNoteItem(fee=lines[fee.id], precise_amount_cents=request.amount_cents)
        errors = ErrorCollector()
        if item.amount_cents < 0:
            errors.add("amount_cents", "invalid_value")
        remaining = (
            fee.amount_cents
            - int(before.fee_credited_amount_cents.get(str(fee.id), 0))
            - taken.get(fee.id, 0)
        )
        within_wallet = item.amount_cents <= before.wallet_creditable_amount_cents
        if credit_invoice and _payment_open(invoice):
            pass
        elif item.amount_cents > remaining or (credit_invoice and not within_wallet):
            code = (
                "higher_than_wallet_balance"
                if credit_invoice and not within_wallet
                else "higher_than_remaining_fee_amount"
            )
            errors.add("amount_cents", code)
        errors.raise_if_any()
        taken[fee.id] = taken.get(fee.id, 0) + item.amount_cents
        prepared.append((fee, item))
    return PreparedItems(invoice, fees, lines, tuple(prepared), before)
