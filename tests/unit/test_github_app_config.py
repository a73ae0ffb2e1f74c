"""GitHub App settings: the key comes from the environment or a file; a missing key stops the start."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from domain.config import MenderConfig
from runtime.settings import ConfigError, Environment, Settings


def settings(tmp_path: Path, **env: object) -> Settings:
    config = MenderConfig.model_validate({"github": {"app_id": 42, "api_url": "https://ghe.example/api/v3"}})
    return Settings(config, Environment(mender_config=tmp_path / "absent.yaml", **env))


def test_app_key_from_env_or_file(tmp_path: Path) -> None:
    from_env = settings(tmp_path, mender_github_app_private_key=SecretStr("-----BEGIN KEY-----"))
    assert from_env.github_app_key == "-----BEGIN KEY-----" and not from_env.uses_github_simulator
    assert from_env.github_api_url == "https://ghe.example/api/v3"
    key = tmp_path / "app.pem"
    key.write_text("-----FILE KEY-----")
    assert settings(tmp_path, mender_github_app_private_key_file=key).github_app_key == "-----FILE KEY-----"
    assert "KEY" not in repr(from_env)


def test_app_without_key_or_with_unreadable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MENDER_GITHUB_APP_PRIVATE_KEY"):
        settings(tmp_path).github_app_key  # noqa: B018
    with pytest.raises(ConfigError, match="No such file"):
        settings(tmp_path, mender_github_app_private_key_file=tmp_path / "missing.pem").github_app_key  # noqa: B018
    no_app = Settings(MenderConfig(), Environment(mender_config=tmp_path / "absent.yaml"))
    assert no_app.github_app_key is None and no_app.uses_github_simulator
