"""Invoice settings from the customer, else its billing entity (billing.md §4.2).

Grace period, net payment term, the zero-amount rule and the issuing / payment-due / expected
finalization dates of a subscription invoice, all in the customer's timezone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from billow.customers.models import Customer
from billow.organizations.models import BillingEntity

DEFAULT_ANCHOR = "next_period_start"
DEFAULT_ADJUSTMENT = "align_with_finalization_date"


def grace_period_days(customer: Customer, entity: BillingEntity) -> int:
    if customer.invoice_grace_period is not None:
        return customer.invoice_grace_period
    return entity.invoice_grace_period or 0


def net_payment_term_days(customer: Customer, entity: BillingEntity) -> int:
    if customer.net_payment_term is not None:
        return customer.net_payment_term
    return entity.net_payment_term or 0


def finalizes_zero_amount(customer: Customer, entity: BillingEntity) -> bool:
    setting = customer.finalize_zero_amount_invoice or "inherit"
    if setting == "inherit":
        return bool(entity.finalize_zero_amount_invoice)
    return setting == "finalize"


def keeps_anchor(customer: Customer) -> bool:
    return (customer.subscription_invoice_issuing_date_adjustment or DEFAULT_ADJUSTMENT) == "keep_anchor"


def issuing_adjustment_days(customer: Customer, grace: int, *, recurring: bool) -> int:
    """Days added to the billing date (Lago's ``IssuingDateService``)."""
    if not recurring:
        return grace
    anchor = customer.subscription_invoice_issuing_date_anchor or DEFAULT_ANCHOR
    adjustment = customer.subscription_invoice_issuing_date_adjustment or DEFAULT_ADJUSTMENT
    if anchor == "current_period_end":
        if adjustment == "keep_anchor":
            return -1
        return -1 if grace == 0 else grace
    return 0 if adjustment == "keep_anchor" else grace


@dataclass(frozen=True)
class InvoiceDates:
    issuing_date: date
    payment_due_date: date
    expected_finalization_date: date


def subscription_invoice_dates(
    customer: Customer, entity: BillingEntity, billing_day: date, *, recurring: bool
) -> InvoiceDates:
    grace = grace_period_days(customer, entity)
    term = net_payment_term_days(customer, entity)
    issuing = billing_day + timedelta(days=issuing_adjustment_days(customer, grace, recurring=recurring))
    expected = billing_day + timedelta(days=grace)
    return InvoiceDates(issuing, issuing + timedelta(days=term), expected)
