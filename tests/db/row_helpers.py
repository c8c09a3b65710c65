"""Rows the database-layer tests build."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from billow.billing.models import FeeAppliedTax
from billow.db.context import Ctx

NOW = datetime(2024, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def applied_tax(ctx: Ctx, fee_id: uuid.UUID | None = None) -> FeeAppliedTax:
    """A 20 % VAT of 2.00 EUR on ``fee_id`` (built by the constructor: its id comes from the
    column's callable default at the flush); no fee when ``None`` (set its ``fee_row``)."""
    applied = FeeAppliedTax(
        organization_id=ctx.org_id,
        tax_name="VAT",
        tax_code="vat",
        tax_rate=Decimal(20),
        amount_currency="EUR",
        amount_cents=200,
        precise_amount_cents=Decimal(200),
        created_at=NOW,
        updated_at=NOW,
    )
    if fee_id is not None:
        applied.fee_id = fee_id
    return applied
