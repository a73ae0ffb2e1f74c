"""Operator endpoints of the starter: `/metrics` (Prometheus), webhook counting, offline Swagger UI."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from runtime import metrics
from starter.intake.pipeline import OUTCOME_HEADER  # set by every webhook answer

WEBHOOK_PATHS = {"/webhooks/github": "github", "/webhooks/gitlab": "gitlab"}

SWAGGER_ASSETS = "/docs-assets"


def install(app: FastAPI) -> None:
    """Add `/metrics`, the webhook counter middleware and a Swagger UI that needs no CDN."""

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def prometheus_metrics() -> Response:
        """Mender's metrics in the Prometheus text format (no key: scrape it from the private network)."""
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)

    @app.middleware("http")
    async def count_webhooks(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        provider = WEBHOOK_PATHS.get(request.url.path)
        if provider and request.method == "POST":
            outcome = response.headers.get(OUTCOME_HEADER) or _outcome_of(response.status_code)
            metrics.webhook_answered(provider, response.status_code, outcome)
        return response

    app.mount(SWAGGER_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="swagger-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_ASSETS}/favicon-32x32.png",
        )


def _outcome_of(status: int) -> str:
    if status == 202:
        return "accepted"
    if status == 503:
        return "retry"
    return "rejected" if status >= 400 else "ignored"
