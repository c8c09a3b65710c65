"""What the customers package asks of invoices (wired in ``billow.runtime.build_hooks``)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from billow.billing.models import Invoice
from billow.db.context import Ctx


def customer_has_invoices(ctx: Ctx, customer_id: uuid.UUID) -> bool:
    """For ``CustomerHooks.currency_holders``: any invoice of the customer, whatever its status
    (Lago's ``Customer#editable?`` counts them all)."""
    stmt = select(Invoice.id).where(Invoice.organization_id == ctx.org_id, Invoice.customer_id == customer_id)
    return ctx.session.scalar(stmt.limit(1)) is not None
