"""Connection settings of the PostgreSQL engine."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import column, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.sql.expression import literal

from billow.db.context import Ctx
from billow.db.engine import BULK_FLUSH_ROWS, PG_PLAN_CACHE_MODE, PG_WORK_MEM, Database
from billow.db.types import UTCDateTime
from billow.pricing.taxes.models import Tax


@pytest.mark.postgres_only
def test_connections_get_billows_work_mem(db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.engine.connect() as conn:
            assert conn.execute(text("SHOW work_mem")).scalar() == PG_WORK_MEM == "32MB"
            plan_cache_mode = conn.execute(text("SHOW plan_cache_mode")).scalar()
            assert plan_cache_mode == PG_PLAN_CACHE_MODE == "force_custom_plan"
    finally:
        db.dispose()


@pytest.mark.postgres_only
def test_the_urls_own_options_win(db_url: str) -> None:
    url = make_url(db_url).update_query_dict({"options": "-c work_mem=8MB"})
    db = Database(url.render_as_string(hide_password=False))
    try:
        with db.engine.connect() as conn:
            assert conn.execute(text("SHOW work_mem")).scalar() == "8MB"
            assert conn.execute(text("SHOW plan_cache_mode")).scalar() == "auto"
    finally:
        db.dispose()


@pytest.mark.postgres_only
def test_sessions_run_in_utc_and_timestamps_come_back_in_utc_itself(db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.engine.connect() as conn:
            assert conn.execute(text("SHOW TimeZone")).scalar() == "UTC"
            conn.exec_driver_sql("SET TIME ZONE 'Asia/Tokyo'")  # another zone still converts
            raw = conn.execute(text("SELECT TIMESTAMPTZ '2024-02-01 09:00:00+09'")).scalar()
            assert raw.utcoffset().total_seconds() == 9 * 3600
            typed = conn.execute(
                select(literal(datetime(2024, 2, 1, tzinfo=UTC), UTCDateTime()).label("t"))
            ).scalar()
            assert typed == datetime(2024, 2, 1, tzinfo=UTC) and typed.tzinfo is UTC
        with db.engine.connect() as conn:
            value = conn.execute(
                select(column("t", UTCDateTime())).select_from(
                    text("(SELECT TIMESTAMPTZ '2024-02-01 09:00:00+09' AS t) AS s")
                )
            ).scalar()
            assert value == datetime(2024, 2, 1, 0, tzinfo=UTC) and value.tzinfo is UTC
    finally:
        db.dispose()


@pytest.mark.postgres_only
def test_a_bulk_flush_runs_on_cached_index_plans_and_gives_the_settings_back(ctx: Ctx) -> None:
    seen: list[str] = []
    engine = ctx.session.get_bind()

    def _record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith(("SET", "INSERT INTO taxes")):
            seen.append(statement.split(" (")[0])

    def _add(n: int, prefix: str) -> None:
        now = datetime(2024, 3, 1, tzinfo=UTC)
        ctx.session.add_all(
            Tax(
                organization_id=ctx.org_id,
                name="t",
                code=f"{prefix}{i}",
                rate=Decimal(1),
                created_at=now,
                updated_at=now,
            )
            for i in range(n)
        )

    event.listen(engine, "before_cursor_execute", _record)
    try:
        _add(BULK_FLUSH_ROWS - 1, "small")
        ctx.session.flush()
        assert seen == ["INSERT INTO taxes"]  # a small flush: the connection's own settings
        seen.clear()
        _add(BULK_FLUSH_ROWS, "bulk")
        ctx.session.flush()
        assert seen == [
            "SET LOCAL plan_cache_mode = auto; SET LOCAL enable_seqscan = off",
            "INSERT INTO taxes",
            "SET LOCAL plan_cache_mode TO DEFAULT; SET LOCAL enable_seqscan TO DEFAULT",
        ]
    finally:
        event.remove(engine, "before_cursor_execute", _record)
    assert ctx.session.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
    assert ctx.session.execute(text("SHOW enable_seqscan")).scalar() == "on"
    assert ctx.session.execute(text("SELECT count(*) FROM taxes")).scalar() == 2 * BULK_FLUSH_ROWS - 1
