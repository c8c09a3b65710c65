"""``flush_before_commit``: the many new rows of a flush before a commit go by COPY on
PostgreSQL, stored exactly as the unit of work stores them; what it cannot copy safely stays with
the unit of work."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Text, cast, inspect, select, text
from sqlalchemy.exc import IntegrityError

from billow.billing.models import Fee, FeeAppliedTax
from billow.customers.schemas import CustomerInput
from billow.customers.service import upsert_customer
from billow.db.context import Ctx
from billow.db.copy_rows import COPY_MIN_ROWS, flush_before_commit
from billow.db.engine import PG_PLAN_CACHE_MODE
from billow.db.rows import new_row
from billow.pricing.taxes.models import Tax
from tests.db.row_helpers import NOW, applied_tax


def _customer(ctx: Ctx, external_id: str = "cus_copy") -> uuid.UUID:
    return upsert_customer(ctx, CustomerInput(external_id=external_id)).customer.id


def _fee_values(ctx: Ctx, customer_id: uuid.UUID, n: int, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "organization_id": ctx.org_id,
        "customer_id": customer_id,
        "invoice_id": None,
        "subscription_id": None,
        "charge_id": uuid.UUID(int=n + 1),
        "fee_type": "charge",
        "invoice_display_name": f"Fee «{n}»\ttab\\slash\nline",
        "grouped_by": {"region": "eu", "n": n},
        "amount_currency": "EUR",
        "amount_cents": 1000 + n,
        "precise_amount_cents": Decimal("1000.123456789012345") + n,
        "units": Decimal("3.5"),
        "total_aggregated_units": None,
        "events_count": 7,
        "amount_details": {"tiers": [{"from": 0, "amount": "1.5"}], "big": 2**70, "rate": 1e16, 3: None},
        "properties": {"from_datetime": "2024-02-01T00:00:00Z", "note": 'quote " and \\', "ü": "Zoë"},
        "pricing_unit_details": None,
        "succeeded_at": NOW,
        "invoiceable": n % 2 == 0,
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(extra)
    return values


def _as_text(ctx: Ctx, ids: list[uuid.UUID]) -> list[tuple[str | None, ...]]:
    """Every column but the id as PostgreSQL prints it (a JSON ``null`` is not a SQL NULL)."""
    table = Fee.__table__
    columns = [cast(c, Text) for c in table.c if c.name != "id"]
    rows = {
        r[0]: tuple(r[1:])
        for r in ctx.session.execute(select(table.c.id, *columns).where(table.c.id.in_(ids)))
    }
    return [rows[i] for i in ids]


def _stored(ctx: Ctx, ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    table = Fee.__table__
    rows = ctx.session.execute(select(table).where(table.c.id.in_(ids))).mappings().all()
    by_id = {row["id"]: dict(row) for row in rows}
    return [by_id[i] for i in ids]


@pytest.mark.postgres_only
def test_copied_rows_are_stored_as_the_unit_of_work_stores_them(ctx: Ctx) -> None:
    customer_id = _customer(ctx)
    # Left out: payment_status, taxes_rate and the other columns with a scalar default.
    orm = [new_row(Fee, _fee_values(ctx, customer_id, n)) for n in range(3)]
    ctx.session.add_all(orm)
    ctx.session.flush()
    copied = [new_row(Fee, _fee_values(ctx, customer_id, n)) for n in range(3)]
    ctx.session.add_all(copied)

    assert flush_before_commit(ctx.session, min_rows=3) == 3

    assert all(inspect(fee).transient for fee in copied)  # out of the session
    ctx.session.expire_all()
    by_orm = _stored(ctx, [f.id for f in orm])
    by_copy = _stored(ctx, [f.id for f in copied])
    for a, b in zip(by_orm, by_copy, strict=True):
        assert {k: v for k, v in a.items() if k != "id"} == {k: v for k, v in b.items() if k != "id"}
    assert _as_text(ctx, [f.id for f in orm]) == _as_text(ctx, [f.id for f in copied])
    first = by_copy[0]
    assert first["payment_status"] == "pending" and first["taxes_rate"] == Decimal("0")
    assert first["precise_amount_cents"] == Decimal("1000.123456789012345")
    assert first["invoice_display_name"] == "Fee «0»\ttab\\slash\nline"
    assert first["properties"] == {
        "from_datetime": "2024-02-01T00:00:00Z",
        "note": 'quote " and \\',
        "ü": "Zoë",
    }
    assert first["pricing_unit_details"] is None
    assert first["succeeded_at"] == NOW and first["total_aggregated_units"] is None
    # Read through the ORM as well.
    fee = ctx.session.get(Fee, copied[1].id)
    assert fee is not None and fee.grouped_by == {"region": "eu", "n": 1} and fee.invoiceable is False


@pytest.mark.postgres_only
def test_the_rest_is_flushed_first_and_a_copied_row_may_point_to_another(ctx: Ctx) -> None:
    customer_id = _customer(ctx)
    parent = new_row(Fee, _fee_values(ctx, customer_id, 0))
    child = new_row(Fee, _fee_values(ctx, customer_id, 1, true_up_parent_fee_id=parent.id))
    tax = Tax(
        organization_id=ctx.org_id,
        name="VAT",
        code="vat_copy",
        rate=Decimal(20),
        created_at=NOW,
        updated_at=NOW,
    )
    ctx.session.add_all([child, parent, tax])

    assert flush_before_commit(ctx.session, min_rows=2) == 2

    assert inspect(tax).persistent  # one row of its class: the unit of work's
    stored = _stored(ctx, [parent.id, child.id])
    assert stored[1]["true_up_parent_fee_id"] == parent.id


@pytest.mark.postgres_only
def test_rows_that_a_staying_row_points_to_stay_with_the_unit_of_work(ctx: Ctx) -> None:
    customer_id = _customer(ctx)
    fees = [new_row(Fee, _fee_values(ctx, customer_id, n)) for n in range(3)]
    # Built by the constructor: no id yet (a callable default), so these stay with the unit of
    # work, and the fees they point to must be inserted before them.
    applied = [applied_tax(ctx, fee.id) for fee in fees]
    ctx.session.add_all([*applied, *fees])

    assert flush_before_commit(ctx.session, min_rows=3) == 0

    assert all(inspect(row).persistent for row in [*fees, *applied])
    count = ctx.session.scalar(
        select(text("count(*)")).select_from(FeeAppliedTax).where(FeeAppliedTax.organization_id == ctx.org_id)
    )
    assert count == 3


@pytest.mark.postgres_only
def test_an_updated_row_that_may_point_to_a_copied_table_keeps_it_with_the_unit_of_work(ctx: Ctx) -> None:
    customer_id = _customer(ctx)
    first = new_row(Fee, _fee_values(ctx, customer_id, 0))
    applied = applied_tax(ctx, first.id)
    ctx.session.add_all([first, applied])
    ctx.session.flush()
    fees = [new_row(Fee, _fee_values(ctx, customer_id, n)) for n in range(1, 4)]
    ctx.session.add_all(fees)
    applied.fee_id = fees[0].id  # an UPDATE pointing to a new fee: written after the fees

    assert flush_before_commit(ctx.session, min_rows=3) == 0

    ctx.session.expire_all()
    assert (
        ctx.session.scalar(select(FeeAppliedTax.fee_id).where(FeeAppliedTax.id == applied.id)) == fees[0].id
    )


@pytest.mark.postgres_only
def test_a_row_missing_a_value_without_a_scalar_default_stays_with_the_unit_of_work(ctx: Ctx) -> None:
    customer_id = _customer(ctx)
    values = [_fee_values(ctx, customer_id, n) for n in range(3)]
    del values[1]["id"]  # a callable default: only the unit of work runs it
    fees = [new_row(Fee, v) for v in values]
    ctx.session.add_all(fees)

    assert flush_before_commit(ctx.session, min_rows=3) == 0

    assert all(inspect(fee).persistent for fee in fees) and fees[1].id is not None


@pytest.mark.postgres_only
def test_a_constraint_violated_by_a_copy_is_an_integrity_error_and_settings_are_kept(ctx: Ctx) -> None:
    customer_id = _customer(ctx)
    values = [_fee_values(ctx, customer_id, n) for n in range(2)]
    values[1]["customer_id"] = uuid.uuid4()  # no such customer
    ctx.session.add_all([new_row(Fee, v) for v in values])
    with pytest.raises(IntegrityError, match="fk_fees_customer_id_customers"):
        flush_before_commit(ctx.session, min_rows=2)
    ctx.session.rollback()
    assert ctx.session.scalar(text("SHOW plan_cache_mode")) == PG_PLAN_CACHE_MODE


@pytest.mark.postgres_only
def test_the_bulk_settings_are_back_after_a_copy(ctx: Ctx) -> None:
    customer_id = _customer(ctx)
    ctx.session.add_all([new_row(Fee, _fee_values(ctx, customer_id, n)) for n in range(2)])
    assert flush_before_commit(ctx.session, min_rows=2) == 2
    assert ctx.session.scalar(text("SHOW plan_cache_mode")) == PG_PLAN_CACHE_MODE
    assert ctx.session.scalar(text("SHOW enable_seqscan")) == "on"


def test_fewer_rows_than_the_threshold_or_sqlite_use_the_unit_of_work(ctx: Ctx) -> None:
    customer_id = _customer(ctx)
    fees = [new_row(Fee, _fee_values(ctx, customer_id, n)) for n in range(3)]
    ctx.session.add_all(fees)
    assert COPY_MIN_ROWS == 100
    assert flush_before_commit(ctx.session) == 0
    assert all(inspect(fee).persistent for fee in fees)
    assert [row["amount_cents"] for row in _stored(ctx, [f.id for f in fees])] == [1000, 1001, 1002]


def test_only_postgresql_copies(ctx: Ctx) -> None:
    customer_id = _customer(ctx)
    fees = [new_row(Fee, _fee_values(ctx, customer_id, n)) for n in range(3)]
    ctx.session.add_all(fees)
    copies = ctx.dialect == "postgresql"
    assert flush_before_commit(ctx.session, min_rows=1) == (3 if copies else 0)
    assert all(inspect(fee).transient if copies else inspect(fee).persistent for fee in fees)
    assert [row["amount_cents"] for row in _stored(ctx, [f.id for f in fees])] == [1000, 1001, 1002]
