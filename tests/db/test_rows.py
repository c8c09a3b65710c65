"""``new_row``: a new row built without attribute events is written and read back like one
built by the constructor."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import inspect, select

from billow.db.context import Ctx
from billow.db.rows import new_row
from billow.pricing.taxes.models import Tax

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
