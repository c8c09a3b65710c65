"""JSON responses: pre-serialized bytes (orjson), Lago's root keys and pagination meta."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from starlette.responses import Response

from billow.core.pagination import PageParams, page_meta


class JsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def one(root: str, payload: dict[str, Any]) -> JsonResponse:
    return JsonResponse({root: payload})


def many(root: str, items: Sequence[dict[str, Any]], params: PageParams, total_count: int) -> JsonResponse:
    return JsonResponse({root: list(items), "meta": page_meta(params, total_count)})
