"""The `mender` CLI talks to the Admin API over real HTTP: tables, `--json`, clear errors, `api-key`."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path

import yaml
from temporalio.client import Client
from typer.testing import CliRunner, Result

from contracts.sweeps import RECONCILER_SCHEDULE_ID
from domain.config import ReconcilerConfig
from domain.shared.admin_config import ApiConfig
from runtime.schedules import ensure_reconciler_schedule
from runtime.serving import free_port
from runtime.settings import set_settings
from starter.auth import hash_key
from starter.cli import app
from tests.support.admin_api import ADMIN_KEY, READ_KEY, admin_settings, served_starter
from tests.support.events import eventually
from tests.support.stack import make_settings, quick_lifecycle, running_worker
from tests.support.world import mender_world

SUMMARY_FIELDS = {
    "pr",
    "repo",
    "number",
    "state",
    "head_sha",
    "last_event_at",
    "retry_counts",
    "invalid_events",
    "expires_at",
}
EVENT_FIELDS = {
    "occurred_at",
    "type",
    "source",
    "outcome",
    "from_state",
    "to_state",
    "reason",
    "key",
    "actor",
    "details",  # action, outcome, ... (the readable story of `mender pr`)
}


def mender(url: str, key: str | None, *args: str) -> Result:
    env = {"MENDER_API_URL": url, "MENDER_API_KEY": key or ""}
    return CliRunner().invoke(app, list(args), env=env)


async def run(url: str, key: str | None, *args: str, code: int = 0) -> str:
    """Invoke the CLI off the event loop (the worker runs on it); assert the exit code."""
    result = await asyncio.to_thread(mender, url, key, *args)
    assert result.exit_code == code, (args, result.output)
    return result.output


async def test_cli_reads_and_steers_a_live_world_through_the_api(client: Client, tmp_path: Path) -> None:
    settings = admin_settings(tmp_path, mode="observe", lifecycle=quick_lifecycle())
    try:
        async with mender_world(client, settings, actors=("ci", "policy-bot", "approver-bot")) as world:
            with served_starter(settings, client, world.queue) as url:
                number = await world.open_pr("acme/api")
                ref = f"acme/api#{number}"

                async def stale() -> list[dict]:
                    return json.loads(await run(url, ADMIN_KEY, "stale", "--json"))

                await eventually(
                    stale,
                    lambda rows: [(r["pr"], r["state"]) for r in rows] == [(ref, "APPROVED")],
                    timeout=60,
                )
                assert re.search(rf"{re.escape(ref)}\s+APPROVED", await run(url, ADMIN_KEY, "stale"))

                table = await run(url, READ_KEY, "prs", "--repo", "acme/api")
                assert table.splitlines()[0].split() == ["PR", "STATE", "HEAD", "LAST", "EVENT"]
                assert re.search(rf"{re.escape(ref)}\s+APPROVED", table)
                [listed] = json.loads(await run(url, READ_KEY, "prs", "--json"))
                assert set(listed) == SUMMARY_FIELDS and listed["pr"] == ref
                assert await run(url, READ_KEY, "prs", "--state", "MERGED") == "no tracked PRs\n"

                one = json.loads(await run(url, READ_KEY, "pr", ref, "--json"))
                assert set(one) >= SUMMARY_FIELDS | {"events"} and set(one["events"][0]) == EVENT_FIELDS
                text = await run(url, READ_KEY, "pr", ref)
                assert text.startswith(f"{ref}  state APPROVED") and "(from the workflow)" in text

                refused = await run(url, ADMIN_KEY, "command", ref, "/rebuild", code=1)
                assert f"{ref} /rebuild: refused: " in refused
                accepted = await run(url, ADMIN_KEY, "command", ref, "/cancel", "--json")
                assert json.loads(accepted)["accepted"] is True

                await ensure_reconciler_schedule(client, ReconcilerConfig(interval_seconds=3600), world.queue)
                try:
                    assert await run(url, ADMIN_KEY, "reconcile") == "reconciler sweep triggered\n"
                finally:
                    await client.get_schedule_handle(RECONCILER_SCHEDULE_ID).delete()
                assert "not found" in await run(url, ADMIN_KEY, "reconcile", code=1)

                rows = json.loads(await run(url, READ_KEY, "audit", "--actor", "ops-admin", "--json"))
                calls = [r for r in rows if r["action"] == "api.call"]
                assert {r["action"] for r in rows} <= {"api.call", "pr.command", "pr.remediation"}
                assert len(calls) >= 6
                audit_table = await run(
                    url, READ_KEY, "audit", "--target", ref, "--outcome", "2xx", "--limit", "2"
                )
                assert len(audit_table.splitlines()) == 4 and ref in audit_table.splitlines()[2]
            await world.client.get_workflow_handle(f"pr/acme/api/{number}").terminate("test over")
    finally:
        set_settings(None)


async def test_cli_errors_say_what_to_do(client: Client, tmp_path: Path) -> None:
    settings = admin_settings(tmp_path)
    nowhere = f"http://127.0.0.1:{free_port()}"
    assert "cannot reach the Mender API at " + nowhere in await run(nowhere, ADMIN_KEY, "prs", code=3)
    try:
        async with running_worker(client) as queue:
            with served_starter(settings, client, queue) as url:
                assert "MENDER_API_KEY is not set" in await run(url, None, "prs", code=4)
                assert "set MENDER_API_KEY" in await run(url, "wrong", "audit", code=4)
                assert "admin key" in await run(url, READ_KEY, "breaker", "reset", code=4)
                assert "expected OWNER/REPO#NUMBER" in await run(url, ADMIN_KEY, "pr", "acme/api", code=2)
                missing = await run(url, ADMIN_KEY, "pr", "acme/api#999999", code=1)
                assert "404: acme/api#999999 is not tracked" in missing
                assert "limit" in await run(
                    url, ADMIN_KEY, "audit", "--since", "2026-01-01", "--limit", "0", code=2
                )
    finally:
        set_settings(None)


async def test_api_key_prints_a_key_once_and_the_entry_for_mender_yaml(
    client: Client, tmp_path: Path
) -> None:
    result = await asyncio.to_thread(CliRunner().invoke, app, ["api-key", "grafana", "--role", "read"])
    assert result.exit_code == 0, result.output
    key = result.output.splitlines()[1].strip()
    entry = yaml.safe_load(result.output[result.output.index("api:") :])
    config = ApiConfig.model_validate(entry["api"])
    assert [(k.name, k.role, k.hash) for k in config.keys] == [("grafana", "read", hash_key(key))]
    assert result.output.count(key) == 1  # shown once; the yaml holds only its hash

    settings = make_settings(tmp_path, api=entry["api"])
    try:
        async with running_worker(client) as queue:
            with served_starter(settings, client, queue) as url:
                assert await run(url, key, "prs") == "no tracked PRs\n"
                assert "role read" in await run(url, key, "reconcile", code=4)
    finally:
        set_settings(None)


async def test_breaker_scope_defaults_to_the_configured_one(client: Client, tmp_path: Path) -> None:
    settings = admin_settings(tmp_path, breaker={"scope": f"cli-{uuid.uuid4().hex[:8]}"})
    try:
        async with running_worker(client) as queue:
            with served_starter(settings, client, queue) as url:
                status = await run(url, READ_KEY, "breaker")
                assert status == f"breaker {settings.config.breaker.scope}: never used (closed)\n"
    finally:
        set_settings(None)


async def test_config_reload_applies_a_valid_file_and_refuses_a_bad_one(
    client: Client, tmp_path: Path
) -> None:
    """`mender config reload`: exit 0 and what changed; a bad file exits 1 naming the key, the old stays."""
    settings = admin_settings(tmp_path)
    path = settings.env.mender_config
    keys = [k.model_dump(mode="json") for k in settings.config.api.keys]
    try:
        async with running_worker(client) as queue:
            with served_starter(settings, client, queue) as url:
                path.write_text(yaml.safe_dump({"mode": "observe", "api": {"keys": keys}}))
                assert "configuration reloaded; changed: " in await run(url, ADMIN_KEY, "config", "reload")
                path.write_text("retry_budgets: {rebuild: -3}\n")
                refused = await run(url, ADMIN_KEY, "config", "reload", code=1)
                assert "configuration refused, the previous one stays" in refused
                assert "retry_budgets.rebuild" in refused
                assert json.loads(await run(url, ADMIN_KEY, "prs", "--json")) == []  # the old keys still work
    finally:
        set_settings(None)
