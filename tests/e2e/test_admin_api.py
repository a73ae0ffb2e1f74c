"""The Admin API over real HTTP: bearer keys and roles, each endpoint against a real world, audit rows."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import yaml
from temporalio.client import Client

from contracts.sweeps import RECONCILER_SCHEDULE_ID
from domain.config import ReconcilerConfig
from domain.pr_healing.events import EventType, PRRef
from domain.pr_healing.lifecycle import JournalEntry, PRState, Transition, TransitionOutcome
from domain.shared.audit import AuditFilter
from runtime.schedules import ensure_reconciler_schedule
from runtime.serving import free_port
from runtime.settings import Settings, set_settings
from store import audit, repository
from store.db import engine_for
from tests.support.admin_api import ADMIN_KEY, READ_KEY, UNKNOWN_KEY, admin_settings, bearer, served_starter
from tests.support.events import eventually, make_event
from tests.support.stack import quick_lifecycle, running_worker
from tests.support.world import mender_world

NOBODY = "/api/pr/acme/api/999999"
ENDPOINTS = [
    ("GET", "/api/prs", None),
    ("GET", "/api/prs/stale", None),
    ("GET", f"{NOBODY}/status", None),
    ("POST", f"{NOBODY}/command", {"command": "/rebuild"}),
    ("POST", "/api/reconciler/run", None),
    ("GET", "/api/circuit-breaker", None),
    ("POST", "/api/circuit-breaker/reset", None),
    ("GET", "/api/audit", None),
    ("POST", "/api/config/reload", None),
]
NO_AUTOMERGE = ("ci", "policy-bot", "approver-bot")  # every PR stalls once approved


def _rows(settings: Settings, **where: object) -> list:
    return audit.query(engine_for(settings.database_url), AuditFilter(limit=1000, **where))


async def test_every_endpoint_refuses_missing_and_unknown_keys_and_read_keys_may_only_read(
    client: Client, tmp_path: Path
) -> None:
    settings = admin_settings(tmp_path)
    try:
        async with running_worker(client) as queue, httpx.AsyncClient(timeout=30) as http:
            with served_starter(settings, client, queue) as url:
                for method, path, body in ENDPOINTS:
                    anonymous = await http.request(method, url + path, json=body)
                    assert anonymous.status_code == 401, (path, anonymous.text)
                    assert anonymous.headers["www-authenticate"] == "Bearer"
                    assert "MENDER_API_KEY" in anonymous.json()["detail"]
                    basic = await http.request(
                        method, url + path, json=body, headers={"Authorization": "Basic eA=="}
                    )
                    assert basic.status_code == 401
                    unknown = await http.request(method, url + path, json=body, headers=bearer(UNKNOWN_KEY))
                    assert (unknown.status_code, unknown.json()) == (401, {"detail": "unknown API key"})
                    reader = await http.request(method, url + path, json=body, headers=bearer(READ_KEY))
                    if method == "POST":
                        assert reader.status_code == 403 and "has role read" in reader.json()["detail"], path
                    else:
                        assert reader.status_code in (200, 404), (path, reader.text)
                garbled = await http.post(f"{url}{NOBODY}/command", content=b"\x16\xff{")
                assert garbled.status_code == 401  # the key is checked before the body is parsed
                health = await http.get(f"{url}/healthz")  # unauthenticated, not audited
                assert health.status_code == 200
    finally:
        set_settings(None)
    rows = _rows(settings, action="api.call")
    assert len(rows) == 4 * len(ENDPOINTS) + 1  # one row per call
    by_actor = {
        actor: [r for r in rows if r.actor == actor] for actor in ("anonymous", "unknown-key", "dashboard")
    }
    assert [len(v) for v in by_actor.values()] == [2 * len(ENDPOINTS) + 1, len(ENDPOINTS), len(ENDPOINTS)]
    assert {r.outcome for r in by_actor["anonymous"] + by_actor["unknown-key"]} == {"4xx"}
    refused = [r for r in by_actor["dashboard"] if r.details["method"] == "POST"]
    assert {(r.outcome, r.details["status"]) for r in refused} == {("4xx", 403)}
    assert all(r.source == "api" and r.error for r in refused)
    status_rows = [r for r in rows if r.details["route"].endswith("/status")]
    assert {(r.target, r.repository) for r in status_rows} == {("acme/api#999999", "acme/api")}
    dump = json.dumps([r.model_dump(mode="json") for r in rows])
    for key in (ADMIN_KEY, READ_KEY, UNKNOWN_KEY):
        assert key not in dump and key[10:22] not in dump  # not even a part of it


async def test_admin_key_uses_every_endpoint_against_a_live_world(client: Client, tmp_path: Path) -> None:
    settings = admin_settings(tmp_path, mode="observe", lifecycle=quick_lifecycle())
    scope = f"api-{uuid.uuid4().hex[:8]}"
    try:
        async with (
            mender_world(client, settings, actors=NO_AUTOMERGE) as world,
            httpx.AsyncClient(timeout=60, headers=bearer(ADMIN_KEY)) as http,
        ):
            with served_starter(settings, client, world.queue) as url:
                number = await world.open_pr("acme/api")
                pr = f"{url}/api/pr/acme/api/{number}"

                async def stale() -> list[dict]:
                    return (await http.get(f"{url}/api/prs/stale")).json()

                def stuck_approved(rows: list[dict]) -> bool:
                    return [(r["pr"], r["state"]) for r in rows] == [(f"acme/api#{number}", "APPROVED")]

                [stuck] = await eventually(stale, stuck_approved, timeout=60)
                assert stuck["stale_seconds"] >= stuck["threshold_seconds"] == 1.0

                listed = (await http.get(f"{url}/api/prs", params={"repo": "acme/api"})).json()
                assert [p["pr"] for p in listed] == [f"acme/api#{number}"]
                assert (await http.get(f"{url}/api/prs", params={"state": "MERGED"})).json() == []

                live = (await http.get(f"{pr}/status")).json()
                assert (live["source"], live["state"], live["workflow_id"]) == (
                    "workflow",
                    "APPROVED",
                    f"pr/acme/api/{number}",
                )
                assert live["events"][0]["type"] == "opened"

                refused = await http.post(f"{pr}/command", json={"command": "/rebuild"})
                assert refused.status_code == 200 and refused.json()["accepted"] is False, refused.text
                once = {"Idempotency-Key": f"cancel-{number}"}
                first = await http.post(f"{pr}/command", json={"command": "/cancel"}, headers=once)
                again = await http.post(f"{pr}/command", json={"command": "  /CANCEL now"}, headers=once)
                assert first.json()["accepted"] and not first.json()["duplicate"], first.text
                assert again.json() == {**first.json(), "duplicate": True}

                await ensure_reconciler_schedule(client, ReconcilerConfig(interval_seconds=3600), world.queue)
                try:
                    run = await http.post(f"{url}/api/reconciler/run")
                    assert run.json() == {"triggered": True, "schedule_id": RECONCILER_SCHEDULE_ID}
                finally:
                    await client.get_schedule_handle(RECONCILER_SCHEDULE_ID).delete()
                gone = await http.post(f"{url}/api/reconciler/run")
                assert gone.status_code == 404 and "worker" in gone.json()["detail"]

                fresh = (await http.get(f"{url}/api/circuit-breaker", params={"scope": scope})).json()
                assert (fresh["running"], fresh["state"]) == (False, "closed")
                reset = await http.post(f"{url}/api/circuit-breaker/reset", params={"scope": scope})
                assert (reset.status_code, reset.json()["state"]) == (200, "closed")
                assert (await http.get(f"{url}/api/circuit-breaker", params={"scope": scope})).json()[
                    "running"
                ]

                mine = (await http.get(f"{url}/api/audit", params={"actor": "ops-admin", "limit": 3})).json()
                assert len(mine) == 3 and mine[0]["at"] >= mine[1]["at"] >= mine[2]["at"]
                commands = (
                    await http.get(
                        f"{url}/api/audit",
                        params={"target": f"acme/api#{number}", "action": "api.call", "limit": 1000},
                    )
                ).json()
                sent = [
                    r["details"].get("command") for r in commands if r["details"]["route"].endswith("command")
                ]
                assert sent == ["/cancel", "/cancel", "/rebuild"]  # newest first
                assert all(r["repository"] == "acme/api" and r["outcome"] == "2xx" for r in commands)
            await world.client.get_workflow_handle(f"pr/acme/api/{number}").terminate("test over")
    finally:
        set_settings(None)


async def test_status_falls_back_to_the_store_once_the_workflow_is_gone(
    client: Client, tmp_path: Path
) -> None:
    settings = admin_settings(tmp_path)
    ref = PRRef(repo="acme/gone", number=77)
    at = datetime.now(UTC) - timedelta(days=2)
    engine = engine_for(settings.database_url)
    repository.upsert_pr(
        engine, {"key": ref.key, "repo": ref.repo, "number": 77, "state": "MERGED", "last_event_at": at}
    )
    merged = make_event(ref, EventType.MERGED)
    transition = Transition(
        outcome=TransitionOutcome.APPLIED, from_state=PRState.APPROVED, to_state=PRState.MERGED
    )
    repository.append_events(engine, [JournalEntry(event=merged, transition=transition)])
    try:
        async with running_worker(client) as queue, httpx.AsyncClient(headers=bearer(READ_KEY)) as http:
            with served_starter(settings, client, queue) as url:
                answer = (await http.get(f"{url}/api/pr/acme/gone/77/status")).json()
                missing = await http.get(f"{url}/api/pr/acme/gone/78/status")
    finally:
        set_settings(None)
    assert (answer["source"], answer["state"], answer["pr"]) == ("store", "MERGED", "acme/gone#77")
    assert [e["type"] for e in answer["events"]] == ["merged"]
    assert missing.status_code == 404 and missing.json() == {"detail": "acme/gone#78 is not tracked"}


async def test_bad_input_is_a_4xx_with_a_reason(client: Client, tmp_path: Path) -> None:
    settings = admin_settings(tmp_path)
    bad = [
        ("GET", "/api/audit?limit=1001", None, 422, "limit"),
        ("GET", "/api/audit?since=yesterday", None, 422, "since"),
        ("GET", "/api/audit?colour=red", None, 422, "colour"),
        ("GET", "/api/prs?repo=not-a-repo", None, 422, "repo"),
        ("GET", "/api/pr/acme/api/0/status", None, 422, "number"),
        ("GET", "/api/circuit-breaker?scope=a%20b", None, 422, "scope"),
        ("POST", f"{NOBODY}/command", {"command": "/nope"}, 422, "no known command"),
        ("POST", f"{NOBODY}/command", {"command": "/rebuild\n/merge"}, 422, "2 commands"),
        ("POST", f"{NOBODY}/command", {"command": ""}, 422, "command"),
        ("POST", f"{NOBODY}/command", None, 422, "body"),
        ("POST", f"{NOBODY}/command", {"command": "/rebuild"}, 404, "no workflow for acme/api#999999"),
    ]
    try:
        async with running_worker(client) as queue, httpx.AsyncClient(headers=bearer(ADMIN_KEY)) as http:
            with served_starter(settings, client, queue) as url:
                for method, path, body, status, reason in bad:
                    answer = await http.request(method, url + path, json=body)
                    assert answer.status_code == status, (path, answer.text)
                    assert reason in json.dumps(answer.json()["detail"]), (path, answer.text)
    finally:
        set_settings(None)
    errors = [r.error for r in _rows(settings) if r.outcome == "4xx"]
    assert len(errors) == len(bad) and all(errors)


async def test_temporal_down_is_a_503_and_the_store_still_answers(client: Client, tmp_path: Path) -> None:
    settings = admin_settings(tmp_path)
    down = f"127.0.0.1:{free_port()}"  # nothing listens there
    try:
        async with httpx.AsyncClient(timeout=30, headers=bearer(ADMIN_KEY)) as http:
            with served_starter(settings, client, "nobody", address=down) as url:
                assert (await http.get(f"{url}/api/prs")).status_code == 200
                for method, path, body in ENDPOINTS[2:7]:
                    answer = await http.request(method, url + path, json=body)
                    assert answer.status_code == 503, (path, answer.text)
                    assert down in answer.json()["detail"]
    finally:
        set_settings(None)
    assert {r.outcome for r in _rows(settings) if r.details["status"] == 503} == {"5xx"}


async def test_an_admin_reloads_the_configuration_and_a_bad_file_is_refused(
    client: Client, tmp_path: Path
) -> None:
    settings = admin_settings(tmp_path)
    path = settings.env.mender_config
    keys = [k.model_dump(mode="json") for k in settings.config.api.keys]
    try:
        async with running_worker(client) as queue, httpx.AsyncClient(timeout=30) as http:
            with served_starter(settings, client, queue) as url:
                path.write_text(yaml.safe_dump({"mode": "observe", "api": {"keys": keys}}))
                applied = await http.post(f"{url}/api/config/reload", headers=bearer(ADMIN_KEY))
                assert applied.status_code == 200 and applied.json()["applied"], applied.text
                assert "mode" in applied.json()["changed"]
                path.write_text("retry_budgets: {rebuild: -3}\n")
                refused = await http.post(f"{url}/api/config/reload", headers=bearer(ADMIN_KEY))
                body = refused.json()
                assert refused.status_code == 200 and not body["applied"]
                assert "retry_budgets.rebuild" in body["error"]
                still = await http.get(f"{url}/api/prs", headers=bearer(ADMIN_KEY))  # old keys stay valid
                assert still.status_code == 200
    finally:
        set_settings(None)
    outcomes = [r.outcome for r in _rows(settings, action="config.reload")]
    assert sorted(outcomes) == ["refused", "succeeded"]
