"""``/api/v1/credit_notes`` and ``/api/v1/customers/{id}/credit_notes``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from billow.api.body import parse_json, require_root, validate
from billow.api.deps import OrgId, RawBody, unit_of_work
from billow.api.pagination import Page
from billow.api.responses import JsonResponse, many, one
from billow.core.errors import MethodNotAllowed
from billow.credit_notes import queries, service
from billow.credit_notes.estimate import estimate
from billow.credit_notes.repository import find_credit_note
from billow.credit_notes.schemas import CreditNoteCreateInput, CreditNoteEstimateInput, CreditNoteUpdateInput
from billow.credit_notes.serializers import credit_note_payload, credit_note_payloads
from billow.credit_notes.updates import delete_metadata_key, set_metadata, update_credit_note
from billow.credit_notes.voiding import void_credit_note
from billow.customers.service import get_customer

router = APIRouter(tags=["credit_notes"])


@router.post("/credit_notes")
def create_credit_note(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    data = validate(CreditNoteCreateInput, require_root(parse_json(body), "credit_note"))
    with unit_of_work(request, org_id) as ctx:
        note = service.create_from_input(ctx, data)
        payload = credit_note_payload(ctx.session, note)
    return one("credit_note", payload)


@router.post("/credit_notes/estimate")
def estimate_credit_note(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    data = validate(CreditNoteEstimateInput, require_root(parse_json(body), "credit_note"))
    with unit_of_work(request, org_id) as ctx:
        payload = estimate(ctx, data.invoice_id, data.items)
    return one("estimated_credit_note", payload)


def _list(request: Request, org_id: OrgId, page: Page, external_customer_id: str | None) -> JsonResponse:
    filters = queries.parse_filters(request.query_params.multi_items())
    with unit_of_work(request, org_id) as ctx:
        if external_customer_id is not None:
            filters.external_customer_id = get_customer(ctx, external_customer_id).external_id
            filters.customer_scoped = True
        items, total = queries.list_credit_notes(ctx, filters, page)
        payload = credit_note_payloads(ctx.session, items)
    return many("credit_notes", payload, page, total)


@router.get("/credit_notes")
def list_credit_notes(request: Request, org_id: OrgId, page: Page) -> JsonResponse:
    return _list(request, org_id, page, None)


@router.get("/customers/{external_customer_id}/credit_notes")
def list_customer_credit_notes(
    request: Request, org_id: OrgId, page: Page, external_customer_id: str
) -> JsonResponse:
    return _list(request, org_id, page, external_customer_id)


@router.get("/credit_notes/{lago_id}")
def get_credit_note(request: Request, org_id: OrgId, lago_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return one("credit_note", credit_note_payload(ctx.session, find_credit_note(ctx, lago_id)))


@router.put("/credit_notes/{lago_id}")
def update(request: Request, org_id: OrgId, lago_id: str, body: RawBody) -> JsonResponse:
    data = validate(CreditNoteUpdateInput, require_root(parse_json(body), "credit_note"))
    with unit_of_work(request, org_id) as ctx:
        note = find_credit_note(ctx, lago_id, finalized_only=False)
        update_credit_note(ctx, note, data, set(data.model_fields_set))
        payload = credit_note_payload(ctx.session, note)
    return one("credit_note", payload)


@router.put("/credit_notes/{lago_id}/void")
def void(request: Request, org_id: OrgId, lago_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        note = void_credit_note(ctx, find_credit_note(ctx, lago_id, finalized_only=False))
        payload = credit_note_payload(ctx.session, note)
    return one("credit_note", payload)


@router.post("/credit_notes/{lago_id}/download")
def download(request: Request, org_id: OrgId, lago_id: str) -> JsonResponse:
    """PDFs are not rendered yet: a known note answers 405 ``pdf_not_available``."""
    with unit_of_work(request, org_id) as ctx:
        find_credit_note(ctx, lago_id)
    raise MethodNotAllowed("pdf_not_available")


def _metadata_body(body: bytes) -> Any:
    data = parse_json(body)
    if not isinstance(data, dict) or "metadata" not in data:
        return {}
    return data["metadata"]


def _metadata(value: dict[str, Any] | None) -> JsonResponse:
    return JsonResponse({"metadata": value})


@router.post("/credit_notes/{lago_id}/metadata")
def replace_metadata(request: Request, org_id: OrgId, lago_id: str, body: RawBody) -> JsonResponse:
    value = _metadata_body(body)
    with unit_of_work(request, org_id) as ctx:
        note = set_metadata(ctx, find_credit_note(ctx, lago_id), value, partial=False)
        return _metadata(note.metadata_value)


@router.patch("/credit_notes/{lago_id}/metadata")
def merge_metadata(request: Request, org_id: OrgId, lago_id: str, body: RawBody) -> JsonResponse:
    value = _metadata_body(body)
    with unit_of_work(request, org_id) as ctx:
        note = set_metadata(ctx, find_credit_note(ctx, lago_id), value, partial=True)
        return _metadata(note.metadata_value)


@router.delete("/credit_notes/{lago_id}/metadata")
def delete_metadata(request: Request, org_id: OrgId, lago_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        note = set_metadata(ctx, find_credit_note(ctx, lago_id), None, partial=False)
        return _metadata(note.metadata_value)


@router.delete("/credit_notes/{lago_id}/metadata/{key}")
def delete_metadata_item(request: Request, org_id: OrgId, lago_id: str, key: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        note = delete_metadata_key(ctx, find_credit_note(ctx, lago_id), key)
        return _metadata(note.metadata_value)
