"""One aggregation for several subscriptions in one statement (a group of billing jobs).

A group of billing jobs run in one transaction (``billow.db.prefetch``) bills subscriptions of the
same plans over the same windows, so each charge's aggregation differs between them only by the
subscription. When a job of the group asks for a charge's aggregation, the request is also made
for its *siblings* — the group's other subscriptions on the same plan (``share_siblings``) — as
one statement: the charge's period statement with the subscription as the first group column
(``Scope.siblings``). The rows of each subscription are then read exactly as its own statement's
rows would be (``_entries`` with a runner fed those rows), and each sibling's result waits in
``ctx.prefetched`` under its request. A sibling's job takes it only when its own request is the
same in every respect (``request_key``); any other request (another window, a subscription that
started mid-period) runs its own statement as before.

Only the aggregations that are one period statement qualify (count, sum, max; no per-event
values, proration, pay-in-advance high-water marks or cut-off; one statement's worth of buckets);
the others always run on their own. The rows are those of the moment of the sibling statement,
earlier in the same transaction than the sibling's job: the same outcome as if that job had run
then.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from billow.db.context import Ctx
from billow.db.prefetch import MISSING
from billow.metering.aggregation.buckets import MAX_BUCKETS_PER_MASK, plan_buckets
from billow.metering.aggregation.types import AggregationRequest, AggregationResult
from billow.metering.store.aggregate_cache import StatementCache, request_shape
from billow.metering.store.aggregate_main import period_statement
from billow.metering.store.aggregate_numbers import Numbers
from billow.metering.store.aggregate_rows import make_scope

SIBLING_TYPES = frozenset({"count_agg", "sum_agg", "max_agg"})
SIBLINGS = "metering.siblings"
RESULT = "metering.aggregation"
ASKED = "metering.asked_for_siblings"

EntriesOf = Callable[[Mapping[str, list[Any]], Sequence[AggregationRequest]], list[AggregationResult]]
"""``(rows by external subscription id, batch) → results``: what ``aggregate`` computes for each
request of a batch of siblings (the same request but for the subscription) when its period
statement answers its rows."""


def share_siblings(ctx: Ctx, families: Mapping[str, Hashable]) -> None:
    """For a group of jobs: ``families`` maps external subscription ids to a token (their plan):
    subscriptions of one token are likely to ask for the same aggregations."""
    if ctx.prefetched is not None and families:
        ctx.prefetched.share(SIBLINGS, None, dict(families))


def request_key(request: AggregationRequest) -> Hashable:
    """Where a request's result waits: its shape, organization, subscription and window (the
    request itself may not be hashable; :func:`taken` compares it whole)."""
    return (
        request_shape(request),
        request.organization_id,
        request.external_subscription_id,
        request.from_datetime,
        request.to_datetime,
    )


def qualifies(request: AggregationRequest) -> bool:
    o = request.options
    return (
        request.metric.aggregation_type in SIBLING_TYPES
        and not o.event_values
        and o.proration is None
        and o.weighted is None
        and not o.high_water
        and o.upto is None
    )


def taken(ctx: Ctx, request: AggregationRequest) -> AggregationResult | None:
    """The result a sibling statement read for ``request``, once."""
    if ctx.prefetched is None or not qualifies(request):
        return None
    found = ctx.prefetched.take(RESULT, request_key(request))
    if found is MISSING:
        return None
    asked_for, result = found
    # ``request_key`` finds it; the whole request must match (every field of it).
    return result if asked_for == request else None


def with_siblings(
    ctx: Ctx,
    request: AggregationRequest,
    statements: StatementCache | None,
    entries_of: EntriesOf,
) -> AggregationResult | None:
    """``request``'s result, computed in one statement with its siblings' (theirs left in
    ``ctx.prefetched``); ``None`` when there is no sibling to ask for or the request does not
    qualify."""
    if ctx.prefetched is None or not qualifies(request):
        return None
    families = ctx.prefetched.shared(SIBLINGS, None)
    if not isinstance(families, dict) or request.external_subscription_id not in families:
        return None
    family = families[request.external_subscription_id]
    asked = ctx.prefetched.memo(ASKED, None, set)
    generic = (request_key(replace(request, external_subscription_id="")), family)
    if generic in asked:
        return None
    asked.add(generic)
    others = [sub for sub, f in families.items() if f == family and sub != request.external_subscription_id]
    if not others:
        return None
    batch = [request, *(replace(request, external_subscription_id=sub) for sub in others)]
    rows = _sibling_rows(ctx.session, batch, statements)
    if rows is None:
        return None
    results = entries_of(rows, batch)
    for sibling, result in zip(batch[1:], results[1:], strict=True):
        ctx.prefetched.put(RESULT, request_key(sibling), (sibling, result))
    return results[0]


def _sibling_rows(
    session: Session, batch: Sequence[AggregationRequest], statements: StatementCache | None
) -> dict[str, list[Any]] | None:
    """The period statement's rows of every request of ``batch`` (one statement), by external
    subscription id; ``None`` when they take more than one statement, or on SQLite when a sum
    overflows 64 bits (each request then runs on its own, exactly)."""
    first = batch[0]
    plan = plan_buckets(first.metric, first.filters, first.group_keys)
    if len(plan.buckets) > MAX_BUCKETS_PER_MASK:
        return None
    keys = tuple(dict.fromkeys(key for bucket in plan.buckets for key in bucket.group_keys))
    scope = replace(make_scope(first, session.get_bind().dialect.name, plan), siblings=True)
    numbers = Numbers(scope.dialect)
    positions = tuple(b.position for b in scope.buckets)
    key = ("period_siblings", request_shape(first), scope.shape(), keys, positions)

    def build() -> Any:
        return period_statement(scope, keys, scope.buckets, numbers)

    stmt = statements.get(key, build) if statements is not None else build()
    params = {**scope.params.values, "subs": [r.external_subscription_id for r in batch]}
    try:
        result = session.execute(stmt, params).mappings().all()
    except OperationalError as exc:
        # SQLite: a statement error leaves the transaction as it was (PostgreSQL's would not).
        if scope.dialect.is_pg or "overflow" not in str(exc).lower():
            raise
        return None
    found: dict[str, list[Any]] = {}
    for row in result:
        found.setdefault(row["bsub"], []).append(row)
    return found
