"""How Mender authenticates to GitHub: a token, or a GitHub App (installation tokens, refreshed).

As an App, each repository's installation is looked up once (or `github.installation_id` is used) and
one `Auth.AppInstallationAuth` per installation is kept for the process: PyGithub asks for a new
installation token when the current one is within 20 s of expiring.
"""

from __future__ import annotations

import threading

from github import Auth, GithubIntegration

from runtime.settings import Settings

_lock = threading.Lock()
_installations: dict[tuple[str, int, str], int] = {}  # (api url, app id, repo) -> installation id
_auths: dict[tuple[str, int, int], Auth.AppInstallationAuth] = {}


def github_auth(settings: Settings, repo: str | None = None) -> Auth.Auth:
    """The credentials for `repo` (any repository of the installation when None)."""
    key = settings.github_app_key
    app_id = settings.config.github.app_id
    if key is None or app_id is None:
        return Auth.Token(settings.github_token)
    app = Auth.AppAuth(app_id, key)
    installation = settings.config.github.installation_id or _installation_of(settings, app, app_id, repo)
    cache = (settings.github_api_url, app_id, installation)
    with _lock:
        auth = _auths.get(cache)
        if auth is None:
            auth = _auths[cache] = app.get_installation_auth(installation)
        return auth


def _integration(settings: Settings, app: Auth.AppAuth) -> GithubIntegration:
    return GithubIntegration(auth=app, base_url=settings.github_api_url, retry=None, timeout=15)


def _installation_of(settings: Settings, app: Auth.AppAuth, app_id: int, repo: str | None) -> int:
    cache = (settings.github_api_url, app_id, repo or "")
    with _lock:
        if cache in _installations:
            return _installations[cache]
    integration = _integration(settings, app)
    if repo:
        owner, name = repo.split("/", 1)
        found = integration.get_repo_installation(owner, name).id
    else:
        found = next(iter(integration.get_installations())).id
    with _lock:
        _installations[cache] = found
    return found


def forget_installation(repo: str) -> None:
    """Drop the cached installation of `repo` (it was removed from the App)."""
    with _lock:
        for cache in [c for c in _installations if c[2] == repo]:
            del _installations[cache]
