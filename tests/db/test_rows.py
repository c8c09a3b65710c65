"""``new_row``: a new row built without attribute events is written and read back like one
built by the constructor."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import inspect, select

from billow.billing.models import Fee
from billow.customers.schemas import CustomerInput
from billow.customers.service import upsert_customer
from billow.db.context import Ctx
from billow.db.rows import add_new_rows, new_row
from billow.pricing.taxes.models import Tax
from tests.db.row_helpers import applied_tax

NOW = datetime(2024, 3, 1, 12, tzinfo=UTC)


def _values(ctx: Ctx, code: str) -> dict[str, object]:
    return {
        "organization_id": ctx.org_id,
        "name": "VAT",
        "code": code,
        "rate": Decimal("20.5"),
        "created_at": NOW,
        "updated_at": NOW,
    }


def test_a_new_row_is_inserted_with_its_values_and_what_is_set_later(ctx: Ctx) -> None:
    row = new_row(Tax, _values(ctx, "vat"))
    built = Tax(**_values(ctx, "vat_ctor"))
    assert inspect(row).transient and type(row) is Tax
    row.description = "set after building"  # tracked as usual
    ctx.session.add_all([row, built])
    ctx.session.flush()
    assert inspect(row).persistent and row.id is not None  # the column default ran
    ctx.session.expire_all()
    stored = ctx.session.scalars(select(Tax).where(Tax.organization_id == ctx.org_id)).all()
    by_code = {t.code: t for t in stored}
    assert set(by_code) == {"vat", "vat_ctor"}
    mine, theirs = by_code["vat"], by_code["vat_ctor"]
    assert (mine.name, mine.rate, mine.description, mine.created_at, mine.deleted_at) == (
        "VAT",
        Decimal("20.5"),
        "set after building",
        NOW,
        None,
    )
    assert (theirs.name, theirs.rate, theirs.created_at) == (mine.name, mine.rate, mine.created_at)
    row.name = "VAT 2"  # an update of a row built this way
    ctx.session.flush()
    ctx.session.expire_all()
    assert ctx.session.scalar(select(Tax.name).where(Tax.code == "vat")) == "VAT 2"


def test_an_unknown_attribute_is_a_type_error(ctx: Ctx) -> None:
    with pytest.raises(TypeError, match=r"\['colour'\] not attributes of Tax"):
        new_row(Tax, {**_values(ctx, "x"), "colour": "red"})


def test_added_new_rows_are_pending_and_a_row_with_a_relationship_set_cascades(ctx: Ctx) -> None:
    customer_id = upsert_customer(ctx, CustomerInput(external_id="cus_rows")).customer.id
    fee_values = {
        "organization_id": ctx.org_id,
        "customer_id": customer_id,
        "fee_type": "charge",
        "amount_currency": "EUR",
        "created_at": NOW,
        "updated_at": NOW,
    }
    plain = new_row(Fee, {**fee_values, "id": uuid.uuid4()})
    tax = Tax(**_values(ctx, "vat_added"))
    parent = new_row(Fee, {**fee_values, "id": uuid.uuid4()})
    applied = applied_tax(ctx)
    applied.fee_row = parent  # only the cascade of ``session.add`` brings the parent in
    ctx.session.add(tax)
    add_new_rows(ctx.session, [plain, tax, applied])

    assert set(ctx.session.new) == {plain, tax, applied, parent}
    ctx.session.flush()
    assert all(inspect(row).persistent for row in (plain, tax, applied, parent))
    assert applied.fee_id == parent.id
    ctx.session.expire_all()
    stored = ctx.session.scalars(select(Fee.id).where(Fee.customer_id == customer_id)).all()
    assert set(stored) == {plain.id, parent.id}
