"""Has a recurring (periodic) invoice-subscription already billed this subscription period?"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from billow.billing.models import InvoiceSubscription
from billow.db.context import Ctx


def recurring_period_billed(
    ctx: Ctx, subscription_id: uuid.UUID, key: str, *, exclude_invoice: uuid.UUID | None = None
) -> bool:
    stmt = select(InvoiceSubscription.id).where(
        InvoiceSubscription.organization_id == ctx.org_id,
        InvoiceSubscription.subscription_id == subscription_id,
        InvoiceSubscription.recurring.is_(True),
        InvoiceSubscription.period_key == key,
    )
    if exclude_invoice is not None:
        stmt = stmt.where(InvoiceSubscription.invoice_id != exclude_invoice)
    return ctx.session.scalar(stmt.limit(1)) is not None
