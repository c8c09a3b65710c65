"""What the invoice and fee webhooks serialize: the object as of the instant of the change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from billow.billing.models import Fee, Invoice


@dataclass(frozen=True)
class InvoiceEvent:
    invoice: Invoice
    at: datetime

    @property
    def id(self) -> uuid.UUID:
        return self.invoice.id


@dataclass(frozen=True)
class FeeEvent:
    fee: Fee
    at: datetime

    @property
    def id(self) -> uuid.UUID:
        return self.fee.id
