"""One page of a list query and the total count of its rows (Lago's page-based lists)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import QueryableAttribute, Session

from billow.core.pagination import PageParams


def page_of(
    session: Session,
    stmt: Select[Any],
    page: PageParams,
    *order_by: ColumnElement[Any] | QueryableAttribute[Any],
) -> tuple[list[Any], int]:
    """The entities of ``stmt`` on ``page`` in ``order_by`` order, and how many rows ``stmt`` has."""
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(*order_by).offset(page.offset).limit(page.per_page)).all()
    return list(rows), int(total)
