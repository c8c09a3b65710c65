"""The first rows of every new invoice: the invoice itself, ``generating`` with a draft number,
and the invoice-subscriptions that say which subscription period it bills.

Every kind of invoice starts here — subscription (periodic, starting, terminating), in-advance
charge, progressive billing, one-off and paid-credit — so that they all carry the same parties,
timezone and net payment term. The rows are not added to the session: each caller writes them
its own way (a savepoint whose unique indexes make a second run fail, or a plain flush).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from billow.billing.boundaries import Boundaries
from billow.billing.issuing import net_payment_term_days
from billow.billing.models import Invoice, InvoiceSubscription
from billow.billing.numbering import draft_number
from billow.billing.parties import InvoiceParties
from billow.core.ids import new_id
from billow.db.context import Ctx


def new_generating_invoice(
    ctx: Ctx,
    parties: InvoiceParties,
    *,
    invoice_type: str,
    currency: str,
    issuing_date: date,
    now: datetime,
    expected_finalization_date: date | None = None,
    skip_charges: bool = False,
) -> Invoice:
    """A new ``generating``, ``pending``-payment invoice of ``parties`` (issued by
    ``parties.entity``, with its draft number), due ``issuing_date`` plus the net payment term
    (the customer's, else its billing entity's), created ``now``."""
    term = net_payment_term_days(parties.customer, parties.settings_entity)
    return Invoice(
        id=new_id(),
        organization_id=ctx.org_id,
        billing_entity_id=parties.entity.id,
        customer_id=parties.customer.id,
        invoice_type=invoice_type,
        status="generating",
        payment_status="pending",
        currency=currency,
        number=draft_number(parties.entity),
        timezone=parties.timezone,
        issuing_date=issuing_date,
        payment_due_date=issuing_date + timedelta(days=term),
        expected_finalization_date=expected_finalization_date,
        net_payment_term=term,
        skip_charges=skip_charges,
        created_at=now,
        updated_at=now,
    )


def new_invoice_subscription(
    ctx: Ctx,
    invoice: Invoice,
    subscription_id: uuid.UUID,
    bounds: Boundaries,
    *,
    reason: str,
    recurring: bool,
    period_key: str,
    timestamp: datetime,
    now: datetime,
) -> InvoiceSubscription:
    """The row saying that ``invoice`` bills ``subscription_id`` over ``bounds`` (its invoicing
    ``reason``; ``period_key`` is unique per subscription for a ``recurring`` row)."""
    return InvoiceSubscription(
        id=new_id(),
        organization_id=ctx.org_id,
        invoice_id=invoice.id,
        subscription_id=subscription_id,
        invoicing_reason=reason,
        recurring=recurring,
        period_key=period_key,
        timestamp=timestamp,
        from_datetime=bounds.from_datetime,
        to_datetime=bounds.to_datetime,
        charges_from_datetime=bounds.charges_from_datetime,
        charges_to_datetime=bounds.charges_to_datetime,
        fixed_charges_from_datetime=bounds.fixed_charges_from_datetime,
        fixed_charges_to_datetime=bounds.fixed_charges_to_datetime,
        created_at=now,
        updated_at=now,
    )
