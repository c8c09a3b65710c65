"""ASGI middleware: a few hot routes answered straight from the scope.

``POST /api/v1/events`` and ``/events/batch`` are most of Billow's traffic. Walking FastAPI's
routing table (every router, every route, its compiled regex) cost about a quarter of the CPU of
a single event, so an exact ``(method, path)`` match is served here, before the router, by the
same Starlette endpoints the router would call. Errors leave with the same bodies as the app's
exception handlers (``BillowError`` here; anything else propagates to the app's 500 handler).
Every other request, and any path that does not match exactly, goes through unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from billow.api.responses import JsonResponse
from billow.core.errors import BillowError

Endpoint = Callable[[Request], Awaitable[Response]]


class FastRoutes:
    def __init__(self, app: ASGIApp, routes: Mapping[tuple[str, str], Endpoint]) -> None:
        self.app = app
        self.routes = dict(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            endpoint = self.routes.get((scope["method"], scope["path"]))
            if endpoint is not None:
                try:
                    response = await endpoint(Request(scope, receive, send))
                except BillowError as exc:
                    response = JsonResponse(exc.body(), status_code=exc.status)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
