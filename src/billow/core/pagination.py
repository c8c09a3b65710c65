"""Lago's page-based pagination (``page``, ``per_page`` default 100, ``meta``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_PER_PAGE = 100


@dataclass(frozen=True)
class PageParams:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def parse_page_params(page: str | None, per_page: str | None) -> PageParams:
    """Lenient like Rails' kaminari: invalid or < 1 values fall back to the defaults."""

    def _int(raw: str | None, default: int) -> int:
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            return default
        return value if value >= 1 else default

    return PageParams(page=_int(page, 1), per_page=_int(per_page, DEFAULT_PER_PAGE))


def page_meta(params: PageParams, total_count: int) -> dict[str, Any]:
    """``meta`` block. An empty list answers ``current_page: 0, total_pages: 0`` like Lago."""
    if total_count == 0:
        return {"current_page": 0, "next_page": None, "prev_page": None, "total_pages": 0, "total_count": 0}
    total_pages = -(-total_count // params.per_page)
    current = params.page
    return {
        "current_page": current,
        "next_page": current + 1 if current < total_pages else None,
        "prev_page": current - 1 if current > 1 else None,
        "total_pages": total_pages,
        "total_count": total_count,
    }
