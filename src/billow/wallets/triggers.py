"""When ongoing balances are recomputed, besides balance moves (:mod:`billow.wallets.ledger`):

* events ingested for a customer with an active wallet — an ``IngestionHooks`` listener queues
  one refresh per customer and 5-minute window, run at the window's end (so a burst of events
  costs one refresh, as Lago's every-5-minutes refresh of flagged customers);
* an invoice finalized (``InvoiceFinalizedHooks``): it leaves the drafts counted as usage;
* daily, at the customer's local midnight hour (tick): new draft invoices and new periods.

The listener wants every code while the organization has an active wallet (ingestion caches that
answer with its metric cache).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select

from billow.billing.models import Invoice
from billow.customers.models import Customer
from billow.db.context import Ctx
from billow.db.prefetch import known_absent
from billow.jobs.queue import enqueue
from billow.metering.hooks import IngestionListener
from billow.metering.store import EventRecord
from billow.subscriptions.facts import customer_timezone
from billow.subscriptions.models import Subscription
from billow.wallets import ledger
from billow.wallets.flags import REFRESH_FLAG
from billow.wallets.models import Wallet

LISTENER_NAME = "wallets.ongoing_balance"
WINDOW = timedelta(minutes=5)


# Built once (asked when every invoice is finalized): the values are bound.
_ACTIVE = select(Wallet.id).where(Wallet.organization_id == bindparam("org"), Wallet.status == "active")
_CUSTOMER_ACTIVE = _ACTIVE.where(Wallet.customer_id == bindparam("customer")).limit(1)
_ACTIVE = _ACTIVE.limit(1)


def _has_active_wallet(ctx: Ctx, customer_id: object | None = None) -> bool:
    if customer_id is None:
        return ctx.session.scalar(_ACTIVE, {"org": ctx.org_id}) is not None
    if known_absent(ctx, REFRESH_FLAG, customer_id):
        return False
    return ctx.session.scalar(_CUSTOMER_ACTIVE, {"org": ctx.org_id, "customer": customer_id}) is not None


def wanted_codes(ctx: Ctx, codes: Collection[str]) -> set[str]:
    return set(codes) if _has_active_wallet(ctx) else set()


def refresh_after_events(ctx: Ctx, records: Sequence[EventRecord]) -> bool:
    external_ids = {r.external_subscription_id for r in records if r.external_subscription_id}
    if not external_ids:
        return False
    customer_ids = ctx.session.scalars(
        select(Subscription.customer_id)
        .join(Wallet, Wallet.customer_id == Subscription.customer_id)
        .where(
            Subscription.organization_id == ctx.org_id,
            Subscription.external_id.in_(external_ids),
            Wallet.status == "active",
        )
        .distinct()
    ).all()
    now = ctx.now()
    start = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    for customer_id in customer_ids:
        enqueue(
            ctx,
            ledger.REFRESH_JOB,
            {"customer_id": str(customer_id)},
            unique_key=f"wallets:refresh:{customer_id}:events:{start.isoformat()}",
            run_at=start + WINDOW,
        )
    return bool(customer_ids)


def ingestion_listener() -> IngestionListener:
    return IngestionListener(name=LISTENER_NAME, wants=wanted_codes, after_insert=refresh_after_events)


def refresh_after_finalization(ctx: Ctx, invoice: Invoice, was_draft: bool) -> None:
    """``InvoiceFinalizedHooks``: the customer's ongoing usage no longer counts this draft."""
    if _has_active_wallet(ctx, invoice.customer_id):
        ledger.request_refresh(ctx, invoice.customer_id, f"finalized:{invoice.id}")


def enqueue_daily_refreshes(ctx: Ctx, hour: datetime) -> int:
    """Tick: each customer with an active wallet, once a day, in its local midnight hour."""
    rows = ctx.session.execute(
        select(Customer).where(
            Customer.id.in_(select(Wallet.customer_id).where(Wallet.status == "active").distinct())
        )
    ).scalars()
    count = 0
    for customer in rows:
        local = hour.astimezone(ZoneInfo(customer_timezone(ctx.session, customer)))
        if local.hour != 0:
            continue
        if enqueue(
            ctx,
            ledger.REFRESH_JOB,
            {"customer_id": str(customer.id)},
            unique_key=f"wallets:refresh:{customer.id}:day:{local.date().isoformat()}",
            organization_id=customer.organization_id,
        ):
            count += 1
    return count
