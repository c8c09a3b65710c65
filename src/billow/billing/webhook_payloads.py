"""Invoice webhooks of one-off invoices, voiding and overdue payments, with the includes Lago's
webhook services pass (``OneOffCreatedService``, ``VoidedService``, ``PaymentOverdueService``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from billow.billing.events import InvoiceEvent
from billow.billing.serializers import invoice_payload

ONE_OFF_CREATED_WEBHOOK: frozenset[str] = frozenset(
    {"customer", "fees", "applied_taxes", "applied_invoice_custom_sections"}
)
VOIDED_WEBHOOK: frozenset[str] = frozenset(
    {"customer", "billing_periods", "subscriptions", "fees", "credits", "applied_taxes"}
)
PAYMENT_OVERDUE_WEBHOOK: frozenset[str] = frozenset({"customer", "fees", "applied_taxes"})


def invoice_one_off_created_webhook_payload(session: Session, event: InvoiceEvent) -> dict[str, Any]:
    return invoice_payload(session, event.invoice, includes=ONE_OFF_CREATED_WEBHOOK, now=event.at)


def invoice_voided_webhook_payload(session: Session, event: InvoiceEvent) -> dict[str, Any]:
    return invoice_payload(session, event.invoice, includes=VOIDED_WEBHOOK, now=event.at)


def invoice_payment_overdue_webhook_payload(session: Session, event: InvoiceEvent) -> dict[str, Any]:
    return invoice_payload(session, event.invoice, includes=PAYMENT_OVERDUE_WEBHOOK, now=event.at)
