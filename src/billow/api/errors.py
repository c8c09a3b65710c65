"""Every error leaves as one of Lago's bodies; FastAPI's default shapes never reach a client."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from billow.api.body import errors_to_details
from billow.api.responses import JsonResponse
from billow.core.errors import BillowError, ValidationFailed

log = structlog.get_logger("billow.api")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BillowError)
    async def _billow_error(_request: Request, exc: BillowError) -> JsonResponse:
        return JsonResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_request: Request, exc: RequestValidationError) -> JsonResponse:
        details: dict[str, list[str]] = {}
        for error in exc.errors():
            loc = [p for p in error.get("loc", ()) if p not in ("body", "query", "path", "header")]
            key = ":".join(str(p) for p in loc if not isinstance(p, int)) or "base"
            code = "value_is_mandatory" if error.get("type") == "missing" else "value_is_invalid"
            details.setdefault(key, [])
            if code not in details[key]:
                details[key].append(code)
        return JsonResponse(ValidationFailed(details).body(), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JsonResponse:
        if exc.status_code == 404:
            return JsonResponse(
                {"status": 404, "error": "Not Found", "code": "resource_not_found"}, status_code=404
            )
        if exc.status_code == 405:
            return JsonResponse(
                {"status": 405, "error": "Method Not Allowed", "code": "method_not_allowed"}, status_code=405
            )
        return JsonResponse(
            {"status": exc.status_code, "error": str(exc.detail)}, status_code=exc.status_code
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JsonResponse:
        log.exception("unhandled_error", error=str(exc))
        return JsonResponse({"status": 500, "error": "Internal Server Error"}, status_code=500)


__all__ = ["errors_to_details", "install_error_handlers"]
