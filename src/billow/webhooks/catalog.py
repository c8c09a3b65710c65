"""Every webhook type Billow knows: its ``webhook_type``, ``object_type`` and serializer.

One entry per type. A type whose trigger is not built yet has ``serializer=None``: it is
accepted in endpoint ``event_types`` filters but cannot be emitted. Adding a type, or wiring its
serializer, is a one-line change here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sqlalchemy.orm import Session

from billow.billing.fee_serializers import fee_webhook_payload
from billow.billing.progressive.serializers import usage_threshold_reached_payload
from billow.billing.serializers import (
    invoice_created_webhook_payload,
    invoice_created_webhook_payloads,
    invoice_drafted_webhook_payload,
    invoice_payment_status_webhook_payload,
)
from billow.billing.webhook_payloads import (
    invoice_one_off_created_webhook_payload,
    invoice_payment_overdue_webhook_payload,
    invoice_voided_webhook_payload,
)
from billow.credit_notes.serializers import credit_note_created_webhook_payload
from billow.customers.serializers import customer_payload
from billow.metering.serializers import billable_metric_payload
from billow.pricing.plans.serializers import plan_deleted_webhook_payload, plan_webhook_payload
from billow.subscriptions.serializers import (
    subscription_webhook_payload,
    subscription_webhook_payload_with_entitlements,
)
from billow.wallets.serializers import (
    paid_credit_added_webhook_payload,
    wallet_depleted_webhook_payload,
    wallet_transaction_webhook_payload,
    wallet_webhook_payload,
)

Serializer = Callable[[Session, Any], dict[str, Any]]
BatchSerializer = Callable[[Session, Sequence[Any]], list[dict[str, Any]]]


@dataclass(frozen=True)
class WebhookType:
    name: str
    object_type: str
    serializer: Serializer | None = None
    # The string sent in the body when it differs from the registered name (Lago's quirk Q1).
    wire_name: str | None = None
    # The serializer of many objects at once (their related rows read together): a group of jobs
    # whose writes wait for its flush serializes its webhooks of this type together, at its end
    # (``billow.webhooks.emitter``). Same payloads as ``serializer``, object by object.
    batch_serializer: BatchSerializer | None = None

    @property
    def body_name(self) -> str:
        return self.wire_name or self.name


def _entries() -> list[WebhookType]:
    W = WebhookType
    return [
        # Alerts
        W("alert.triggered", "triggered_alert"),
        # Billable metrics
        W("billable_metric.created", "billable_metric", billable_metric_payload),
        W("billable_metric.updated", "billable_metric", billable_metric_payload),
        W("billable_metric.deleted", "billable_metric", billable_metric_payload),
        # Credit notes and refunds
        W("credit_note.created", "credit_note", credit_note_created_webhook_payload),
        W("credit_note.generated", "credit_note"),
        W(
            "credit_note.provider_refund_failure",
            "credit_note_payment_provider_refund_error",
            wire_name="credit_note.refund_failure",
        ),
        # Customers
        W("customer.created", "customer", customer_payload),
        W("customer.updated", "customer", customer_payload),
        W("customer.payment_provider_created", "customer"),
        W("customer.payment_provider_error", "payment_provider_customer_error"),
        W("customer.checkout_url_generated", "payment_provider_customer_checkout_url"),
        W("customer.accounting_provider_created", "customer"),
        W("customer.accounting_provider_error", "accounting_provider_customer_error"),
        W("customer.crm_provider_created", "customer"),
        W("customer.crm_provider_error", "crm_provider_customer_error"),
        W("customer.tax_provider_error", "tax_provider_customer_error"),
        W("customer.vies_check", "customer"),
        W("integration.provider_error", "provider_error"),
        # Dunning
        W("dunning_campaign.finished", "dunning_campaign"),
        # Events (deprecated health checks)
        W("event.error", "event_error"),
        W("events.errors", "events_errors"),
        # Features
        W("feature.created", "feature"),
        W("feature.updated", "feature"),
        W("feature.deleted", "feature"),
        # Fees
        W("fee.created", "fee", fee_webhook_payload),
        W("fee.tax_provider_error", "tax_provider_fee_error"),
        # Invoices
        W(
            "invoice.created",
            "invoice",
            invoice_created_webhook_payload,
            batch_serializer=invoice_created_webhook_payloads,
        ),
        W("invoice.drafted", "invoice", invoice_drafted_webhook_payload),
        W("invoice.ready_to_finalize", "invoice"),
        W("invoice.one_off_created", "invoice", invoice_one_off_created_webhook_payload),
        W("invoice.paid_credit_added", "invoice", paid_credit_added_webhook_payload),
        W("invoice.generated", "invoice"),
        W("invoice.voided", "invoice", invoice_voided_webhook_payload),
        W("invoice.deleted", "invoice"),
        W("invoice.payment_status_updated", "invoice", invoice_payment_status_webhook_payload),
        W("invoice.payment_overdue", "invoice", invoice_payment_overdue_webhook_payload),
        W("invoice.payment_failure", "payment_provider_invoice_payment_error"),
        W("invoice.payment_dispute_lost", "payment_dispute_lost"),
        W("invoice.resynced", "invoice"),
        # Payments
        W("payment.requires_action", "payment"),
        W("payment.succeeded", "payment"),
        W("payment_provider.error", "payment_provider_error"),
        W("payment_receipt.created", "payment_receipt"),
        W("payment_receipt.generated", "payment_receipt"),
        W("payment_request.created", "payment_request"),
        W("payment_request.payment_status_updated", "payment_request"),
        W("payment_request.payment_failure", "payment_provider_payment_request_payment_error"),
        # Plans
        W("plan.created", "plan", plan_webhook_payload),
        W("plan.updated", "plan", plan_webhook_payload),
        W("plan.deleted", "plan", plan_deleted_webhook_payload),
        # Subscriptions
        W("subscription.started", "subscription", subscription_webhook_payload_with_entitlements),
        W("subscription.updated", "subscription", subscription_webhook_payload_with_entitlements),
        W("subscription.terminated", "subscription", subscription_webhook_payload),
        W("subscription.canceled", "subscription", subscription_webhook_payload),
        W("subscription.incomplete", "subscription"),
        W("subscription.termination_alert", "subscription", subscription_webhook_payload),
        W("subscription.trial_ended", "subscription", subscription_webhook_payload),
        W("subscription.usage_threshold_reached", "subscription", usage_threshold_reached_payload),
        # Wallets and prepaid credits
        W("wallet.created", "wallet", wallet_webhook_payload),
        W("wallet.updated", "wallet", wallet_webhook_payload),
        W("wallet.terminated", "wallet", wallet_webhook_payload),
        W("wallet.depleted_ongoing_balance", "wallet", wallet_depleted_webhook_payload),
        W("wallet_transaction.created", "wallet_transaction", wallet_transaction_webhook_payload),
        W("wallet_transaction.updated", "wallet_transaction", wallet_transaction_webhook_payload),
        W("wallet_transaction.payment_failure", "payment_provider_wallet_transaction_payment_error"),
        # Quotes and orders (Lago's premium order-forms module; known so filters accept them)
        W("quote.created", "quote"),
        W("quote.approved", "quote"),
        W("quote.voided", "quote"),
        W("order_form.created", "order_form"),
        W("order_form.signed", "order_form"),
        W("order_form.expired", "order_form"),
        W("order_form.voided", "order_form"),
        W("order.created", "order"),
        W("order.executed", "order"),
    ]


def build_catalog() -> Mapping[str, WebhookType]:
    catalog: dict[str, WebhookType] = {}
    for entry in _entries():
        if entry.name in catalog:
            raise ValueError(f"webhook type {entry.name!r} listed twice")
        catalog[entry.name] = entry
    return MappingProxyType(catalog)


CATALOG: Mapping[str, WebhookType] = build_catalog()


def accepted_filter_names() -> frozenset[str]:
    """Names an endpoint's ``event_types`` may contain (registered names and wire names)."""
    names = set(CATALOG)
    names.update(e.wire_name for e in CATALOG.values() if e.wire_name)
    return frozenset(names)
