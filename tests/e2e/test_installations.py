"""`installation` / `installation_repositories` webhooks add and remove the repositories Mender sweeps."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path

import httpx
from temporalio.client import Client

from activities.reconcile import swept_repos
from runtime.settings import set_settings
from store import installations
from store.db import engine_for
from tests.support.admin_api import served_starter
from tests.support.stack import make_settings


def post(url: str, event: str, body: dict, delivery: str | None = None) -> httpx.Response:
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(b"test-secret", raw, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature,
        "Content-Type": "application/json",
    }
    return httpx.post(f"{url}/webhooks/github", content=raw, headers=headers)


def repos(*names: str) -> list[dict]:
    return [{"id": i, "full_name": n, "name": n.split("/")[1]} for i, n in enumerate(names, 1)]


async def test_installation_webhooks_change_the_swept_repositories(client: Client, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, repositories=[{"name": "acme/api"}])
    engine = engine_for(settings.database_url)
    try:
        with served_starter(settings, client, "no-worker") as url:
            created = post(
                url,
                "installation",
                {
                    "action": "created",
                    "installation": {"id": 7},
                    "repositories": repos("acme/web", "acme/api"),
                },
                delivery="inst-1",
            )
            assert created.status_code == 202
            assert created.json()["events"] == [
                "installation 7 created: added ['acme/web', 'acme/api'], removed []"
            ]
            assert swept_repos(settings) == ["acme/api", "acme/web"]  # configured first, no duplicates
            assert (
                post(url, "installation", {"action": "created", "installation": {"id": 7}}, "inst-1").json()[
                    "outcome"
                ]
                == "duplicate"
            )

            changed = post(
                url,
                "installation_repositories",
                {
                    "action": "added",
                    "installation": {"id": 7},
                    "repositories_added": repos("acme/lib"),
                    "repositories_removed": repos("acme/web"),
                },
            )
            assert changed.status_code == 202
            assert installations.installed(engine) == ["acme/api", "acme/lib"]

            bad = post(url, "installation_repositories", {"action": "added", "installation": {"id": "x"}})
            assert bad.status_code == 400 and "installation.id" in bad.json()["reason"]
            evil = post(
                url,
                "installation_repositories",
                {
                    "action": "added",
                    "installation": {"id": 7},
                    "repositories_added": [{"full_name": "../etc"}],
                },
            )
            assert evil.status_code == 400

            gone = post(url, "installation", {"action": "deleted", "installation": {"id": 7}})
            assert gone.status_code == 202 and "removed ['acme/api', 'acme/lib']" in gone.json()["events"][0]
            assert installations.installed(engine) == [] and swept_repos(settings) == ["acme/api"]
    finally:
        set_settings(None)
