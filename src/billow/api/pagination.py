"""``page`` / ``per_page`` query parameters as a dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from billow.core.pagination import PageParams, parse_page_params


def page_params(request: Request) -> PageParams:
    q = request.query_params
    return parse_page_params(q.get("page"), q.get("per_page"))


Page = Annotated[PageParams, Depends(page_params)]
