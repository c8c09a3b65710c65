"""Request bodies of ``/credit_notes`` (Lago's ``CreditNoteCreateInput``,
``CreditNoteEstimateInput``, ``CreditNoteUpdateInput``) and the request a service works on."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CreditNoteCreateInput(_Input):
    invoice_id: str | None = None
    reason: str | None = None
    description: str | None = None
    credit_amount_cents: int | None = None
    refund_amount_cents: int | None = None
    offset_amount_cents: int | None = None
    # Checked by the service (Lago: ``items: must_be_an_array``, then each fee is looked up).
    items: Any = None
    metadata: Any = None


class CreditNoteEstimateInput(_Input):
    invoice_id: str | None = None
    items: Any = None


class CreditNoteUpdateInput(_Input):
    refund_status: str | None = None
    metadata: Any = None


@dataclass(frozen=True)
class ItemRequest:
    """One item: ``fee_id`` as sent, ``amount_cents`` ex-tax and before the fee's coupon share
    (may carry decimals: the automatic notes pass the precise amount)."""

    fee_id: str | None
    amount_cents: Decimal


@dataclass(frozen=True)
class CreditNoteRequest:
    items: tuple[ItemRequest, ...]
    reason: str = "other"
    description: str | None = None
    credit_amount_cents: int = 0
    refund_amount_cents: int = 0
    offset_amount_cents: int = 0
    metadata: dict[str, Any] | None = None
    # Issued by Billow itself (termination, upgrade, voided invoice): no premium/type checks.
    automatic: bool = False
