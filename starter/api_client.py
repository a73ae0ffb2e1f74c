"""A small synchronous client of the Admin API for the CLI (`MENDER_API_URL`, `MENDER_API_KEY`)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

import httpx

from domain.pr_healing.events import PRRef

DEFAULT_API_URL = "http://127.0.0.1:8000"  # where `mender serve` and `mender up` listen by default
KEY_HINT = "set MENDER_API_KEY to an Admin API key (create one with `mender api-key NAME`)"


class ApiError(Exception):
    """A call that did not succeed, with a message for the user and the exit code to use."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _reason(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return response.text[:300] or response.reason_phrase
    if isinstance(detail, list):
        return "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg')}" for d in detail)
    return str(detail)


class ApiClient:
    """Calls `/api/...` with the bearer key; raises ApiError with a clear message on any failure."""

    def __init__(self, base_url: str | None = None, key: str | None = None, timeout: float = 70.0) -> None:
        self.base_url = (base_url or os.environ.get("MENDER_API_URL") or DEFAULT_API_URL).rstrip("/")
        self.key = key if key is not None else os.environ.get("MENDER_API_KEY", "")
        self.timeout = timeout

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request; the decoded JSON answer."""
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        headers.update(kwargs.pop("headers", {}))
        url = f"{self.base_url}/api{path}"
        try:
            response = httpx.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(
                f"cannot reach the Mender API at {self.base_url} ({type(exc).__name__}: {exc}); "
                "is the starter running? set MENDER_API_URL to its address",
                exit_code=3,
            ) from None
        if response.status_code == 401:
            missing = "" if self.key else " (MENDER_API_KEY is not set)"
            raise ApiError(f"the API refused the key{missing}: {_reason(response)}; {KEY_HINT}", 4)
        if response.status_code == 403:
            raise ApiError(f"forbidden: {_reason(response)}; set MENDER_API_KEY to a key with that role", 4)
        if response.is_error:
            raise ApiError(f"{response.status_code}: {_reason(response)}", 1)
        return response.json()

    @staticmethod
    def pr_path(pr: PRRef) -> str:
        owner, name = pr.repo.split("/")
        return f"/pr/{quote(owner)}/{quote(name)}/{pr.number}"

    def prs(
        self, state: str | None = None, repo: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[dict[str, Any]]:
        params = {
            k: v for k, v in {"state": state, "repo": repo, "limit": limit, "offset": offset}.items() if v
        }
        return self.call("GET", "/prs", params=params)

    def needs_me(self) -> dict[str, Any]:
        return self.call("GET", "/needs-me")

    def pr(self, pr: PRRef) -> dict[str, Any]:
        return self.call("GET", f"{self.pr_path(pr)}/status")

    def stale(self) -> list[dict[str, Any]]:
        return self.call("GET", "/prs/stale")

    def command(self, pr: PRRef, command: str, idempotency_key: str | None = None) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self.call("POST", f"{self.pr_path(pr)}/command", json={"command": command}, headers=headers)

    def reconcile(self) -> dict[str, Any]:
        return self.call("POST", "/reconciler/run")

    def breaker(self, scope: str | None = None, reset: bool = False) -> dict[str, Any]:
        params = {"scope": scope} if scope else {}
        if reset:
            return self.call("POST", "/circuit-breaker/reset", params=params)
        return self.call("GET", "/circuit-breaker", params=params)

    def merge_queues(self, repo: str | None = None) -> dict[str, Any]:
        return self.call("GET", "/merge-queues", params={"repo": repo} if repo else {})

    def reload_config(self) -> dict[str, Any]:
        return self.call("POST", "/config/reload")

    def keys(self, action: str, name: str | None = None, role: str = "read") -> Any:
        """List, create, rotate or revoke Admin API keys (an admin key is needed)."""
        if action == "list":
            return self.call("GET", "/keys")
        if action == "create":
            return self.call("POST", "/keys", json={"name": name, "role": role})
        if action == "rotate":
            return self.call("POST", f"/keys/{quote(name or '', safe='')}/rotate")
        return self.call("DELETE", f"/keys/{quote(name or '', safe='')}")

    def audit(self, **filters: Any) -> list[dict[str, Any]]:
        return self.call("GET", "/audit", params={k: v for k, v in filters.items() if v is not None})
