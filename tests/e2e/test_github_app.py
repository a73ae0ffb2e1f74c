"""Mender as a GitHub App against the simulator: JWT, installation lookup, tokens refreshed before expiry."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth, Github, GithubException
from pydantic import SecretStr

from activities.github import github_client
from activities.reconcile import list_open_bot_prs
from runtime.serving import ServerThread
from runtime.settings import Settings, set_settings
from simulators.github import Simulator, SimulatorConfig, create_app
from simulators.github.rest_app import identity_of
from tests.support.stack import make_settings


def rsa_pem() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


PRIVATE, PUBLIC = rsa_pem()


@pytest.fixture
def app_world(tmp_path: Path):
    sim = Simulator(SimulatorConfig(actors=()))
    identity = identity_of(sim)
    identity.public_key, identity.enforce_tokens = PUBLIC, True
    with ServerThread(create_app(sim)) as server:
        sim.set_base_url(server.url)
        settings = make_settings(
            tmp_path,
            repositories=[{"name": "acme/api"}],
            github={"api_url": server.url, "app_id": sim.config.app_id},
        )
        settings = Settings(
            settings.config,
            settings.env.model_copy(update={"mender_github_app_private_key": SecretStr(PRIVATE)}),
        )
        set_settings(settings)
        yield sim, server.url, settings
    set_settings(None)


def minted(url: str) -> list[dict]:
    return httpx.get(f"{url}/_sim/app/tokens").json()


def test_mender_reads_github_as_an_app_installation(app_world) -> None:
    _, url, settings = app_world
    assert not settings.uses_github_simulator and settings.github_api_url == url
    number = httpx.post(f"{url}/_sim/prs", json={"repo": "acme/api", "author": "dependabot[bot]"}).json()[
        "number"
    ]
    [found], failed = list_open_bot_prs(settings)  # the reconciler's own read, as the App
    assert failed == {}
    assert found.pr.number == number
    assert len(minted(url)) == 1
    assert (
        github_client(settings, "acme/api").get_repo("acme/api").get_pull(number).user.login
        == "dependabot[bot]"
    )
    assert len(minted(url)) == 1  # the token is reused while it is fresh
    refused = httpx.get(f"{url}/repos/acme/api/pulls", headers={"Authorization": "token ghs_made_up"})
    assert refused.status_code == 401 and refused.json()["message"] == "Bad credentials"


def test_installation_tokens_are_refreshed_before_they_expire(app_world, tmp_path: Path) -> None:
    sim, url, settings = app_world
    identity_of(sim).token_ttl_seconds = 10  # within PyGithub's 20 s margin: every use needs a new one
    number = httpx.post(f"{url}/_sim/prs", json={"repo": "acme/api", "author": "renovate[bot]"}).json()[
        "number"
    ]
    fresh = settings.config.model_copy(
        update={"github": settings.config.github.model_copy(update={"installation_id": 4242})}
    )
    app = Settings(fresh, settings.env)
    for _ in range(3):
        assert (
            github_client(app, "acme/api").get_repo("acme/api").get_pull(number).user.login == "renovate[bot]"
        )
    tokens = minted(url)
    assert len(tokens) >= 3 and len({t["token"] for t in tokens}) == len(tokens)


def test_a_jwt_signed_with_another_key_is_refused(app_world) -> None:
    _, url, _ = app_world
    other, _ = rsa_pem()
    github = Github(base_url=url, auth=Auth.AppAuth(901_234, other).get_installation_auth(4242), retry=None)
    with pytest.raises(GithubException) as refused:
        github.get_repo("acme/api")  # not lazy: fetches the repository
    assert refused.value.status == 401
    assert minted(url) == []
