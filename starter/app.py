"""The starter's FastAPI app: GitHub and GitLab webhooks, Slack interactivity, the Admin API, health."""

from __future__ import annotations

from fastapi import FastAPI

from runtime.dispatch import EventDispatcher
from runtime.settings import Settings
from starter import (
    api,
    api_flaky,
    api_keys,
    api_ops,
    api_playbooks,
    api_review,
    operations,
    slack_interactivity,
    webhooks,
)
from starter.dashboard import routes as dashboard_routes


def create_app(settings: Settings, dispatcher: EventDispatcher | None = None) -> FastAPI:
    """Build the starter app for `settings`; `dispatcher` defaults to one built from them."""
    # Fail at start, not at the first request, when a real service is configured without its secret.
    settings.webhook_secret  # noqa: B018
    settings.slack_signing_secret  # noqa: B018
    settings.gitlab_webhook_token  # noqa: B018
    app = FastAPI(title="Mender starter", version="0.1.0", docs_url=None)
    app.state.settings = settings
    app.state.dispatcher = dispatcher or EventDispatcher(
        settings.temporal_address, settings.config.temporal.namespace, settings.config.temporal.task_queue
    )
    app.include_router(webhooks.router)
    app.include_router(slack_interactivity.router)
    app.include_router(api.router)
    app.include_router(api_ops.router)
    app.include_router(api_review.router)
    app.include_router(api_playbooks.router)
    app.include_router(api_flaky.router)
    app.include_router(dashboard_routes.router)
    operations.install(app)
    app.include_router(api_keys.router)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    return app
