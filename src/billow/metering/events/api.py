"""``/events``: the ingestion hot path and the event reads.

Handlers are ``async``: the body is read and parsed on the event loop, then all database work
and the response serialization run in ONE threadpool hop, and the answer leaves as bytes.

The two ingestion routes are served by plain Starlette endpoints (authentication called directly,
no dependency solving: about a third of the per-request CPU of a single event), which the app
calls before its router (``FAST_ROUTES``, ``billow.api.fast_routes``). They are also registered
first on the router, so they answer there too; the FastAPI declarations below them document the
same operations in ``/openapi.json``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from billow.api.body import parse_json, require_root
from billow.api.deps import OrgId, RawBody, authenticated_org, runtime_of, unit_of_work
from billow.api.pagination import Page
from billow.core.errors import BadRequest, ValidationFailed
from billow.core.pagination import page_meta
from billow.db.context import Ctx
from billow.metering.events import service
from billow.metering.events.state import MeteringState
from billow.metering.serializers import event_payload, events_payload
from billow.metering.store import EventRecord

router = APIRouter(tags=["events"])
T = TypeVar("T")
STATE_KEY = "metering"


def metering_state(request: Request) -> MeteringState:
    """Created on first use, on the event loop thread (only async handlers call this)."""
    state: MeteringState | None = getattr(request.app.state, STATE_KEY, None)
    if state is None:
        runtime = runtime_of(request)
        state = MeteringState(runtime.db, runtime.clock, runtime.settings, hooks=runtime.hooks)
        setattr(request.app.state, STATE_KEY, state)
    return state


def invalidate_metric_cache(request: Request, org_id: uuid.UUID) -> None:
    """Called after a metric write has committed (from any thread)."""
    state: MeteringState | None = getattr(request.app.state, STATE_KEY, None)
    if state is not None:
        state.metrics.invalidate(org_id)


def _json(content: bytes) -> Response:
    return Response(content, media_type="application/json")


async def _ingest_one(request: Request, org_id: uuid.UUID, body: bytes) -> Response:
    data = require_root(parse_json(body), "event")
    if not isinstance(data, dict):
        raise BadRequest.missing_param("event")
    state = metering_state(request)
    # On the event loop when the metric cache knows the code; a thread reads the metric otherwise.
    record = service.prepare_one_cached(org_id, data, now=state.clock.now(), metrics=state.metrics)
    if record is None:

        def prepare() -> EventRecord:
            with unit_of_work(request, org_id) as ctx:
                return service.prepare_one(ctx, data, metrics=state.metrics)

        record = await _in_thread(state, prepare)
    if not await state.committer.submit(record):  # shares a round trip with concurrent requests
        raise ValidationFailed(service.DUPLICATE)
    return _json(orjson.dumps({"event": event_payload(record)}))


async def _ingest_batch(request: Request, org_id: uuid.UUID, body: bytes) -> Response:
    data = parse_json(body)
    raw_events: Any = data.get("events") if isinstance(data, dict) else None
    max_length = runtime_of(request).settings.events_batch_max_length
    state = metering_state(request)

    def work() -> bytes:
        if state.serial_writes:
            with unit_of_work(request, org_id) as ctx:  # touches the database on a cache miss only
                records = service.prepare_batch(ctx, raw_events, max_length=max_length, metrics=state.metrics)
            # Only the insert and its commit hold the writer lock; the rest overlaps.
            with state.write_guard(), unit_of_work(request, org_id) as ctx:
                service.store_batch(ctx, records, store=state.store)
                service.notify_inserted(ctx, records, metrics=state.metrics)
        else:
            records = state.ingest_batch(org_id, raw_events, max_length=max_length)
        return orjson.dumps({"events": events_payload(records)})

    return _json(await _in_thread(state, work))


async def _in_thread(state: MeteringState, work: Callable[[], T]) -> T:
    """``work`` on ingestion's threads (cheaper than anyio's ``run_in_threadpool``)."""
    return await asyncio.get_running_loop().run_in_executor(state.executor, work)


async def _serve_one(request: Request) -> Response:
    return await _ingest_one(request, await authenticated_org(request), await request.body())


async def _serve_batch(request: Request) -> Response:
    return await _ingest_batch(request, await authenticated_org(request), await request.body())


router.add_route("/events", _serve_one, methods=["POST"], include_in_schema=False)
router.add_route("/events/batch", _serve_batch, methods=["POST"], include_in_schema=False)

FAST_ROUTES = {("POST", "/events"): _serve_one, ("POST", "/events/batch"): _serve_batch}
"""The same endpoints by (method, path under ``/api/v1``), for ``billow.api.fast_routes``."""


@router.post("/events")
async def create_event(request: Request, org_id: OrgId, body: RawBody) -> Response:
    """Send a usage event (served by the plain route above)."""
    return await _ingest_one(request, org_id, body)


@router.post("/events/batch")
async def create_batch(request: Request, org_id: OrgId, body: RawBody) -> Response:
    """Send up to ``events_batch_max_length`` events, all or nothing (served by the plain route above)."""
    return await _ingest_batch(request, org_id, body)


async def _read(request: Request, org_id: uuid.UUID, work: Callable[[Ctx, MeteringState], bytes]) -> Response:
    state = metering_state(request)

    def run() -> bytes:
        with unit_of_work(request, org_id) as ctx:
            return work(ctx, state)

    return _json(await run_in_threadpool(run))


@router.get("/events")
async def list_events(request: Request, org_id: OrgId, page: Page) -> Response:
    params = dict(request.query_params)

    def work(ctx: Ctx, state: MeteringState) -> bytes:
        items, total = service.list_events(ctx, params, page, store=state.store)
        return orjson.dumps({"events": [event_payload(e) for e in items], "meta": page_meta(page, total)})

    return await _read(request, org_id, work)


@router.get("/events/{transaction_id}")
async def get_event(request: Request, org_id: OrgId, transaction_id: str) -> Response:
    def work(ctx: Ctx, state: MeteringState) -> bytes:
        return orjson.dumps(
            {"event": event_payload(service.get_event(ctx, transaction_id, store=state.store))}
        )

    return await _read(request, org_id, work)
