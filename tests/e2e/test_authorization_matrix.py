"""Authorization matrix of the Admin API over real HTTP: every endpoint with no key, a wrong key and each
role; keys hashed at rest, rotated and revoked through the API, every use audited."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import httpx
from temporalio.client import Client
from typer.testing import CliRunner

from domain.shared.admin_config import Role, role_allows
from domain.shared.audit import AuditFilter
from runtime.settings import Settings, set_settings
from starter.app import create_app
from starter.auth import generate_key, hash_key
from starter.cli import app
from store import audit
from store.db import engine_for
from tests.support.admin_api import bearer, served_starter
from tests.support.stack import make_settings, running_worker

KEYS = {role: generate_key() for role in Role}
WRONG_KEY = generate_key()
NOBODY = "/api/pr/acme/api/999999"
# (method, path, body, role it needs)
ENDPOINTS = [
    ("GET", "/api/prs", None, Role.READ),
    ("GET", "/api/prs/stale", None, Role.READ),
    ("GET", f"{NOBODY}/status", None, Role.READ),
    ("POST", f"{NOBODY}/command", {"command": "/rebuild"}, Role.OPERATE),
    ("POST", "/api/reconciler/run", None, Role.OPERATE),
    ("GET", "/api/circuit-breaker", None, Role.READ),
    ("POST", "/api/circuit-breaker/reset", None, Role.ADMIN),
    ("GET", "/api/audit", None, Role.READ),
    ("GET", "/api/keys", None, Role.ADMIN),
    ("POST", "/api/keys", {"name": "made-by-matrix", "role": "read"}, Role.ADMIN),
    ("POST", "/api/keys/made-by-matrix/rotate", None, Role.ADMIN),
    ("DELETE", "/api/keys/made-by-matrix", None, Role.ADMIN),
    ("GET", "/api/needs-me", None, Role.READ),
    ("GET", "/api/success", None, Role.READ),
    ("GET", "/api/ci/summary", None, Role.READ),
    ("GET", "/api/health", None, Role.READ),
    ("GET", "/api/doctor", None, Role.READ),
    ("GET", "/api/merge-queues", None, Role.READ),
    ("POST", "/api/config/reload", None, Role.ADMIN),
    ("GET", "/api/review", None, Role.READ),
    ("POST", "/api/review/999999/approve", {"reason": "matrix"}, Role.OPERATE),
    ("POST", "/api/review/999999/reject", None, Role.OPERATE),
    ("GET", "/api/playbooks", None, Role.READ),
    ("GET", "/api/playbooks/learned", None, Role.READ),
    ("GET", "/api/playbooks/learned/1/export", None, Role.READ),
    ("POST", "/api/playbooks/learned/1/disable", None, Role.ADMIN),
    ("GET", "/api/flaky", None, Role.READ),
]


def _settings(tmp_path: Path) -> Settings:
    keys = [{"name": f"{role.value}-key", "role": role.value, "hash": hash_key(KEYS[role])} for role in Role]
    return make_settings(tmp_path, api={"keys": keys})


def test_every_endpoint_is_in_the_matrix(tmp_path: Path) -> None:
    paths = create_app(make_settings(tmp_path)).openapi()["paths"]
    set_settings(None)
    documented = {
        (method.upper(), path, operation.get("x-mender-role", "read" if method == "get" else "admin"))
        for path, operations in paths.items()
        if path.startswith("/api")
        for method, operation in operations.items()
    }
    listed = {
        (
            m,
            p.replace("acme/api/999999", "{owner}/{repo}/{number}")
            .replace("made-by-matrix", "{name}")
            .replace("review/999999", "review/{item_id}")
            .replace("learned/1/", "learned/{fix_id}/"),
            r.value,
        )
        for m, p, _, r in ENDPOINTS
    }
    assert documented == listed


async def test_only_the_intended_roles_succeed(client: Client, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    callers = [("nobody", None), ("wrong", WRONG_KEY), *((role.value, KEYS[role]) for role in Role)]
    outcomes: dict[tuple[str, str, str], int] = {}
    try:
        async with running_worker(client) as queue, httpx.AsyncClient(timeout=60) as http:
            with served_starter(settings, client, queue) as url:
                for method, path, body, needed in ENDPOINTS:
                    for who, key in callers:
                        headers = bearer(key) if key else {}
                        answer = await http.request(method, url + path, json=body, headers=headers)
                        outcomes[(method, path, who)] = answer.status_code
                        if key is None or key == WRONG_KEY:
                            assert answer.status_code == 401, (method, path, who, answer.text)
                        elif role_allows(who, needed):
                            assert answer.status_code in (200, 201, 404), (method, path, who, answer.text)
                        else:
                            assert answer.status_code == 403, (method, path, who, answer.text)
                            assert f"needs an {needed.value} key" in answer.json()["detail"]
    finally:
        set_settings(None)
    # The admin calls on the key endpoints really did their work (created, rotated, then revoked it).
    key_calls = [
        (m, p) for m, p, _, _ in ENDPOINTS if "made-by-matrix" in str(p) or (m == "POST" and p == "/api/keys")
    ]
    assert [outcomes[(m, p, "admin")] for m, p in key_calls] == [201, 200, 200]
    rows = audit.query(engine_for(settings.database_url), AuditFilter(action="api.call", limit=1000))
    assert len(rows) == len(ENDPOINTS) * len(callers)  # every call audited, refused ones too
    assert {r.actor for r in rows} == {"anonymous", "unknown-key", "read-key", "operate-key", "admin-key"}


async def test_keys_are_hashed_rotated_revoked_and_their_use_audited(client: Client, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    admin = bearer(KEYS[Role.ADMIN])
    try:
        async with running_worker(client) as queue, httpx.AsyncClient(timeout=60) as http:
            with served_starter(settings, client, queue) as url:
                created = await http.post(
                    f"{url}/api/keys", json={"name": "ci-bot", "role": "operate"}, headers=admin
                )
                assert created.status_code == 201, created.text
                first = created.json()["key"]
                assert (await http.get(f"{url}/api/prs", headers=bearer(first))).status_code == 200
                clash = await http.post(f"{url}/api/keys", json={"name": "ci-bot"}, headers=admin)
                assert clash.status_code == 409

                rotated = await http.post(f"{url}/api/keys/ci-bot/rotate", headers=admin)
                second = rotated.json()["key"]
                assert rotated.json()["role"] == "operate" and second != first
                assert (await http.get(f"{url}/api/prs", headers=bearer(first))).status_code == 401
                assert (await http.get(f"{url}/api/prs", headers=bearer(second))).status_code == 200

                # A key of mender.yaml is revoked without editing the file.
                revoked = await http.delete(f"{url}/api/keys/read-key", headers=admin)
                assert revoked.status_code == 200
                assert (await http.get(f"{url}/api/prs", headers=bearer(KEYS[Role.READ]))).status_code == 401
                listed = (await http.get(f"{url}/api/keys", headers=admin)).json()
                assert {k["name"] for k in listed} == {"operate-key", "admin-key", "ci-bot"}
                assert all(set(k) == {"name", "role"} for k in listed)  # never a hash

                last_admin = await http.delete(f"{url}/api/keys/admin-key", headers=admin)
                assert last_admin.status_code == 409 and "last active admin" in last_admin.json()["detail"]
                unknown = await http.delete(f"{url}/api/keys/nobody", headers=admin)
                assert unknown.status_code == 404
    finally:
        set_settings(None)
    database = Path(settings.database_url.removeprefix("sqlite:///"))
    with sqlite3.connect(database) as db:
        stored = db.execute("select name, hash, revoked_at from api_key").fetchall()
    assert {(name, hash_, revoked is None) for name, hash_, revoked in stored} >= {
        ("ci-bot", hash_key(first), False),
        ("ci-bot", hash_key(second), True),
        ("read-key", hash_key(KEYS[Role.READ]), False),
    }
    raw = b"".join(p.read_bytes() for p in database.parent.glob("mender.db*"))
    for key in (first, second, *KEYS.values()):
        assert key.encode() not in raw  # only hashes at rest
    rows = audit.query(engine_for(settings.database_url), AuditFilter(action="api.call", limit=1000))
    uses = [r for r in rows if r.actor == "ci-bot"]
    assert len(uses) == 2 and {r.details["status"] for r in uses} == {200}  # each use, by name
    managed = {(r.details["route"], r.details.get("key_name")) for r in rows if r.actor == "admin-key"}
    assert ("/api/keys/{name}/rotate", "ci-bot") in managed and ("/api/keys/{name}", "read-key") in managed


async def run(url: str, key: str, *args: str, code: int = 0) -> str:
    """The `mender` CLI against the API at `url` with `key`, off the event loop; asserts the exit code."""
    env = {"MENDER_API_URL": url, "MENDER_API_KEY": key}
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)
    assert result.exit_code == code, (args, result.output)
    return result.output


async def test_the_cli_manages_keys_through_the_api(client: Client, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    admin = KEYS[Role.ADMIN]
    try:
        async with running_worker(client) as queue:
            with served_starter(settings, client, queue) as url:
                made = await run(url, admin, "keys", "create", "nightly", "--role", "operate", "--json")
                key = json.loads(made)["key"]
                await run(url, key, "prs")  # an operate key may read
                listed = await run(url, admin, "keys")
                assert "nightly" in listed and "operate" in listed and key not in listed
                rotated = json.loads(await run(url, admin, "keys", "rotate", "nightly", "--json"))["key"]
                await run(url, key, "prs", code=4)  # the old key is refused
                await run(url, rotated, "prs")
                refused = await run(url, KEYS[Role.OPERATE], "keys", "revoke", "nightly", code=4)
                assert "needs an admin key" in refused
                assert "revoked nightly" in await run(url, admin, "keys", "revoke", "nightly")
                await run(url, rotated, "prs", code=4)
                assert "needs the key's NAME" in await run(url, admin, "keys", "rotate", code=2)
    finally:
        set_settings(None)
