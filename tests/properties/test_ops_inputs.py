"""Inputs from outside the operator features: never a 500, always an answer with a reason."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.settings import set_settings
from starter.app import create_app
from tests.support.admin_api import READ_KEY, admin_settings, bearer

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
REPO = st.text(alphabet="abc./-_", min_size=1, max_size=12)
INSTALLATION = st.fixed_dictionaries(
    {"action": st.sampled_from(["created", "deleted", "added", "removed", "suspend", "x" * 70])},
    optional={
        "installation": st.fixed_dictionaries({"id": st.integers(-5, 10) | st.text(max_size=3)}),
        "repositories": st.lists(st.fixed_dictionaries({"full_name": REPO}), max_size=3),
        "repositories_added": st.lists(st.fixed_dictionaries({"full_name": REPO}) | JSON, max_size=3),
        "repositories_removed": JSON,
    },
)
SLOW = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory):
    app = create_app(admin_settings(Path(tmp_path_factory.mktemp("inputs"))))
    with TestClient(app) as client:
        yield client
    set_settings(None)


def signed(body: bytes) -> str:
    return "sha256=" + hmac.new(b"test-secret", body, hashlib.sha256).hexdigest()


@settings(max_examples=60, **SLOW)
@given(event=st.sampled_from(["installation", "installation_repositories"]), payload=INSTALLATION | JSON)
def test_installation_webhooks_answer_202_or_400(http: TestClient, event: str, payload: object) -> None:
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": signed(body),
    }
    answer = http.post("/webhooks/github", content=body, headers=headers)
    assert answer.status_code in (202, 400), answer.text
    assert answer.json()["outcome"] in ("accepted", "rejected")
    if answer.status_code == 400:
        assert answer.json()["reason"]


@settings(max_examples=60, **SLOW)
@given(body=st.binary(max_size=300))
def test_dashboard_sign_in_never_fails(http: TestClient, body: bytes) -> None:
    answer = http.post("/dashboard/login", content=body, follow_redirects=False)
    assert answer.status_code in (303, 401)


@settings(max_examples=60, **SLOW)
@given(
    end=st.text(max_size=40),
    path=st.sampled_from(["/api/success", "/api/health", "/api/ci/summary", "/api/needs-me"]),
)
def test_window_end_is_a_time_or_a_422(http: TestClient, end: str, path: str) -> None:
    answer = http.get(path, params={"end": end}, headers=bearer(READ_KEY))
    assert answer.status_code in (200, 422), (end, answer.text)
