"""mender.yaml validation, per-repository overrides and secrets from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from domain.config import Mode
from domain.pr_healing.lifecycle import PRState
from runtime.settings import ConfigError, Environment, Settings, load_config
from starter.cli import app

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mender.yaml"
    path.write_text(text)
    return path


def test_committed_example_is_valid() -> None:
    config = load_config(ROOT / "mender.yaml")
    assert [r.name for r in config.repositories] == ["acme/api", "acme/web"]


def test_per_repository_overrides() -> None:
    config = load_config(ROOT / "mender.yaml")
    web, api = config.policy_for("acme/web"), config.policy_for("acme/api")
    assert (web.mode, api.mode) == (Mode.OBSERVE, Mode.ACT)
    assert web.stale_after(PRState.CHECKS_RUNNING) == 1800
    assert api.stale_after(PRState.CHECKS_RUNNING) == 3600
    assert not config.policy_for("other/repo").tracked


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("lifecycle:\n  bogus: 1\n", "lifecycle.bogus: Extra inputs are not permitted"),
        ("mode: sometimes\n", "mode: Input should be 'observe' or 'act'"),
        ("lifecycle:\n  staleness_seconds:\n    CHECKS_RUNNING: -5\n", "lifecycle.staleness_seconds"),
        ("lifecycle:\n  staleness_seconds:\n    MERGED: 5\n", "MERGED is terminal"),
        ("repositories:\n  - name: not a repo\n", "repositories.0.name"),
        ("repositories:\n  - name: a/b\n  - name: a/b\n", "repositories listed twice: a/b"),
        ("retry_budgets:\n  rebuild: -1\n", "retry_budgets.rebuild"),
        ("- just\n- a list\n", "top level must be a mapping"),
        ("mode: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_files_fail_with_key_path_and_reason(tmp_path: Path, text: str, where: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text))
    assert where in str(error.value)


def test_secrets_come_from_the_environment_and_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_supersecretvalue")
    monkeypatch.delenv("MENDER_WEBHOOK_SECRET", raising=False)
    settings = Settings(load_config(ROOT / "mender.yaml"), Environment())
    assert not settings.uses_github_simulator
    assert settings.github_api_url == "https://api.github.com"
    assert "supersecret" not in repr(settings) + repr(settings.env)
    with pytest.raises(ConfigError, match="MENDER_WEBHOOK_SECRET"):
        _ = settings.webhook_secret


def test_without_a_token_the_simulator_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    settings = Settings(load_config(ROOT / "mender.yaml"), Environment())
    assert settings.uses_github_simulator and settings.github_api_url == "http://127.0.0.1:8090"


def test_check_config_command(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["check-config", str(ROOT / "mender.yaml")])
    assert ok.exit_code == 0 and "valid" in ok.output
    bad = runner.invoke(app, ["check-config", str(write(tmp_path, "temporal:\n  task_queue: ''\n"))])
    assert bad.exit_code == 2 and "temporal.task_queue" in bad.output
