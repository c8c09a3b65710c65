"""Sibling aggregation (``billow.metering.store.aggregate_siblings``): in a group of jobs, one
statement reads a charge's aggregation for every subscription of a plan, and each subscription's
result is exactly what its own statement gives."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event as sa_event

from billow.db.context import Ctx
from billow.db.prefetch import Prefetched
from billow.metering.aggregation import FilterSpec
from billow.metering.store.aggregate_siblings import share_siblings
from tests.metering.aggregation_helpers import STORE, Events, at, metric, request, run

SUBS = ["sub_1", "sub_2", "sub_3", "sub_4"]  # sub_4 has no event
CLOUD = [{"key": "cloud", "values": ["aws", "gcp"]}]


def _events(api: Any, code: str) -> None:
    ev = Events(api, code)
    batch = []
    for n, sub in enumerate(SUBS[:3], start=1):
        for k in range(n * 3):
            cloud = ("aws", "gcp", "azure")[k % 3]
            region = ("eu", "us")[k % 2]
            batch.append(ev.make(at(2 + k, n), sub=sub, v=str(k * n + 0.25), cloud=cloud, region=region))
    batch.append(ev.make(at(2), sub="sub_x", v="1000"))  # another subscription, not a sibling
    ev.post(batch)


def _in_group(runtime, org, requests, families) -> tuple[list[Any], int]:
    """``requests`` answered in one transaction of a group (``ctx.prefetched``), and how many
    statements that took."""
    statements: list[str] = []

    def record(conn, cursor, statement, params, context, executemany):
        statements.append(statement)

    with runtime.db.session() as session:
        ctx = Ctx(session, runtime.clock, runtime.settings, org.id, prefetched=Prefetched())
        share_siblings(ctx, families)
        sa_event.listen(runtime.db.engine, "before_cursor_execute", record)
        try:
            results = [STORE.aggregate(ctx, r) for r in requests]
        finally:
            sa_event.remove(runtime.db.engine, "before_cursor_execute", record)
    return results, sum(1 for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH")))


CASES = {
    "count by group": ("calls", "count_agg", None, {"group_keys": ["region"]}),
    "sum by filter": ("hours", "sum_agg", CLOUD, {"filters": [FilterSpec("gcp", {"cloud": ["gcp"]})]}),
    "max": ("peak", "max_agg", None, {}),
    "precise sum": ("amount", "sum_agg", None, {"precise_total_amount": True}),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_siblings_read_in_one_statement_get_what_each_reads_alone(api, runtime, org, case):
    code, kind, filters, options = CASES[case]
    metric(api, code, kind, **({"filters": filters} if filters else {}))
    _events(api, code)
    requests = [request(runtime, org, code, sub=sub, **options) for sub in SUBS]
    alone = [run(runtime, org, r) for r in requests]
    grouped, count = _in_group(runtime, org, requests, {sub: "plan" for sub in SUBS})
    assert count == 1
    assert grouped == alone
    assert sum(e.events_count for r in alone for e in r.entries) > 0


def test_a_sibling_asking_for_another_window_reads_its_own(api, runtime, org):
    metric(api, "calls", "count_agg")
    _events(api, "calls")
    requests = [request(runtime, org, "calls", sub=sub) for sub in SUBS]
    requests[2] = request(runtime, org, "calls", sub="sub_3", start=at(5))  # started later
    alone = [run(runtime, org, r) for r in requests]
    grouped, count = _in_group(runtime, org, requests, {sub: "plan" for sub in SUBS})
    assert grouped == alone
    # sub_1's statement (1 March on) served sub_2 and sub_4; sub_3 (5 March on) read its window
    # in a statement of its own, with its siblings (whose results for that window go unused)
    assert count == 2
    assert [e.units for e in alone[2].entries] == [Decimal(9 - 3)]  # sub_3: 9 events, 3 before 5 March


def test_other_families_and_kinds_that_do_not_qualify_read_their_own(api, runtime, org):
    metric(api, "calls", "count_agg")
    metric(api, "users", "unique_count_agg")
    _events(api, "calls")
    _events(api, "users")
    families = {"sub_1": "pro", "sub_2": "basic", "sub_3": "basic"}
    requests = [request(runtime, org, "calls", sub=sub) for sub in SUBS[:3]]
    requests += [request(runtime, org, "users", sub=sub) for sub in SUBS[:3]]
    alone = [run(runtime, org, r) for r in requests]
    grouped, count = _in_group(runtime, org, requests, families)
    assert grouped == alone
    # calls: sub_1 alone in its family (its own statement), sub_2 with sub_3 (one); users: one
    # statement each (unique counts do not qualify)
    assert count == 1 + 1 + 3


def test_outside_a_group_every_request_reads_its_own(api, runtime, org):
    metric(api, "calls", "count_agg")
    _events(api, "calls")
    requests = [request(runtime, org, "calls", sub=sub) for sub in SUBS]
    alone = [run(runtime, org, r) for r in requests]
    with runtime.db.session() as session:
        ctx = Ctx(session, runtime.clock, runtime.settings, org.id)
        share_siblings(ctx, {sub: "plan" for sub in SUBS})  # no group: nothing shared
        assert [STORE.aggregate(ctx, r) for r in requests] == alone


def test_a_sibling_whose_request_differs_beyond_its_statement_reads_its_own(api, runtime, org):
    """Rounding shapes no SQL (the statement is the same), yet the result: a sibling's request
    with another rounding must not take the result read for it under the first one's."""
    metric(api, "amount", "sum_agg")
    _events(api, "amount")
    plain = [request(runtime, org, "amount", sub=sub) for sub in SUBS]
    rounded_metric = replace(plain[1].metric, rounding_function="round", rounding_precision=0)
    requests = [plain[0], replace(plain[1], metric=rounded_metric), plain[2]]
    alone = [run(runtime, org, r) for r in requests]
    assert alone[1] != run(runtime, org, plain[1])  # the rounding shows
    grouped, count = _in_group(runtime, org, requests, {sub: "plan" for sub in SUBS})
    assert grouped == alone
    assert count == 2  # sub_1's siblings statement; sub_2's own
