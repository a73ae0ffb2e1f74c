"""Webhook signature and token checks (constant time), with secret rotation: during a rotation the new
and the previous secret are both accepted, every one of them compared (no early exit)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence


def github_signature(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _secrets(secrets: str | Sequence[str]) -> list[str]:
    return [secrets] if isinstance(secrets, str) else [s for s in secrets if s]


def verify_github_signature(secrets: str | Sequence[str], body: bytes, header: str | None) -> bool:
    """True only when `header` is the signature of `body` under one of `secrets` (current, previous)."""
    if not header:
        return False
    presented = header.strip().encode()
    matched = False
    for secret in _secrets(secrets):
        matched |= hmac.compare_digest(github_signature(secret, body).encode(), presented)
    return matched


def verify_token(tokens: str | Sequence[str], presented: str | None) -> bool:
    """True only when `presented` (e.g. `X-Gitlab-Token`) equals one of `tokens` (current, previous)."""
    if not presented:
        return False
    matched = False
    for token in _secrets(tokens):
        matched |= hmac.compare_digest(token.encode(), presented.encode())
    return matched
