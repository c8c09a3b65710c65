"""Organizations: bootstrap, creation, API keys, and settings (kept on the default billing entity)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from billow.core.errors import NotFound
from billow.core.ids import hash_api_key, new_api_key, new_id, parse_uuid
from billow.organizations.models import ApiKey, BillingEntity, Organization


@dataclass(frozen=True)
class CreatedOrganization:
    organization: Organization
    billing_entity: BillingEntity
    api_key: str


def default_prefix(name: str, org_id: uuid.UUID) -> str:
    """Lago's default document prefix: first three letters of the name + last four of the id."""
    letters = re.sub(r"[^A-Za-z0-9]", "", name)[:3].upper() or "ORG"
    return f"{letters}-{str(org_id)[-4:].upper()}"


def create_organization(
    session: Session,
    *,
    name: str,
    now: datetime,
    api_key: str | None = None,
    hmac_key: str | None = None,
) -> CreatedOrganization:
    org = Organization(
        id=new_id(),
        name=name,
        hmac_key=hmac_key or str(uuid.uuid4()),
        created_at=now,
        updated_at=now,
    )
    session.add(org)
    session.flush()
    entity = BillingEntity(
        organization_id=org.id,
        code=re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "default",
        name=name,
        is_default=True,
        document_number_prefix=default_prefix(name, org.id),
        created_at=now,
        updated_at=now,
    )
    session.add(entity)
    key = api_key or new_api_key()
    session.add(ApiKey(organization_id=org.id, key_hash=hash_api_key(key), name="Default", created_at=now))
    session.flush()
    return CreatedOrganization(org, entity, key)


def ensure_bootstrap_organization(
    session: Session, *, api_key: str, name: str, hmac_key: str | None, now: datetime
) -> Organization:
    """Make sure an organization answering to ``api_key`` exists (``BILLOW_ORG_API_KEY``)."""
    org_id = organization_id_for_key(session, api_key)
    if org_id is not None:
        org = session.get(Organization, org_id)
        assert org is not None
        if hmac_key and org.hmac_key != hmac_key:
            org.hmac_key = hmac_key
            org.updated_at = now
        return org
    return create_organization(session, name=name, now=now, api_key=api_key, hmac_key=hmac_key).organization


def organization_id_for_key(session: Session, api_key: str) -> uuid.UUID | None:
    return session.scalar(select(ApiKey.organization_id).where(ApiKey.key_hash == hash_api_key(api_key)))


def get_organization(session: Session, org_id: uuid.UUID) -> Organization:
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound("organization")
    return org


def default_billing_entity(session: Session, org_id: uuid.UUID) -> BillingEntity:
    entity = session.scalar(
        select(BillingEntity).where(
            BillingEntity.organization_id == org_id, BillingEntity.is_default.is_(True)
        )
    )
    if entity is None:
        raise NotFound("billing_entity")
    return entity


def list_organizations(session: Session) -> list[Organization]:
    return list(session.scalars(select(Organization).order_by(Organization.created_at, Organization.id)))


def find_organization(session: Session, ref: str) -> Organization:
    """By id, exact name, or API key (for the CLI)."""
    parsed = parse_uuid(ref)
    if parsed is not None:
        org = session.get(Organization, parsed)
        if org is not None:
            return org
        by_key = organization_id_for_key(session, ref)
        if by_key is not None:
            return get_organization(session, by_key)
    org = session.scalar(
        select(Organization).where(Organization.name == ref).order_by(Organization.created_at)
    )
    if org is None:
        raise NotFound("organization")
    return org


def update_settings(
    session: Session, org_id: uuid.UUID, changes: dict[str, object], now: datetime
) -> BillingEntity:
    """Apply ``PUT /organizations`` fields to the default billing entity."""
    entity = default_billing_entity(session, org_id)
    billing = changes.pop("billing_configuration", None)
    for field, value in changes.items():
        if field == "webhook_url":
            continue
        if field in (
            "net_payment_term",
            "finalize_zero_amount_invoice",
            "document_numbering",
            "timezone",
        ) and (value is None):
            continue
        if field in ("default_currency", "document_number_prefix", "email_settings") and value is None:
            continue
        setattr(entity, field, value)
    if isinstance(billing, dict):
        for field in ("invoice_footer", "invoice_grace_period", "document_locale"):
            if field in billing and (billing[field] is not None or field == "invoice_footer"):
                setattr(entity, field, billing[field])
    entity.updated_at = now
    org = get_organization(session, org_id)
    org.updated_at = now
    session.flush()
    return entity
