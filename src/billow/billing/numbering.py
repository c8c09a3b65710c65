"""Invoice numbers (billing.md §4.7), assigned when an invoice is finalized, gapless.

* Every finalized invoice takes the next per-(customer, billing entity) ``sequential_id``.
* ``per_customer``: ``<prefix>-<customer seq:03d>-<invoice seq:03d>``.
* ``per_organization`` (Lago's per billing entity): also the next ``billing_entity_sequential_id``
  — one more than the entity's numbered invoices, so switching from per-customer numbering
  continues after them — and ``<prefix>-<YYYYMM>-<seq:03d>``, YYYYMM being the finalization
  month in the entity's timezone (a label only: the sequence never resets).

Concurrency: the counter's owner row is locked (``SELECT … FOR NO KEY UPDATE`` on PostgreSQL;
SQLite serializes writers) until the transaction ends; the unique indexes on ``invoices`` are the
backstop.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select

from billow.billing.models import Invoice
from billow.customers.models import Customer
from billow.db.context import Ctx
from billow.db.one_of import one_of
from billow.db.prefetch import MISSING, take
from billow.organizations.models import BillingEntity

NUMBERED_STATUSES = ("finalized", "voided")
PER_ENTITY = ("per_organization", "per_billing_entity")


def draft_number(entity: BillingEntity) -> str:
    return f"{entity.document_number_prefix}-DRAFT"


def _lock(ctx: Ctx, model: type[Customer] | type[BillingEntity], row_id: object) -> None:
    """``FOR NO KEY UPDATE``: it does not conflict with the key-share locks that inserting rows
    referencing the owner take (a plain ``FOR UPDATE`` would deadlock two invoice insertions)."""
    if ctx.dialect == "postgresql":
        ctx.session.execute(select(model.id).where(model.id == row_id).with_for_update(key_share=True))


# Built once (every finalized invoice asks): the values are bound.
_CUSTOMER_SEQUENCE = select(func.max(Invoice.sequential_id)).where(
    Invoice.customer_id == bindparam("customer"),
    Invoice.billing_entity_id == bindparam("entity"),
    Invoice.sequential_id.is_not(None),
)


_CUSTOMER_SEQUENCES = (
    select(Invoice.customer_id, Invoice.billing_entity_id, func.max(Invoice.sequential_id))
    .where(
        Invoice.organization_id == bindparam("org"),
        one_of(Invoice.customer_id, key="customers"),
        Invoice.sequential_id.is_not(None),
    )
    .group_by(Invoice.customer_id, Invoice.billing_entity_id)
)
_LOCK_CUSTOMERS = (
    select(Customer.id)
    .where(Customer.organization_id == bindparam("org"), one_of(Customer.id, key="customers"))
    .order_by(Customer.id)
    .with_for_update(key_share=True)
)
PREFETCHED_SEQUENCE = "billing.customer_sequence"


def prefetch_customer_sequences(ctx: Ctx, owners: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """For a group of billing jobs: lock every customer of ``owners`` (customer id, billing
    entity id) at once, in id order, then read the highest sequence number of each — what
    :func:`assign_number` would lock and read per invoice. A lock taken here is held until the
    group commits, as the per-invoice lock is until its job commits."""
    if ctx.prefetched is None or not owners:
        return
    customers = sorted({customer_id for customer_id, _ in owners})
    if ctx.dialect == "postgresql":
        ctx.session.execute(_LOCK_CUSTOMERS, {"customers": customers, "org": ctx.org_id}).all()
    found = {
        (c, e): int(m or 0)
        for c, e, m in ctx.session.execute(_CUSTOMER_SEQUENCES, {"customers": customers, "org": ctx.org_id})
    }
    for owner in owners:
        ctx.prefetched.put(PREFETCHED_SEQUENCE, owner, found.get(owner, 0))


def _next_customer_sequence(ctx: Ctx, invoice: Invoice, *, locked: bool) -> int:
    """The next per-(customer, billing entity) sequence number: prefetched for a group of
    billing jobs (its customer locked then), else read — after locking the customer when
    ``locked`` is false."""
    current = take(ctx, PREFETCHED_SEQUENCE, (invoice.customer_id, invoice.billing_entity_id))
    if current is MISSING:
        if not locked:
            _lock(ctx, Customer, invoice.customer_id)
        current = ctx.session.scalar(
            _CUSTOMER_SEQUENCE, {"customer": invoice.customer_id, "entity": invoice.billing_entity_id}
        )
    return int(current or 0) + 1


def _next_entity_sequence(ctx: Ctx, invoice: Invoice) -> int:
    numbered = (
        Invoice.billing_entity_id == invoice.billing_entity_id,
        Invoice.status.in_(NUMBERED_STATUSES),
        Invoice.self_billed.is_(False),
    )
    highest = ctx.session.scalar(select(func.max(Invoice.billing_entity_sequential_id)).where(*numbered))
    count = ctx.session.scalar(select(func.count(Invoice.id)).where(*numbered, Invoice.id != invoice.id))
    return max(int(highest or 0), int(count or 0)) + 1


def assign_number(
    ctx: Ctx, invoice: Invoice, customer: Customer, entity: BillingEntity, now: datetime
) -> None:
    """Give ``invoice`` (being finalized) its sequence numbers and its number."""
    if invoice.sequential_id is not None and not invoice.number.endswith("-DRAFT"):
        return
    per_entity = entity.document_numbering in PER_ENTITY and not invoice.self_billed
    if per_entity:
        _lock(ctx, BillingEntity, entity.id)
        ctx.session.flush()  # the entity count reads every invoice's status
    # The customer sequence reads flushed sequence numbers only, and every assignment is flushed
    # at once (``number_and_finalize``): the invoice's pending amounts wait for its finalizing
    # UPDATE instead of going out on their own.
    with ctx.session.no_autoflush:
        invoice.sequential_id = _next_customer_sequence(ctx, invoice, locked=per_entity)
    prefix = entity.document_number_prefix
    if per_entity:
        invoice.billing_entity_sequential_id = _next_entity_sequence(ctx, invoice)
        month = now.astimezone(ZoneInfo(entity.timezone or "UTC")).strftime("%Y%m")
        invoice.number = f"{prefix}-{month}-{invoice.billing_entity_sequential_id:03d}"
    else:
        invoice.number = f"{prefix}-{customer.sequential_id:03d}-{invoice.sequential_id:03d}"
