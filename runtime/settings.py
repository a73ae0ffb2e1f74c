"""Settings: `mender.yaml` (validated by `domain.config`) plus secrets from the environment.

Nothing is read at import time. `get_settings()` is cached; tests call `override_settings(...)`.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.config import MenderConfig, RepoPolicy
from domain.shared.redaction import remember_secrets

DEV_WEBHOOK_SECRET = "dev-webhook-secret"
DEV_SLACK_SIGNING_SECRET = "dev-slack-signing-secret"
DEV_GITLAB_WEBHOOK_TOKEN = "dev-gitlab-webhook-token"


class ConfigError(ValueError):
    """A configuration file that cannot be used, with every key path and reason."""


class Environment(BaseSettings):
    """Secrets and locations, from the environment only. Secrets never appear in a repr."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    mender_config: Path = Path("mender.yaml")
    mender_database_url: str = "sqlite:///data/mender.db"
    mender_temporal_address: str | None = None
    mender_metrics_host: str | None = None  # overrides metrics.host (0.0.0.0 in a container)
    github_token: SecretStr | None = None
    mender_github_app_private_key: SecretStr | None = None  # PEM of the GitHub App (github.app_id)
    mender_github_app_private_key_file: Path | None = None  # or a file holding it
    mender_webhook_secret: SecretStr | None = None
    mender_webhook_secret_previous: SecretStr | None = None  # still accepted while GitHub is switched over
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    gitlab_token: SecretStr | None = None
    mender_gitlab_webhook_token: SecretStr | None = None
    mender_gitlab_webhook_token_previous: SecretStr | None = None  # still accepted during a rotation
    openai_api_key: SecretStr | None = None
    mender_worker_activity_slots: int = Field(default=32, ge=1, le=1000)  # concurrent activities per worker
    # ... and beside them, for the activities of each lane (`contracts.activities.Lane`) on its own queue
    mender_worker_projection_slots: int = Field(default=16, ge=1, le=1000)
    mender_worker_read_slots: int = Field(default=16, ge=1, le=1000)
    mender_worker_write_slots: int = Field(default=8, ge=1, le=1000)
    mender_worker_sweep_slots: int = Field(default=2, ge=1, le=100)


POLICY_CACHE = 10_000  # repositories whose resolved policy a process keeps


class Settings:
    """The effective settings of one process."""

    def __init__(self, config: MenderConfig, env: Environment) -> None:
        self.config = config
        self.env = env
        # Mender's own secrets and the configured CI secrets are masked in everything it writes.
        own = [value.get_secret_value() for value in env.__dict__.values() if isinstance(value, SecretStr)]
        remember_secrets([*own, *(os.environ.get(name) for name in config.ci.secret_env_vars)])
        self._policies: dict[str, RepoPolicy] = {}
        self._policies_of = config

    def repo_policy(self, repo: str) -> RepoPolicy:
        """`config.policy_for(repo)`, resolved once per repository and configuration (a reload makes new
        settings, so new policies); at most POLICY_CACHE repositories are kept."""
        if self._policies_of is not self.config:
            self._policies, self._policies_of = {}, self.config
        policy = self._policies.get(repo)
        if policy is None:
            if len(self._policies) >= POLICY_CACHE:
                self._policies.clear()
            policy = self._policies[repo] = self.config.policy_for(repo)
        return policy

    @property
    def database_url(self) -> str:
        return self.env.mender_database_url

    @property
    def temporal_address(self) -> str:
        return self.env.mender_temporal_address or self.config.temporal.address

    @property
    def uses_github_simulator(self) -> bool:
        """True without GitHub credentials (a token, or an App id with its key): the simulator stands in."""
        return self.env.github_token is None and self.github_app_key is None

    @property
    def github_app_key(self) -> str | None:
        """The GitHub App's private key (PEM) when `github.app_id` is set and a key is given."""
        if self.config.github.app_id is None:
            return None
        if self.env.mender_github_app_private_key:
            return self.env.mender_github_app_private_key.get_secret_value()
        path = self.env.mender_github_app_private_key_file
        if path is None:
            raise ConfigError("github.app_id needs MENDER_GITHUB_APP_PRIVATE_KEY or ..._FILE")
        try:
            return path.read_text()
        except OSError as exc:
            raise ConfigError(f"MENDER_GITHUB_APP_PRIVATE_KEY_FILE {path}: {exc.strerror}") from None

    @property
    def github_api_url(self) -> str:
        if self.uses_github_simulator:
            return self.config.github.simulator_url
        return self.config.github.api_url or "https://api.github.com"

    @property
    def github_token(self) -> str:
        return self.env.github_token.get_secret_value() if self.env.github_token else "simulator-token"

    @property
    def uses_slack_simulator(self) -> bool:
        """True when no Slack token is configured: the Slack simulator stands in."""
        return self.env.slack_bot_token is None

    @property
    def slack_api_url(self) -> str:
        """Base URL for slack-sdk's WebClient (ends with `/api/`)."""
        if self.uses_slack_simulator:
            return self.config.slack.simulator_url
        return self.config.slack.api_url or "https://slack.com/api/"

    @property
    def slack_token(self) -> str:
        return self.env.slack_bot_token.get_secret_value() if self.env.slack_bot_token else "xoxb-simulator"

    @property
    def webhook_secret(self) -> str:
        """The webhook HMAC secret; a real GitHub without a secret is refused."""
        if self.env.mender_webhook_secret:
            return self.env.mender_webhook_secret.get_secret_value()
        if self.uses_github_simulator:
            return DEV_WEBHOOK_SECRET
        raise ConfigError("MENDER_WEBHOOK_SECRET must be set when GITHUB_TOKEN is set (or a GitHub App)")

    @property
    def webhook_secrets(self) -> list[str]:
        """The secrets a GitHub signature may use: the current one, and the previous one during a rotation."""
        previous = self.env.mender_webhook_secret_previous
        return [self.webhook_secret, *([previous.get_secret_value()] if previous else [])]

    @property
    def slack_signing_secret(self) -> str:
        """Slack's request-signing secret; the simulator's development secret when Slack is simulated."""
        if self.env.slack_signing_secret:
            return self.env.slack_signing_secret.get_secret_value()
        if self.uses_slack_simulator:
            return DEV_SLACK_SIGNING_SECRET
        raise ConfigError("SLACK_SIGNING_SECRET must be set when SLACK_BOT_TOKEN is set")

    @property
    def uses_gitlab_simulator(self) -> bool:
        """True when no GitLab token is configured: the GitLab simulator stands in."""
        return self.env.gitlab_token is None

    @property
    def gitlab_url(self) -> str:
        """GitLab's base URL (python-gitlab adds `/api/v4`)."""
        if self.uses_gitlab_simulator:
            return self.config.ci.gitlab.simulator_url
        return self.config.ci.gitlab.api_url or "https://gitlab.com"

    @property
    def gitlab_token(self) -> str:
        return self.env.gitlab_token.get_secret_value() if self.env.gitlab_token else "simulator-token"

    @property
    def gitlab_webhook_token(self) -> str:
        """The `X-Gitlab-Token` GitLab sends; a real GitLab without one is refused."""
        if self.env.mender_gitlab_webhook_token:
            return self.env.mender_gitlab_webhook_token.get_secret_value()
        if self.uses_gitlab_simulator:
            return DEV_GITLAB_WEBHOOK_TOKEN
        raise ConfigError("MENDER_GITLAB_WEBHOOK_TOKEN must be set when GITLAB_TOKEN is set")

    @property
    def gitlab_webhook_tokens(self) -> list[str]:
        """The tokens GitLab may send: the current one, and the previous one during a rotation."""
        previous = self.env.mender_gitlab_webhook_token_previous
        return [self.gitlab_webhook_token, *([previous.get_secret_value()] if previous else [])]

    @property
    def llm_base_url(self) -> str | None:
        """The OpenAI-compatible endpoint, or None when no model is configured."""
        llm = self.config.ci.llm
        if not llm.enabled:
            return None
        return llm.base_url or llm.simulator_url

    @property
    def llm_api_key(self) -> str:
        return self.env.openai_api_key.get_secret_value() if self.env.openai_api_key else "simulator-key"

    def __repr__(self) -> str:
        return f"Settings(config={self.env.mender_config}, database={self.database_url.split('@')[-1]})"


MAX_CONFIG_CHARS = 1_000_000
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: fast, and fails fast on deep nesting


def load_config(path: Path) -> MenderConfig:
    """Read and validate a `mender.yaml`; ConfigError lists each bad key path and its reason."""
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    if len(text) > MAX_CONFIG_CHARS:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_CHARS} characters")
    try:
        raw = yaml.load(text, Loader=SAFE_LOADER)  # a safe loader (libyaml when there)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML: nested too deeply") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, got {type(raw).__name__}")
    try:
        return MenderConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid configuration\n{describe_errors(exc)}") from None


def describe_errors(exc: ValidationError) -> str:
    """One line per error: `key.path: reason` (input values left out: they may be secrets)."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"  {where}: {error['msg']}")
    return "\n".join(lines)


_current: Settings | None = None


def get_settings() -> Settings:
    """The process-wide settings, loaded on first use (not at import)."""
    global _current
    if _current is None:
        env = Environment()
        _current = Settings(load_config(env.mender_config), env)
    return _current


def set_settings(settings: Settings | None) -> None:
    """Replace the process-wide settings (tests, embedded runs); None forces a reload."""
    global _current
    _current = settings
