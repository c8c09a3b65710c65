"""Customers in Lago's shape.

``customer_payload`` is the CustomerObject: what ``customer.created/updated`` webhooks carry
(the customer, its metadata and ``integration_customers``; no taxes, as in Lago's webhook
serializers). Lago's controller adds ``taxes`` in lists (``LIST``), and also
``applicable_invoice_custom_sections`` and ``error_details`` when it answers with one customer
(``DETAIL``).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billow.core.timefmt import iso_z
from billow.customers.billing_entities import billing_entities_by_id
from billow.customers.models import Customer, CustomerMetadata
from billow.customers.taxes import taxes_by_customer
from billow.organizations.models import BillingEntity
from billow.pricing.taxes.serializers import taxes_payload

WEBHOOK: frozenset[str] = frozenset({"integration_customers"})
LIST: frozenset[str] = WEBHOOK | {"taxes"}
DETAIL: frozenset[str] = LIST | {"applicable_invoice_custom_sections", "error_details"}


def metadata_payload(item: CustomerMetadata) -> dict[str, Any]:
    return {
        "lago_id": str(item.id),
        "key": item.key,
        "value": item.value,
        "display_in_invoice": item.display_in_invoice,
        "created_at": iso_z(item.created_at),
    }


def _billing_configuration(customer: Customer) -> dict[str, Any]:
    configuration: dict[str, Any] = {
        "invoice_grace_period": customer.invoice_grace_period,
        "payment_provider": customer.payment_provider,
        "payment_provider_code": customer.payment_provider_code,
        "document_locale": customer.document_locale,
        "subscription_invoice_issuing_date_anchor": customer.subscription_invoice_issuing_date_anchor,
        "subscription_invoice_issuing_date_adjustment": customer.subscription_invoice_issuing_date_adjustment,
    }
    # No provider customer exists yet (payments are a later package): Lago then shows nulls.
    if customer.payment_provider in ("stripe", "gocardless", "cashfree", "adyen", "moneyhash"):
        configuration["provider_customer_id"] = None
    if customer.payment_provider == "stripe":
        configuration["provider_payment_methods"] = None
    return configuration


def _payload(
    customer: Customer,
    entity: BillingEntity,
    metadata: Sequence[CustomerMetadata],
    taxes: list[dict[str, Any]],
    includes: Collection[str],
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "lago_id": str(customer.id),
        "billing_entity_code": entity.code,
        "external_id": customer.external_id,
        "account_type": customer.account_type,
        "name": customer.name,
        "firstname": customer.firstname,
        "lastname": customer.lastname,
        "customer_type": customer.customer_type,
        "sequential_id": customer.sequential_id,
        "slug": customer.slug,
        "created_at": iso_z(customer.created_at),
        "updated_at": iso_z(customer.updated_at),
        "country": customer.country,
        "address_line1": customer.address_line1,
        "address_line2": customer.address_line2,
        "state": customer.state,
        "zipcode": customer.zipcode,
        "email": customer.email,
        "city": customer.city,
        "url": customer.url,
        "phone": customer.phone,
        "logo_url": customer.logo_url,
        "legal_name": customer.legal_name,
        "legal_number": customer.legal_number,
        "currency": customer.currency,
        "tax_identification_number": customer.tax_identification_number,
        "timezone": customer.timezone,
        "applicable_timezone": customer.timezone or entity.timezone or "UTC",
        "net_payment_term": customer.net_payment_term,
        "external_salesforce_id": customer.external_salesforce_id,
        "finalize_zero_amount_invoice": customer.finalize_zero_amount_invoice,
        "billing_configuration": _billing_configuration(customer),
        "shipping_address": {
            "address_line1": customer.shipping_address_line1,
            "address_line2": customer.shipping_address_line2,
            "city": customer.shipping_city,
            "zipcode": customer.shipping_zipcode,
            "state": customer.shipping_state,
            "country": customer.shipping_country,
        },
        "skip_invoice_custom_sections": customer.skip_invoice_custom_sections,
        "metadata": [metadata_payload(m) for m in metadata],
    }
    if "taxes" in includes:
        payload["taxes"] = taxes
    # Nothing to list yet: integrations and invoice custom sections are later packages.
    for name in ("integration_customers", "applicable_invoice_custom_sections", "error_details"):
        if name in includes:
            payload[name] = []
    return payload


def _metadata_by_customer(session: Session, customer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    grouped: dict[uuid.UUID, list[Any]] = {cid: [] for cid in customer_ids}
    if not customer_ids:
        return grouped
    rows = session.scalars(
        select(CustomerMetadata)
        .where(CustomerMetadata.customer_id.in_(customer_ids))
        .order_by(CustomerMetadata.created_at, CustomerMetadata.key)
    )
    for row in rows:
        grouped[row.customer_id].append(row)
    return grouped


def _taxes_by_customer(
    session: Session, customers: Sequence[Customer]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Each customer's ``taxes`` (TaxObjects), every distinct tax serialized once."""
    taxes = taxes_by_customer(session, [c.id for c in customers])
    distinct = list({t.id: t for group in taxes.values() for t in group}.values())
    by_id = {t.id: p for t, p in zip(distinct, taxes_payload(session, distinct), strict=True)}
    return {cid: [by_id[t.id] for t in group] for cid, group in taxes.items()}


def customer_payloads(
    session: Session, customers: Sequence[Customer], *, includes: Collection[str] = WEBHOOK
) -> list[dict[str, Any]]:
    """Many customers with a few extra queries in all (metadata, billing entities, taxes)."""
    if not customers:
        return []
    org_id = customers[0].organization_id
    entities = billing_entities_by_id(session, org_id, {c.billing_entity_id for c in customers})
    metadata = _metadata_by_customer(session, [c.id for c in customers])
    taxes = _taxes_by_customer(session, customers) if "taxes" in includes else {}
    return [
        _payload(c, entities[c.billing_entity_id], metadata[c.id], taxes.get(c.id, []), includes)
        for c in customers
    ]


def customer_payload(
    session: Session, customer: Customer, *, includes: Collection[str] = WEBHOOK
) -> dict[str, Any]:
    return customer_payloads(session, [customer], includes=includes)[0]
