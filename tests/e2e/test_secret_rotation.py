"""Webhook secret rotation over real HTTP: during a rotation the new and the previous GitHub secret (and
GitLab token) are accepted, anything else is 401; once the previous one is dropped, it is refused."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
from pydantic import SecretStr
from temporalio.client import Client

from runtime.dispatch import EventDispatcher
from runtime.serving import ServerThread
from runtime.settings import Settings, set_settings
from starter.app import create_app
from starter.signatures import github_signature, verify_github_signature, verify_token
from tests.conftest import FIXTURES
from tests.support.stack import make_settings

NEW, OLD = "rotated-secret-2026-12", "retiring-secret-2026-06"
HUMAN_PR = json.loads((FIXTURES / "github/webhooks/pull_request/opened.payload.json").read_text())


def _settings(tmp_path: Path, previous: str | None) -> Settings:
    settings = make_settings(tmp_path, webhook_secret=NEW)
    update = {
        "mender_gitlab_webhook_token": SecretStr(NEW),
        "mender_webhook_secret_previous": SecretStr(previous) if previous else None,
        "mender_gitlab_webhook_token_previous": SecretStr(previous) if previous else None,
    }
    settings.env = settings.env.model_copy(update=update)
    return settings


async def _github(http: httpx.AsyncClient, url: str, secret: str) -> int:
    body = json.dumps(HUMAN_PR).encode()
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": github_signature(secret, body),
    }
    return (await http.post(f"{url}/webhooks/github", content=body, headers=headers)).status_code


async def _gitlab(http: httpx.AsyncClient, url: str, token: str) -> int:
    pipeline = json.loads((FIXTURES / "gitlab/webhooks/pipeline.json").read_text())
    pipeline["object_attributes"]["status"] = "running"  # ignored: nothing is started on Temporal
    body = json.dumps(pipeline).encode()
    headers = {
        "X-Gitlab-Event": "Pipeline Hook",
        "X-Gitlab-Event-UUID": str(uuid.uuid4()),
        "X-Gitlab-Token": token,
    }
    return (await http.post(f"{url}/webhooks/gitlab", content=body, headers=headers)).status_code


async def test_both_secrets_work_during_a_rotation_and_only_the_new_one_after(
    client: Client, tmp_path: Path
) -> None:
    dispatcher = EventDispatcher(client.service_client.config.target_host, client.namespace, "rotation-test")
    statuses: dict[str, list[int]] = {}
    try:
        for phase, previous in (("rotating", OLD), ("done", None)):
            app = create_app(_settings(tmp_path / phase, previous), dispatcher)
            async with httpx.AsyncClient(timeout=30) as http:
                with ServerThread(app) as server:
                    statuses[phase] = [
                        await _github(http, server.url, secret) for secret in (NEW, OLD, "guessed")
                    ] + [await _gitlab(http, server.url, token) for token in (NEW, OLD, "guessed")]
    finally:
        set_settings(None)
    rotating, done = statuses["rotating"], statuses["done"]
    assert rotating[0] == rotating[1] == 200 and rotating[2] == 401, rotating  # GitHub: new, old, guessed
    assert rotating[3] == rotating[4] == 200 and rotating[5] == 401, rotating  # GitLab
    assert done[0] == 200 and done[1] == done[2] == 401, done
    assert done[3] == 200 and done[4] == done[5] == 401, done


def test_every_secret_is_compared() -> None:
    body = b'{"zen": "Keep it logically awesome."}'
    signed_old = github_signature(OLD, body)
    assert verify_github_signature([NEW, OLD], body, signed_old)
    assert verify_github_signature(NEW, body, github_signature(NEW, body))
    assert not verify_github_signature([NEW], body, signed_old)
    assert not verify_github_signature([], body, signed_old)
    assert verify_token([NEW, OLD], OLD) and not verify_token([NEW, OLD], "x") and not verify_token(NEW, None)
