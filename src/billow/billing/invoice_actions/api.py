"""``POST /api/v1/invoices`` (one-off invoices), ``POST /invoices/{id}/void``, and the invoice
actions that need features Billow does not have yet (PDFs, tax providers, payment providers,
disputes): after the invoice's 404, those answer Lago's error body, never a fake success.

* ``download``: 405 ``pdf_not_available`` (as ``/credit_notes/{id}/download``).
* ``retry``: only a ``failed`` invoice can be retried (Lago: 405 ``invalid_status`` otherwise);
  Billow never fails an invoice (no tax provider), and retrying one is 405 ``feature_unavailable``.
* ``payment_url``: no customer has a payment provider yet: Lago's 422
  ``base: no_linked_payment_provider``.
* ``retry_payment``, ``lose_dispute``: 405 ``feature_unavailable``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from billow.api.body import parse_json, require_root, validate
from billow.api.deps import OrgId, RawBody, unit_of_work
from billow.api.responses import JsonResponse, one
from billow.billing import service
from billow.billing.one_off import OneOffInvoiceInput, create_one_off_invoice
from billow.billing.serializers import DETAIL, invoice_payload
from billow.billing.voiding import InvoiceVoidInput, void_invoice
from billow.core.errors import MethodNotAllowed, ValidationFailed

router = APIRouter(tags=["invoices"])


@router.post("/invoices")
def create_invoice(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    data = validate(OneOffInvoiceInput, require_root(parse_json(body), "invoice"))
    with unit_of_work(request, org_id) as ctx:
        invoice = create_one_off_invoice(ctx, data)
        payload = invoice_payload(ctx.session, invoice, includes=DETAIL, now=ctx.now())
    return one("invoice", payload)


def _void_body(body: bytes) -> dict[str, Any]:
    """The body is optional; Lago reads ``generate_credit_note`` & co. at the top level (the
    OpenAPI's ``InvoiceVoidInput``), or under ``invoice`` as its SDKs may wrap them."""
    data = parse_json(body)
    if not isinstance(data, dict):
        return {}
    nested = data.get("invoice")
    return nested if isinstance(nested, dict) else data


@router.post("/invoices/{lago_id}/void")
def void(request: Request, org_id: OrgId, lago_id: str, body: RawBody) -> JsonResponse:
    raw = _void_body(body)
    data = validate(InvoiceVoidInput, raw)
    fields: set[str] = {k for k in ("generate_credit_note", "refund_amount", "credit_amount") if k in raw}
    with unit_of_work(request, org_id) as ctx:
        invoice = void_invoice(ctx, service.find_invoice(ctx, lago_id), data, fields)
        payload = invoice_payload(ctx.session, invoice, includes=DETAIL, now=ctx.now())
    return one("invoice", payload)


@router.post("/invoices/{lago_id}/download")
def download(request: Request, org_id: OrgId, lago_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        service.find_invoice(ctx, lago_id)
    raise MethodNotAllowed("pdf_not_available")


@router.post("/invoices/{lago_id}/retry")
def retry(request: Request, org_id: OrgId, lago_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        invoice = service.find_invoice(ctx, lago_id)
        failed = invoice.status == "failed"
    raise MethodNotAllowed("feature_unavailable" if failed else "invalid_status")


@router.post("/invoices/{lago_id}/payment_url")
def payment_url(request: Request, org_id: OrgId, lago_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        service.find_invoice(ctx, lago_id)
    raise ValidationFailed.field("base", "no_linked_payment_provider")


@router.post("/invoices/{lago_id}/retry_payment")
def retry_payment(request: Request, org_id: OrgId, lago_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        service.find_invoice(ctx, lago_id)
    raise MethodNotAllowed("feature_unavailable")


@router.post("/invoices/{lago_id}/lose_dispute")
def lose_dispute(request: Request, org_id: OrgId, lago_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        service.find_invoice(ctx, lago_id)
    raise MethodNotAllowed("feature_unavailable")
