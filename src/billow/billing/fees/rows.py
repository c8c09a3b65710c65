"""The one place a :class:`~billow.billing.fees.drafts.FeeDraft` becomes a ``Fee`` row.

Invoices (:mod:`billow.billing.assembly`: attached to the invoice, created with it) and
pay-in-advance fees (:mod:`billow.billing.advance`: unattached, created now) build their rows
here, so that every field a draft carries is stored the same way on both paths.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from billow.billing.fees.drafts import FeeDraft
from billow.billing.models import Fee
from billow.core.ids import new_id
from billow.db.rows import new_row


def fee_from_draft(
    draft: FeeDraft,
    *,
    organization_id: uuid.UUID,
    customer_id: uuid.UUID,
    invoice_id: uuid.UUID | None,
    created_at: datetime,
    updated_at: datetime,
) -> Fee:
    """A new, unsaved fee row (``payment_status`` ``pending``, no taxes yet) from ``draft``."""
    return new_row(
        Fee,
        dict(
            id=new_id(),
            organization_id=organization_id,
            invoice_id=invoice_id,
            customer_id=customer_id,
            subscription_id=draft.subscription_id,
            charge_id=draft.charge_id,
            charge_filter_id=draft.charge_filter_id,
            fixed_charge_id=draft.fixed_charge_id,
            add_on_id=draft.add_on_id,
            billable_metric_id=draft.billable_metric_id,
            fee_type=draft.fee_type,
            invoiceable=draft.invoiceable,
            pay_in_advance=draft.pay_in_advance,
            invoice_display_name=draft.invoice_display_name,
            description=draft.description,
            grouped_by=draft.grouped_by,
            amount_currency=draft.amount_currency,
            amount_cents=draft.amount_cents,
            precise_amount_cents=draft.precise_amount_cents,
            unit_amount_cents=draft.unit_amount_cents,
            precise_unit_amount=draft.precise_unit_amount,
            units=draft.units,
            total_aggregated_units=draft.total_aggregated_units,
            events_count=draft.events_count,
            amount_details=draft.amount_details,
            properties=draft.properties,
            pricing_unit_details=draft.pricing_unit_details,
            pay_in_advance_event_id=draft.pay_in_advance_event_id,
            pay_in_advance_event_transaction_id=draft.pay_in_advance_event_transaction_id,
            idempotency_key=draft.idempotency_key,
            payment_status="pending",
            created_at=created_at,
            updated_at=updated_at,
        ),
    )
