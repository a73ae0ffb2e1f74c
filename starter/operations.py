"""Operator endpoints of the starter: `/metrics` (Prometheus), webhook counting, offline Swagger UI."""

from __future__ import annotations

from fastapi import FastAPI, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
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

    app.add_middleware(WebhookCounter)

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


class WebhookCounter:
    """Counts every webhook answer by provider, status and outcome, as its headers are sent. A plain ASGI
    middleware: Starlette's `@app.middleware("http")` runs every request in a task group and memory
    streams of its own, a cost per webhook the bare floor does not pay (docs/throughput-history.md,
    "The lean hot path")."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        provider = WEBHOOK_PATHS.get(scope.get("path", "")) if scope["type"] == "http" else None
        if provider is None or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                header = next((v for k, v in message.get("headers", ()) if k == _OUTCOME_KEY), None)
                metrics.webhook_answered(provider, status, header.decode() if header else _outcome_of(status))
            await send(message)

        await self.app(scope, receive, counted)


_OUTCOME_KEY = OUTCOME_HEADER.lower().encode()


def _outcome_of(status: int) -> str:
    if status == 202:
        return "accepted"
    if status == 503:
        return "retry"
    return "rejected" if status >= 400 else "ignored"
