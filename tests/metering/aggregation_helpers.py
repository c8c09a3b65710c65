"""Helpers of the aggregation tests: metrics and events through the real API, then ``aggregate``."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from billow.db.context import Ctx
from billow.metering.aggregation import (
    AggregationOptions,
    AggregationRequest,
    AggregationResult,
    EventUnits,
    FilterSpec,
    MetricSpec,
)
from billow.metering.specs import metric_spec_by_code
from billow.metering.store import EventRecord, SqlEventStore
from billow.runtime import Runtime
from tests.metering.helpers import create_metric
from tests.support.api import Api, Org, make_org

STORE = SqlEventStore()
F = datetime(2024, 3, 1, tzinfo=UTC)
T = datetime(2024, 3, 31, 23, 59, 59, 999999, tzinfo=UTC)
SUB = "sub_1"
_IDS = itertools.count(1)


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0, month: int = 3) -> datetime:
    return datetime(2024, month, day, hour, minute, second, micro, tzinfo=UTC)


def unix(moment: datetime) -> str:
    """Unix seconds as an exact decimal string (microseconds kept)."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    whole = delta.days * 86400 + delta.seconds
    return f"{whole}.{delta.microseconds:06d}"


class Events:
    """Posts events through ``POST /api/v1/events/batch`` with increasing transaction ids."""

    def __init__(self, api: Any, code: str, sub: str = SUB) -> None:
        self.api, self.code, self.sub, self.n = api, code, sub, 0

    def make(
        self, when: datetime, sub: str | None = None, code: str | None = None, **props: Any
    ) -> dict[str, Any]:
        self.n += 1
        return {
            "transaction_id": f"tx_{next(_IDS)}",
            "external_subscription_id": sub or self.sub,
            "code": code or self.code,
            "timestamp": unix(when),
            "properties": props,
        }

    def send(
        self, when: datetime, sub: str | None = None, code: str | None = None, **props: Any
    ) -> dict[str, Any]:
        event = self.make(when, sub, code, **props)
        self.post([event])
        return event

    def post(self, events: Sequence[dict[str, Any]]) -> None:
        for i in range(0, len(events), 100):
            r = self.api.post("/events/batch", {"events": list(events[i : i + 100])})
            assert r.status_code == 200, r.text


def metric(api: Any, code: str, aggregation_type: str, field_name: str | None = "v", **fields: Any) -> None:
    body: dict[str, Any] = {"name": code, "code": code, "aggregation_type": aggregation_type, **fields}
    if field_name is not None and aggregation_type != "count_agg":
        body["field_name"] = field_name
    else:
        body.pop("field_name", None)
    if aggregation_type == "weighted_sum_agg":
        body.setdefault("weighted_interval", "seconds")
    create_metric(api, **body)


def spec(runtime: Runtime, org: Any, code: str) -> MetricSpec:
    with runtime.db.session() as session:
        ctx = Ctx(session=session, clock=runtime.clock, settings=runtime.settings, organization_id=org.id)
        return metric_spec_by_code(ctx, code)


def request(
    runtime: Runtime,
    org: Any,
    code: str,
    *,
    start: datetime = F,
    end: datetime = T,
    filters: Iterable[FilterSpec] = (),
    group_keys: Sequence[str] = (),
    sub: str = SUB,
    **options: Any,
) -> AggregationRequest:
    return AggregationRequest(
        organization_id=org.id,
        external_subscription_id=sub,
        metric=spec(runtime, org, code),
        from_datetime=start,
        to_datetime=end,
        filters=tuple(filters),
        group_keys=tuple(group_keys),
        options=AggregationOptions(**options),
    )


def run(runtime: Runtime, org: Any, req: AggregationRequest) -> AggregationResult:
    with runtime.db.session() as session:
        ctx = Ctx(session=session, clock=runtime.clock, settings=runtime.settings, organization_id=org.id)
        return STORE.aggregate(ctx, req)


def aggregate(runtime: Runtime, org: Any, code: str, **kw: Any) -> AggregationResult:
    return run(runtime, org, request(runtime, org, code, **kw))


def stored(runtime: Runtime, org: Any, transaction_id: str) -> EventRecord:
    with runtime.db.session() as session:
        ctx = Ctx(session=session, clock=runtime.clock, settings=runtime.settings, organization_id=org.id)
        record = STORE.get(ctx, transaction_id)
        assert record is not None
        return record


def units_of(runtime: Runtime, org: Any, req: AggregationRequest, transaction_id: str) -> EventUnits:
    event = stored(runtime, org, transaction_id)
    with runtime.db.session() as session:
        ctx = Ctx(session=session, clock=runtime.clock, settings=runtime.settings, organization_id=org.id)
        return STORE.event_units(ctx, req, event)


def tick(runtime: Runtime, seconds: int = 1) -> None:
    """Move the manual clock (events get distinct ``created_at``)."""
    clock = runtime.clock
    clock.set(clock.now() + timedelta(seconds=seconds))  # type: ignore[attr-defined]


def d(text: str) -> Decimal:
    return Decimal(text)


def fresh_org(runtime: Runtime, client: Any) -> tuple[Org, Api]:
    """A new organization and its API client (one per hypothesis example: no shared state)."""
    org = make_org(runtime, f"Org {next(_IDS)}")
    return org, Api(client, org.api_key)
