"""``PUT /credit_notes/{id}`` (refund status, metadata merged) and the metadata sub-resource
(Lago's ``CreditNotes::UpdateService`` and ``Metadata::UpdateItemService``).

Metadata is one JSON object per note, absent until first set:

| stored | sent | partial (PATCH/PUT) | replace (POST) |
|---|---|---|---|
| none | object | set it (an empty one only when replacing) | set it |
| some | object | merge | replace |
| some | null (DELETE) | — | remove |
"""

from __future__ import annotations

from typing import Any

from billow.core.errors import NotFound, ValidationFailed
from billow.credit_notes.creation import check_metadata
from billow.credit_notes.models import REFUND_STATUSES, CreditNote
from billow.credit_notes.schemas import CreditNoteUpdateInput
from billow.db.context import Ctx


def _touch(ctx: Ctx, note: CreditNote) -> None:
    note.updated_at = ctx.now()
    ctx.session.flush()


def set_metadata(ctx: Ctx, note: CreditNote, value: Any, *, partial: bool) -> CreditNote:
    checked = check_metadata(value)
    current = note.metadata_value
    if checked is None:
        if current is not None and not partial:
            note.metadata_value = None
            _touch(ctx, note)
        return note
    if current is None:
        if checked or not partial:
            note.metadata_value = checked
            _touch(ctx, note)
        return note
    merged = {**current, **checked} if partial else checked
    if merged != current:
        note.metadata_value = merged
        _touch(ctx, note)
    return note


def delete_metadata_key(ctx: Ctx, note: CreditNote, key: str) -> CreditNote:
    if note.metadata_value is None:
        raise NotFound("metadata")
    if key in note.metadata_value:
        note.metadata_value = {k: v for k, v in note.metadata_value.items() if k != key}
        _touch(ctx, note)
    return note


def update_credit_note(
    ctx: Ctx, note: CreditNote, data: CreditNoteUpdateInput, fields: set[str]
) -> CreditNote:
    """Draft notes are not found. ``refund_status`` must be one of Lago's (or null);
    ``succeeded`` dates the refund. ``metadata`` is merged."""
    if note.status == "draft":
        raise NotFound("credit_note")
    if (
        "refund_status" in fields
        and data.refund_status is not None
        and data.refund_status not in REFUND_STATUSES
    ):
        raise ValidationFailed({"refund_status": ["value_is_invalid"]})
    if "metadata" in fields:
        check_metadata(data.metadata)
    if "refund_status" in fields and data.refund_status != note.refund_status:
        note.refund_status = data.refund_status
        if data.refund_status == "succeeded":
            note.refunded_at = ctx.now()
        _touch(ctx, note)
    if "metadata" in fields:
        set_metadata(ctx, note, data.metadata, partial=True)
    return note
