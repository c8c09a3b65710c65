"""``GET/POST /api/v1/test_helpers/clock`` (404 unless ``BILLOW_CLOCK=manual``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from billow.api.body import root_model
from billow.api.deps import OrgId, RawBody, runtime_of
from billow.api.responses import JsonResponse, one
from billow.core.errors import ValidationFailed
from billow.core.timefmt import iso_z_ms, parse_iso_datetime
from billow.testclock.service import advance_clock, current_time

router = APIRouter(tags=["test helpers"])


class ClockInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    now: str


@router.get("/test_helpers/clock")
def get_clock(request: Request, _org_id: OrgId) -> JsonResponse:
    return one("clock", {"now": iso_z_ms(current_time(runtime_of(request)))})


@router.post("/test_helpers/clock")
async def move_clock(request: Request, _org_id: OrgId, body: RawBody) -> JsonResponse:
    runtime = runtime_of(request)
    current_time(runtime)
    data = root_model(body, "clock", ClockInput)
    try:
        target = parse_iso_datetime(data.now)
    except ValueError as exc:
        raise ValidationFailed({"now": ["invalid_format"]}) from exc
    now = await run_in_threadpool(advance_clock, runtime, target)
    return one("clock", {"now": iso_z_ms(now)})
