"""The GitLab simulator's configuration (its own defaults: a simulator imports nothing of the product)."""

from __future__ import annotations

from dataclasses import dataclass

DEV_WEBHOOK_TOKEN = "dev-gitlab-webhook-token"  # the product's dev default, so `mender up` pairs them
FALLBACK_BASE_URL = "http://127.0.0.1:8092"


@dataclass
class GitLabSimConfig:
    """`base_url` is the simulator's own URL (for web_url fields); None: taken from the first request."""

    webhook_url: str | None = None
    webhook_token: str = DEV_WEBHOOK_TOKEN
    ci_seconds: float = 3.0
    loss_rate: float = 0.0
    seed: int = 7
    base_url: str | None = None
    token: str | None = None  # if set, the only API token accepted (else any non-empty token)
