"""``one_of``: ``IN`` with one array parameter on PostgreSQL, an expanding IN elsewhere — the
same rows either way, and a cached statement takes a later statement's values."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from billow.db.context import Ctx
from billow.db.one_of import one_of
from billow.pricing.taxes.models import Tax

NOW = datetime(2024, 3, 1, tzinfo=UTC)


def _taxes(ctx: Ctx, count: int) -> list[Tax]:
    taxes = [
        Tax(
            organization_id=ctx.org_id,
            name=f"Tax {n}",
            code=f"tax_{n}",
            rate=Decimal(n),
            created_at=NOW,
            updated_at=NOW,
        )
        for n in range(count)
    ]
    ctx.session.add_all(taxes)
    ctx.session.flush()
    return taxes


def test_bound_values_select_their_rows_and_a_cached_statement_takes_new_values(ctx: Ctx) -> None:
    taxes = _taxes(ctx, 6)
    codes = [t.code for t in taxes]
    # Same statement shape three times (one cache entry), different values and lengths.
    for chunk in (codes[:2], codes[2:5], codes[5:], []):
        stmt = select(Tax.code).where(Tax.organization_id == ctx.org_id, one_of(Tax.code, chunk))
        assert sorted(ctx.session.scalars(stmt)) == sorted(chunk)
    ids = [t.id for t in taxes]
    stmt = select(Tax.code).where(one_of(Tax.id, (i for i in ids[1:3])))  # any iterable
    assert sorted(ctx.session.scalars(stmt)) == ["tax_1", "tax_2"]


def test_a_named_parameter_takes_its_values_at_execution(ctx: Ctx) -> None:
    taxes = _taxes(ctx, 4)
    stmt = select(Tax.rate).where(Tax.organization_id == ctx.org_id, one_of(Tax.id, key="ids"))
    assert sorted(ctx.session.scalars(stmt, {"ids": [taxes[0].id, taxes[3].id]})) == [0, 3]
    assert sorted(ctx.session.scalars(stmt, {"ids": [taxes[1].id]})) == [1]
    assert list(ctx.session.scalars(stmt, {"ids": []})) == []


def test_each_dialect_renders_its_form_and_searches_by_index(ctx: Ctx) -> None:
    stmt = select(Tax.id).where(Tax.organization_id == ctx.org_id, one_of(Tax.code, key="codes"))
    sql = str(stmt.compile(ctx.session.get_bind())).replace("\n", " ")
    # Nothing around the comparison (an ``IN (…) = 1`` would keep SQLite from the index).
    if ctx.dialect == "postgresql":
        assert sql.endswith("AND taxes.code = ANY (%(codes)s::TEXT[])")
    else:
        assert sql.endswith("AND taxes.code IN (__[POSTCOMPILE_codes])")
        query = select(Tax.id).where(one_of(Tax.id, [_taxes(ctx, 1)[0].id]))
        literal = query.compile(ctx.session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = ctx.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {literal}").all()
        assert [row[-1] for row in plan] == [
            "SEARCH taxes USING COVERING INDEX sqlite_autoindex_taxes_1 (id=?)"
        ]


def test_values_or_a_key_not_both() -> None:
    with pytest.raises(TypeError, match="values or a parameter key"):
        one_of(Tax.code, ["a"], key="codes")
    with pytest.raises(TypeError, match="values or a parameter key"):
        one_of(Tax.code)
