"""The migrations match the models, and exact types round-trip on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, Table, select

from billow.db.types import ExactDecimal, UTCDateTime
from billow.models import metadata


def test_migrations_match_models(runtime):
    with runtime.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_exact_decimal_and_utc_datetime_round_trip(runtime):
    md = MetaData()
    table = Table(
        "tmp_types",
        md,
        Column("id", Integer, primary_key=True),
        Column("amount", ExactDecimal()),
        Column("at", UTCDateTime()),
    )
    md.create_all(runtime.db.engine)
    try:
        values = [
            Decimal("123456789012345678901234567890.123456789012345678901234567890"),
            Decimal("-0.000000000000000000000000000001"),
            Decimal("0"),
            Decimal("2177.4193548387096774193548387096774193548387"),
        ]
        tokyo = timezone(timedelta(hours=9))
        when = datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=tokyo)
        with runtime.db.session() as s:
            for i, v in enumerate(values):
                s.execute(table.insert().values(id=i, amount=v, at=when))
        with runtime.db.session() as s:
            rows = s.execute(select(table.c.amount, table.c.at).order_by(table.c.id)).all()
        assert [r[0] for r in rows] == values
        assert all(r[1] == when and r[1].tzinfo == UTC for r in rows)
        assert rows[0][1] == datetime(2024, 2, 29, 14, 59, 59, 999999, tzinfo=UTC)
    finally:
        md.drop_all(runtime.db.engine)
