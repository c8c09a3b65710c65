"""``create_app``: the FastAPI application over a built ``Runtime``."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from billow import __version__
from billow.api.deps import ApiKeyCache
from billow.api.errors import install_error_handlers
from billow.api.fast_routes import FastRoutes
from billow.api.middleware import BodySizeLimit
from billow.api.responses import JsonResponse
from billow.api.routes import api_routers
from billow.metering.events.api import FAST_ROUTES as EVENT_ROUTES
from billow.runtime import Runtime


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="Billow",
        version=__version__,
        description="Usage-based billing engine, wire-compatible with Lago's REST API v1.",
        docs_url="/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.api_key_cache = ApiKeyCache()
    install_error_handlers(app)

    v1 = APIRouter(prefix="/api/v1")
    for router in api_routers():
        v1.include_router(router)
    app.include_router(v1)

    @app.get("/health", include_in_schema=False)
    def health() -> JsonResponse:
        return JsonResponse({"message": "Success", "version": __version__})

    # Hot ingestion routes skip the router; the body size limit (added last: outermost) still applies.
    app.add_middleware(FastRoutes, routes={(m, "/api/v1" + p): e for (m, p), e in EVENT_ROUTES.items()})
    app.add_middleware(BodySizeLimit, max_bytes=runtime.settings.max_body_bytes)
    return app
