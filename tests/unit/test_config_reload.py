"""Configuration without restart: a valid `mender.yaml` change applies, an invalid one is refused."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from domain.shared.audit import AuditFilter
from runtime.config_reload import ConfigWatcher, reload_settings
from runtime.settings import Environment, Settings, get_settings, load_config, set_settings
from store import audit
from store.db import engine_for


def write(path: Path, config: dict, mtime: float) -> None:
    path.write_text(yaml.safe_dump(config))
    os.utime(path, (mtime, mtime))


@pytest.fixture
def yaml_settings(tmp_path: Path) -> Iterator[Settings]:
    path = tmp_path / "mender.yaml"
    write(path, {"mode": "act", "retry_budgets": {"update_branch": 2}}, 1_000)
    env = Environment(mender_config=path, mender_database_url=f"sqlite:///{tmp_path / 'm.db'}")
    settings = Settings(load_config(path), env)
    set_settings(settings)
    yield settings
    set_settings(None)


def rows(settings: Settings) -> list:
    return audit.query(engine_for(settings.database_url), AuditFilter(action="config.reload"))


def test_a_valid_change_applies_and_is_audited(yaml_settings: Settings) -> None:
    write(yaml_settings.env.mender_config, {"mode": "observe", "retry_budgets": {"update_branch": 5}}, 2_000)
    result, after = reload_settings(yaml_settings, actor="api:ops", source="api")
    assert result.applied and result.changed == ["mode", "retry_budgets"]
    assert after.config.retry_budgets.update_branch == 5 and after.env is yaml_settings.env
    [row] = rows(yaml_settings)
    assert (row.actor, row.outcome, row.details["changed"]) == (
        "api:ops",
        "succeeded",
        ["mode", "retry_budgets"],
    )


def test_the_policy_an_opening_carries_follows_a_reload(yaml_settings: Settings) -> None:
    before = yaml_settings.repo_policy("acme/api")
    assert yaml_settings.repo_policy("acme/api") is before and before.mode.value == "act"  # resolved once
    write(yaml_settings.env.mender_config, {"mode": "observe"}, 2_000)
    _, after = reload_settings(yaml_settings)
    assert after.repo_policy("acme/api").mode.value == "observe"
    yaml_settings.config = after.config  # a configuration replaced in place is seen too
    assert yaml_settings.repo_policy("acme/api") == after.repo_policy("acme/api")


def test_a_missing_file_is_refused_rather_than_taken_for_defaults(yaml_settings: Settings) -> None:
    yaml_settings.env.mender_config.unlink()
    result, after = reload_settings(yaml_settings)
    assert not result.applied and "does not exist" in (result.error or "") and after is yaml_settings


def test_an_unchanged_file_changes_nothing_and_writes_no_row(yaml_settings: Settings) -> None:
    result, after = reload_settings(yaml_settings)
    assert result.applied and result.changed == [] and after is yaml_settings
    assert rows(yaml_settings) == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("retry_budgets: {update_branch: -1}\n", "retry_budgets.update_branch"),
        ("mode: sometimes\n", "mode"),
        ("bogus_key: 1\n", "bogus_key"),
        ("mode: [unclosed\n", "not valid YAML"),
    ],
)
def test_an_invalid_change_is_refused_with_the_key_and_the_old_settings_stay(
    yaml_settings: Settings, text: str, reason: str
) -> None:
    yaml_settings.env.mender_config.write_text(text)
    result, after = reload_settings(yaml_settings)
    assert not result.applied and reason in (result.error or "")
    assert after is yaml_settings
    [row] = rows(yaml_settings)
    assert row.outcome == "refused" and reason in row.error


async def test_the_watcher_reloads_on_a_new_file_and_reports_old_and_new(yaml_settings: Settings) -> None:
    seen: list[tuple[str, str]] = []

    async def on_change(before: Settings, after: Settings) -> None:
        seen.append((before.config.mode, after.config.mode))

    watcher = ConfigWatcher(on_change=on_change)
    assert await watcher.check() is None  # nothing changed yet
    write(yaml_settings.env.mender_config, {"mode": "observe"}, 3_000)
    result = await watcher.check()
    assert result is not None and result.applied
    assert get_settings().config.mode == "observe" and seen == [("act", "observe")]
    write(yaml_settings.env.mender_config, {"mode": "nonsense"}, 4_000)
    refused = await watcher.check()
    assert refused is not None and not refused.applied
    assert get_settings().config.mode == "observe" and len(seen) == 1


async def test_a_second_process_follows_the_file_without_a_second_audit_row(yaml_settings: Settings) -> None:
    watcher = ConfigWatcher(audited=False)  # the starter's: the worker's watcher audits the change
    write(yaml_settings.env.mender_config, {"mode": "observe"}, 5_000)
    result = await watcher.check()
    assert result is not None and result.applied and get_settings().config.mode == "observe"
    assert rows(yaml_settings) == []
