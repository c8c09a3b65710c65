"""Organization in Lago's shape (settings come from the default billing entity)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from billow.core.timefmt import iso_z
from billow.organizations.models import BillingEntity, Organization


def organization_payload(
    org: Organization,
    entity: BillingEntity,
    webhook_urls: Sequence[str],
    taxes: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    return {
        "lago_id": str(org.id),
        "name": org.name,
        "created_at": iso_z(org.created_at),
        "webhook_url": webhook_urls[0] if webhook_urls else None,
        "webhook_urls": list(webhook_urls),
        "country": entity.country,
        "default_currency": entity.default_currency,
        "address_line1": entity.address_line1,
        "address_line2": entity.address_line2,
        "state": entity.state,
        "zipcode": entity.zipcode,
        "email": entity.email,
        "city": entity.city,
        "legal_name": entity.legal_name,
        "legal_number": entity.legal_number,
        "document_numbering": entity.document_numbering,
        "document_number_prefix": entity.document_number_prefix,
        "net_payment_term": entity.net_payment_term,
        "tax_identification_number": entity.tax_identification_number,
        "timezone": entity.timezone,
        "email_settings": list(entity.email_settings or []),
        "billing_configuration": {
            "invoice_footer": entity.invoice_footer,
            "invoice_grace_period": entity.invoice_grace_period,
            "document_locale": entity.document_locale,
        },
        "finalize_zero_amount_invoice": entity.finalize_zero_amount_invoice,
        "taxes": list(taxes),
        "events_store": "postgres",
    }
