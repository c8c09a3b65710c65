"""One-off invoices: ``POST /invoices`` (billing.md §4.10, Lago's ``Invoices::CreateOneOffService``).

A customer, a currency (else the customer's) and add-on fees: each fee is
``round(unit_amount_cents × units)`` (the add-on's amount and 1 unit by default), taxed by its
``tax_codes``, else its add-on's taxes, else the customer's, else the billing entity's. The invoice
is computed fees → taxes → totals (no coupons, credit notes or wallets), dated today in the
customer's timezone, due ``net_payment_term`` days later, and finalized at once with its number
and ``invoice.one_off_created`` — or ``closed`` by the zero-amount rule, without a webhook.

Errors, in Lago's order, before anything is written: 404 ``customer_not_found``,
``fees_not_found``, ``add_on_not_found``, ``billing_entity_not_found``; 422 ``currency``
(missing, unknown, or not the customer's once locked: ``currencies_does_not_match``), 422
``boundaries: values_are_invalid``, ``units`` / ``unit_amount_cents: value_is_invalid``; 404
``tax_not_found``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict

from billow.billing.assembly import write_fees
from billow.billing.drafts import new_generating_invoice
from billow.billing.fees.drafts import FeeDraft, tax_rates
from billow.billing.finalization import finalize_or_close
from billow.billing.math import TaxRate, TaxSources, resolve_fee_taxes
from billow.billing.models import Invoice
from billow.billing.parties import parties_for
from billow.core.currencies import CURRENCY_CODES
from billow.core.errors import NotFound, ValidationFailed
from billow.core.money import cents_to_amount, round_half_up
from billow.core.timefmt import parse_iso_datetime
from billow.customers.billing_entities import resolve_billing_entity
from billow.customers.service import assign_currency, find_customer
from billow.customers.taxes import customer_taxes
from billow.db.context import Ctx
from billow.pricing.add_ons.models import AddOn
from billow.pricing.add_ons.service import find_add_on, taxes_by_add_on
from billow.pricing.taxes.service import billing_entity_taxes, resolve_tax_codes
from billow.subscriptions.periods import local_date


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore")


class OneOffFeeInput(_Input):
    add_on_code: Any = None
    unit_amount_cents: Any = None
    units: Any = None
    description: str | None = None
    invoice_display_name: str | None = None
    from_datetime: Any = None
    to_datetime: Any = None
    tax_codes: list[str] | None = None


class OneOffInvoiceInput(_Input):
    external_customer_id: Any = None
    currency: Any = None
    billing_entity_code: str | None = None
    fees: list[OneOffFeeInput] | None = None


@dataclass(frozen=True)
class _Line:
    add_on: AddOn
    unit_amount_cents: int
    units: Decimal
    description: str | None
    invoice_display_name: str | None
    from_datetime: datetime
    to_datetime: datetime
    taxes: tuple[TaxRate, ...] | None
    """Taxes named by the request's ``tax_codes`` (``None``: resolved from the levels)."""


def _when(raw: Any, now: datetime) -> datetime | None:
    if raw is None:
        return now
    if not isinstance(raw, str):
        return None
    try:
        return parse_iso_datetime(raw)
    except ValueError:
        return None


def _units(raw: Any) -> Decimal:
    if raw is None:
        return Decimal(1)
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ValidationFailed.field("units", "value_is_invalid")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ValidationFailed.field("units", "value_is_invalid") from None
    if not value.is_finite() or value < 0:
        raise ValidationFailed.field("units", "value_is_invalid")
    return value


def _unit_amount(raw: Any, add_on: AddOn) -> int:
    if raw is None:
        return add_on.amount_cents
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ValidationFailed.field("unit_amount_cents", "value_is_invalid")
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed.field("unit_amount_cents", "value_is_invalid") from None
    if value < 0:
        raise ValidationFailed.field("unit_amount_cents", "value_is_invalid")
    return value


def _line(ctx: Ctx, fee: OneOffFeeInput, add_on: AddOn) -> _Line:
    now = ctx.now()
    if (fee.from_datetime is None) != (fee.to_datetime is None):
        raise ValidationFailed.field("boundaries", "values_are_invalid")
    start, end = _when(fee.from_datetime, now), _when(fee.to_datetime, now)
    if start is None or end is None or start > end:
        raise ValidationFailed.field("boundaries", "values_are_invalid")
    unit_amount = _unit_amount(fee.unit_amount_cents, add_on)
    units = _units(fee.units)
    explicit = tax_rates(resolve_tax_codes(ctx, fee.tax_codes)) if fee.tax_codes else None
    return _Line(
        add_on=add_on,
        unit_amount_cents=unit_amount,
        units=units,
        description=fee.description if fee.description is not None else add_on.description,
        invoice_display_name=fee.invoice_display_name or None,
        from_datetime=start,
        to_datetime=end,
        taxes=explicit,
    )


def _currency(raw: Any, fallback: str | None) -> str:
    if raw is None or raw == "":
        if fallback is None:
            raise ValidationFailed.field("currency", "value_is_mandatory")
        return fallback
    if not isinstance(raw, str) or raw.upper() not in CURRENCY_CODES:
        raise ValidationFailed.field("currency", "value_is_invalid")
    return raw.upper()


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _draft(line: _Line, currency: str, taxes: tuple[TaxRate, ...]) -> FeeDraft:
    precise = Decimal(line.unit_amount_cents) * line.units
    return FeeDraft(
        fee_type="add_on",
        amount_currency=currency,
        amount_cents=int(round_half_up(precise)),
        precise_amount_cents=precise,
        properties={
            "from_datetime": _iso(line.from_datetime),
            "to_datetime": _iso(line.to_datetime),
        },
        units=line.units,
        unit_amount_cents=line.unit_amount_cents,
        precise_unit_amount=cents_to_amount(line.unit_amount_cents, currency),
        add_on_id=line.add_on.id,
        invoice_display_name=line.invoice_display_name,
        description=line.description,
        taxes=taxes,
    )


def create_one_off_invoice(ctx: Ctx, data: OneOffInvoiceInput) -> Invoice:
    external_id = data.external_customer_id
    customer = find_customer(ctx, str(external_id)) if external_id not in (None, "") else None
    if customer is None:
        raise NotFound("customer")
    if not data.fees:
        raise NotFound("fees")
    codes = [str(f.add_on_code) for f in data.fees if f.add_on_code is not None]
    add_ons = {code: find_add_on(ctx, code) for code in dict.fromkeys(codes)}
    if len(codes) != len(data.fees) or any(a is None for a in add_ons.values()):
        raise NotFound("add_on")
    entity_id = resolve_billing_entity(ctx, data.billing_entity_code).id if data.billing_entity_code else None
    parties = parties_for(ctx, customer, entity_id)
    currency = _currency(data.currency, customer.currency)
    assign_currency(ctx, customer, currency)
    lines = []
    for fee in data.fees:
        add_on = add_ons[str(fee.add_on_code)]
        assert add_on is not None
        lines.append(_line(ctx, fee, add_on))

    own = taxes_by_add_on(ctx.session, [line.add_on.id for line in lines])
    fallback = TaxSources(
        customer=tax_rates(customer_taxes(ctx, customer.id)),
        billing_entity=tax_rates(billing_entity_taxes(ctx, parties.settings_entity.id)),
    )
    drafts = []
    for line in lines:
        sources = TaxSources(
            explicit=line.taxes or (),
            item=tax_rates(own.get(line.add_on.id, [])),
            customer=fallback.customer,
            billing_entity=fallback.billing_entity,
        )
        drafts.append(_draft(line, currency, resolve_fee_taxes("add_on", sources)))

    now = ctx.now()
    invoice = new_generating_invoice(
        ctx,
        parties,
        invoice_type="one_off",
        currency=currency,
        issuing_date=local_date(now, parties.timezone),
        now=now,
    )
    ctx.session.add(invoice)
    ctx.session.flush()
    write_fees(ctx, invoice, drafts, finalizing=True, kind="one_off")
    # Lago's ``TransitionToFinalStatusService`` then ``invoice.one_off_created``.
    finalize_or_close(ctx, invoice, parties, webhook="invoice.one_off_created")
    return invoice
