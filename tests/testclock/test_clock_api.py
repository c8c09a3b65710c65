"""The test clock: forward only, one scheduler tick per hour boundary crossed, queue drained."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from billow.api.app import create_app
from billow.db.context import Ctx
from billow.jobs.queue import enqueue
from billow.jobs.registry import JobKind, JobRegistry
from billow.jobs.scheduler import TickTask
from billow.runtime import build_runtime
from tests.support.api import Api, make_org


def test_get_clock(api):
    assert api.get("/test_helpers/clock").json() == {"clock": {"now": "2024-01-01T00:00:00.000Z"}}


def test_advance_ticks_every_hour_in_order_and_drains(runtime, api):
    ticks: list[datetime] = []
    ran: list[tuple[str, datetime]] = []

    def task(ctx: Ctx, hour: datetime) -> None:
        ticks.append(hour)
        enqueue(ctx, "t.job", {"hour": hour.isoformat()}, unique_key=f"t:{hour.isoformat()}")

    def job(ctx: Ctx, payload: dict[str, Any]) -> None:
        ran.append((payload["hour"], ctx.now()))

    runtime.scheduler.tasks.append(TickTask("test", task))
    runtime.worker.registry = JobRegistry(
        [*[JobKind(k, h) for k, h in runtime.registry.kinds.items()], JobKind("t.job", job)]
    )
    r = api.post("/test_helpers/clock", {"clock": {"now": "2024-01-01T03:30:00Z"}})
    assert r.status_code == 200
    assert r.json() == {"clock": {"now": "2024-01-01T03:30:00.000Z"}}
    hours = [datetime(2024, 1, 1, h, tzinfo=UTC) for h in (1, 2, 3)]
    assert ticks == hours
    # Each hour's jobs ran at that hour, before the next tick.
    assert ran == [(h.isoformat(), h) for h in hours]
    # Same time again: no tick, only a drain.
    r = api.post("/test_helpers/clock", {"clock": {"now": "2024-01-01T03:30:00Z"}})
    assert r.status_code == 200
    assert len(ticks) == 3


def test_backwards_is_422(api):
    api.post("/test_helpers/clock", {"clock": {"now": "2024-02-01T00:00:00Z"}})
    r = api.post("/test_helpers/clock", {"clock": {"now": "2024-01-15T00:00:00Z"}})
    assert r.status_code == 422
    assert r.json()["error_details"] == {"now": ["cannot_move_backwards"]}
    assert api.get("/test_helpers/clock").json()["clock"]["now"] == "2024-02-01T00:00:00.000Z"


def test_invalid_time_is_422(api):
    r = api.post("/test_helpers/clock", {"clock": {"now": "next tuesday"}})
    assert r.status_code == 422
    assert r.json()["error_details"] == {"now": ["invalid_format"]}
    assert api.post("/test_helpers/clock", {"now": "2024-01-02T00:00:00Z"}).status_code == 400


def test_clock_survives_restart(settings, runtime, api):
    api.post("/test_helpers/clock", {"clock": {"now": "2024-03-01T12:00:00Z"}})
    again = build_runtime(settings, migrate=False)
    try:
        assert again.clock.now() == datetime(2024, 3, 1, 12, tzinfo=UTC)
    finally:
        again.close()


def test_system_clock_has_no_test_helpers(settings, runtime):
    settings.clock = "system"
    rt = build_runtime(settings, migrate=False)
    try:
        org = make_org(rt)
        with TestClient(create_app(rt)) as client:
            api = Api(client, org.api_key)
            missing = {"status": 404, "error": "Not Found", "code": "clock_not_found"}
            assert api.get("/test_helpers/clock").json() == missing
            assert (
                api.post("/test_helpers/clock", {"clock": {"now": "2030-01-01T00:00:00Z"}}).json() == missing
            )
    finally:
        rt.close()
