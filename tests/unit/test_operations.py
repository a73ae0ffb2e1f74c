"""Starter operations: the Swagger UI works offline, metric labels stay bounded."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from runtime import metrics
from runtime.settings import set_settings
from starter.app import create_app
from tests.support.stack import make_settings


def test_swagger_ui_loads_its_assets_from_the_starter_not_a_cdn(tmp_path: Path) -> None:
    try:
        app = create_app(make_settings(tmp_path))
    finally:
        set_settings(None)
    with TestClient(app) as http:
        page = http.get("/docs")
        assert page.status_code == 200
        assert "cdn" not in page.text.lower() and "https://" not in page.text
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
            assert f"/docs-assets/{asset}" in page.text
            served = http.get(f"/docs-assets/{asset}")
            assert served.status_code == 200 and len(served.content) > 100
        assert http.get("/openapi.json").status_code == 200
        exposition = http.get("/metrics")
    assert exposition.status_code == 200
    names = {family.name for family in text_string_to_metric_families(exposition.text)}
    assert "mender_webhooks_received" in names


def test_unknown_label_values_fold_into_other() -> None:
    before = metrics.REMEDIATIONS.labels("other", "other")._value.get()
    metrics.remediation("acme/api#12", "deadbeef" * 5)
    assert metrics.REMEDIATIONS.labels("other", "other")._value.get() == before + 1
    metrics.webhook_answered("x" * 300, 418, "whatever")
    assert metrics.WEBHOOKS.labels("other", "other", "other")._value.get() >= 1
    assert metrics.bounded("UPDATE_BRANCH", metrics.PR_ACTIONS) == "UPDATE_BRANCH"
