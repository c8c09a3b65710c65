"""Connection settings of the PostgreSQL engine."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from billow.db.engine import PG_WORK_MEM, Database


@pytest.mark.postgres_only
def test_connections_get_billows_work_mem(db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.engine.connect() as conn:
            assert conn.execute(text("SHOW work_mem")).scalar() == PG_WORK_MEM == "32MB"
    finally:
        db.dispose()


@pytest.mark.postgres_only
def test_the_urls_own_options_win(db_url: str) -> None:
    url = make_url(db_url).update_query_dict({"options": "-c work_mem=8MB"})
    db = Database(url.render_as_string(hide_password=False))
    try:
        with db.engine.connect() as conn:
            assert conn.execute(text("SHOW work_mem")).scalar() == "8MB"
    finally:
        db.dispose()
