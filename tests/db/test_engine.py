"""Connection settings of the PostgreSQL engine."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from billow.db.engine import PG_PLAN_CACHE_MODE, PG_WORK_MEM, Database


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
