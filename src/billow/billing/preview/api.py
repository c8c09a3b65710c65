"""``POST /api/v1/invoices/preview`` (Lago's ``InvoicesController#preview``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, Request

from billow.api.body import parse_json, validate
from billow.api.deps import OrgId, RawBody, runtime_of
from billow.api.responses import JsonResponse, one
from billow.billing.fees.engine import build_fee_engine
from billow.billing.preview.schemas import InvoicePreviewInput
from billow.billing.preview.service import preview_invoice
from billow.billing.serializers import DETAIL, invoice_payload
from billow.db.context import Ctx

router = APIRouter(tags=["invoices"])


@contextmanager
def rolled_back(request: Request, org_id: uuid.UUID) -> Iterator[Ctx]:
    """A transaction that never commits: whatever the block writes is rolled back."""
    runtime = runtime_of(request)
    session = runtime.db.sessionmaker()
    try:
        yield Ctx(
            session=session,
            clock=runtime.clock,
            settings=runtime.settings,
            organization_id=org_id,
            hooks=runtime.hooks,
        )
    finally:
        session.rollback()
        session.close()


@router.post("/invoices/preview")
def preview(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    data = validate(InvoicePreviewInput, parse_json(body))
    with rolled_back(request, org_id) as ctx:
        invoice = preview_invoice(ctx, build_fee_engine(), data)
        payload = invoice_payload(ctx.session, invoice, includes=DETAIL, now=ctx.now())
    return one("invoice", payload)
