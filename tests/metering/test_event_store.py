"""SqlEventStore directly: dedupe indexes, round trip of every column, scoping."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import inspect

from billow.core.pagination import PageParams
from billow.db.context import Ctx
from billow.metering.store import EventFilters, EventRecord, SqlEventStore

STORE = SqlEventStore()
T0 = datetime(2024, 3, 1, 12, 0, 0, 654321, tzinfo=UTC)


def record(org_id, tx, sub="s", **kw):
    values = {
        "id": uuid.uuid4(),
        "organization_id": org_id,
        "transaction_id": tx,
        "external_subscription_id": sub,
        "code": "c",
        "timestamp": T0,
        "properties": {"gb": "1.5", "nested": {"a": [1, 2]}},
        "precise_total_amount_cents": Decimal("12.345678901234567"),
        "value": Decimal("1.5"),
        "value_text": "1.5",
        "value_field": "gb",
        "created_at": datetime(2024, 1, 1, tzinfo=UTC),
    }
    values.update(kw)
    return EventRecord(**values)


def test_insert_many_reports_duplicates_and_round_trips(ctx):
    rows = [
        record(ctx.org_id, "a"),
        record(ctx.org_id, "b"),
        record(ctx.org_id, "a"),
        record(ctx.org_id, "a", "t"),
    ]
    assert STORE.insert_many(ctx, rows) == [2]
    assert STORE.insert_many(ctx, [record(ctx.org_id, "b"), record(ctx.org_id, "c")]) == [0]
    got = STORE.get(ctx, "a")
    assert got is not None
    assert got == rows[0] or got == rows[3]
    assert got.timestamp == T0
    assert got.precise_total_amount_cents == Decimal("12.345678901234567")
    assert got.properties == {"gb": "1.5", "nested": {"a": [1, 2]}}


def test_nulls_round_trip(ctx):
    row = record(
        ctx.org_id, "n", None, value=None, value_text=None, value_field=None, precise_total_amount_cents=None
    )
    assert STORE.insert_many(ctx, [row, record(ctx.org_id, "n", None)]) == []
    got = STORE.get(ctx, "n")
    assert got is not None and got.external_subscription_id is None


def test_list_scoped_filtered_and_counted(ctx, runtime, other_org):
    STORE.insert_many(ctx, [record(ctx.org_id, f"t{i}", timestamp=T0.replace(day=i + 1)) for i in range(5)])
    other = Ctx(ctx.session, ctx.clock, ctx.settings, other_org.id)
    STORE.insert_many(other, [record(other_org.id, "x")])
    items, total = STORE.list(ctx, EventFilters(timestamp_from=T0.replace(day=2)), PageParams(1, 2))
    assert total == 4
    assert [i.transaction_id for i in items] == ["t4", "t3"]
    assert STORE.get(ctx, "x") is None
    assert STORE.list(other, EventFilters(), PageParams())[1] == 1


def test_events_table_has_exactly_two_indexes(runtime):
    inspector = inspect(runtime.db.engine)
    indexes = {i["name"]: (i["column_names"], bool(i["unique"])) for i in inspector.get_indexes("events")}
    assert indexes == {
        "uq_events_org_transaction_subscription": (
            ["organization_id", "transaction_id", "external_subscription_id"],
            True,
        ),
        "ix_events_org_subscription_code_timestamp": (
            ["organization_id", "external_subscription_id", "code", "timestamp", "deleted_at"],
            False,
        ),
    }
    assert inspector.get_pk_constraint("events")["constrained_columns"] == []
