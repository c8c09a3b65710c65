"""Bulk reads for a group of ``billing.bill_subscriptions`` jobs run in one transaction
(``JobKind.prepare``, ``billow.db.prefetch``).

For the customers that have exactly one job in the group, and whose job bills periodic items
only: the customers with their billing entities, the subscriptions with their successors, and
— for those none of whose subscriptions switches plans today (a pending downgrade) — the flags
of the packages built on billing (``BillingPrefetchHooks``): whether the customer has any active
coupon, available credit note, active wallet. A flag that says "none" spares the invoice its
presence probe (``billow.billing.adjustments``) or its wallet-refresh check; a flag that says
"some" changes nothing (the probe runs). Termination and upgrade jobs are left out: the credit
note of a termination is created by the job itself, after the group's reads.

History: the fee and invoice history of the quiet customers' subscriptions (what the fee rules
read of each: ``prefetch_histories``), the invoice each job creates added as it claims its
periods.

Usage: the group's subscriptions by plan (``share_siblings``), so that the first job asking for a
charge's aggregation reads it for every subscription of the plan in one statement.

Numbering (per-customer sequence): the customers of those whose invoice is finalized at once
(no grace period) and who have none of these adjustments are locked together, in id order, and
their highest sequence numbers read in one statement (``prefetch_customer_sequences``). Their
invoices are written without a flush of their own (``DEFERRED_CLAIM``,
``billow.db.prefetch.defer_writes``): each table's rows of the whole group go out together, and
an invoice goes out with its amounts, status and number (no UPDATE after its INSERT). A period
billed already then fails the group at that flush (the period's unique index), and its jobs run
again alone, where the claim is an ``INSERT … ON CONFLICT DO NOTHING``.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from billow.billing.drafts import DEFERRED_CLAIM
from billow.billing.fees.history import prefetch_histories
from billow.billing.invoicing import PERIODIC, prefetch_item_subscriptions
from billow.billing.issuing import grace_period_days
from billow.billing.numbering import prefetch_customer_sequences
from billow.billing.parties import prefetch_customers_and_entities
from billow.db.context import Ctx
from billow.metering.store.aggregate_siblings import share_siblings

CustomerFlagsLoader = Callable[[Ctx, Sequence[uuid.UUID]], Collection[uuid.UUID]]


@dataclass(frozen=True)
class BillingPrefetchHooks:
    """``loaders(ctx, customer_ids)``: each reads, in one statement for all ``customer_ids``, a
    flag its package's readers take from ``ctx.prefetched`` (``Prefetched.put_flags``), and
    returns the customers flagged (those that have some). Wired by ``billow.runtime.build_hooks``."""

    loaders: tuple[CustomerFlagsLoader, ...] = ()


def _periodic_only(payload: dict[str, Any]) -> list[uuid.UUID] | None:
    items = payload.get("items") or []
    if not items or any(item.get("reason") != PERIODIC for item in items):
        return None
    return [uuid.UUID(str(item["subscription_id"])) for item in items]


def prepare_bill_subscriptions(ctx: Ctx, payloads: Sequence[dict[str, Any]]) -> None:
    if ctx.prefetched is None:
        return
    jobs_per_customer = Counter(str(payload.get("customer_id")) for payload in payloads)
    items: list[tuple[uuid.UUID, uuid.UUID]] = []
    customers: list[uuid.UUID] = []
    for payload in payloads:
        customer = str(payload.get("customer_id"))
        subscriptions = _periodic_only(payload)
        if jobs_per_customer[customer] != 1 or subscriptions is None:
            continue
        customer_id = uuid.UUID(customer)
        customers.append(customer_id)
        items.extend((sub_id, customer_id) for sub_id in subscriptions)
    if not customers:
        return
    loaded = prefetch_customers_and_entities(ctx, customers)
    found = prefetch_item_subscriptions(ctx, items)
    # Subscriptions on one plan ask for the same aggregations: each is read for all of them at
    # once (``billow.metering.store.aggregate_siblings``).
    share_siblings(ctx, {sub.external_id: sub.plan_id for sub, _ in found.values()})
    switching = {
        customer_id
        for sub_id, customer_id in items
        if (row := found.get(sub_id)) is not None and row[1] is not None and row[1].status == "pending"
    }
    quiet = [customer_id for customer_id in customers if customer_id not in switching]
    if not quiet:
        return
    quiet_set = set(quiet)
    prefetch_histories(ctx, [sub_id for sub_id, customer_id in items if customer_id in quiet_set])
    having: set[uuid.UUID] = set()
    for loader in ctx.hooks.get(BillingPrefetchHooks).loaders:
        having |= set(loader(ctx, quiet))
    # Numbering: the customers whose invoice is finalized at once and takes nothing from a
    # coupon, credit note or wallet (whose locks other transactions take before the customer's:
    # locking these customers first could invert that order).
    first_item = {customer_id: sub_id for sub_id, customer_id in reversed(items)}
    owners: list[tuple[uuid.UUID, uuid.UUID]] = []
    for customer_id in quiet:
        party = loaded.get(customer_id)
        row = found.get(first_item[customer_id])
        if customer_id in having or party is None or row is None:
            continue
        if grace_period_days(party.customer, party.settings_entity) != 0:
            continue
        owners.append((customer_id, row[0].billing_entity_id or party.customer.billing_entity_id))
    prefetch_customer_sequences(ctx, owners)
    # Their invoices are written together, at the group's next flush (``DEFERRED_CLAIM``).
    ctx.prefetched.put_flags(DEFERRED_CLAIM, [c for c, _ in owners], {c for c, _ in owners})
