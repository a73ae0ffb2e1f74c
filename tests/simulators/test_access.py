"""The GitHub simulator refuses like GitHub: bad tokens, missing permissions, rate limits; ETag and 304."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from github import Auth, BadCredentialsException, Github, GithubException, RateLimitExceededException

from simulators.github import SimulatorConfig
from simulators.github.access import AccessConfig
from tests.simulators.helpers import AUTH, TOKEN, Served, github, open_pr, wait_for


@pytest.fixture
def served(serve: Callable[[SimulatorConfig], Served]) -> Served:
    served = serve(SimulatorConfig(actors=()))
    open_pr(served, "acme/api")
    return served


def client(served: Served, token: str | None) -> Github:
    auth = Auth.Token(token) if token else None
    return Github(
        base_url=served.url, auth=auth, retry=None, seconds_between_requests=None, seconds_between_writes=None
    )


def test_unknown_tokens_get_bad_credentials_and_anonymous_writes_need_authentication(served: Served) -> None:
    with pytest.raises(BadCredentialsException) as bad:
        client(served, "ghp_not-a-token-the-simulator-knows").get_repo("acme/api")
    assert (bad.value.status, bad.value.data["message"]) == (401, "Bad credentials")
    anonymous = client(served, None).get_repo("acme/api")  # reads of a public repo work without a token
    assert anonymous.full_name == "acme/api"
    with pytest.raises(GithubException) as write:
        anonymous.get_pull(1).create_issue_comment("hi")
    assert (write.value.status, write.value.data["message"]) == (401, "Requires authentication")
    assert github(served.url).get_repo("acme/api").get_pull(1).create_issue_comment("hi").body == "hi"


def test_a_missing_permission_is_403_with_githubs_message(served: Served) -> None:
    served.sim.state.access.configure(AccessConfig(denied={TOKEN: frozenset({"pull_requests"})}))
    pull = github(served.url).get_repo("acme/api").get_pull(1)  # reads are still allowed
    with pytest.raises(GithubException) as denied:
        pull.edit(title="renamed")
    assert (denied.value.status, denied.value.data["message"]) == (
        403,
        "Resource not accessible by integration",
    )
    assert denied.value.headers["x-accepted-github-permissions"] == "pull_requests=write"
    assert pull.create_issue_comment("issues are allowed").body == "issues are allowed"


def test_the_rate_limit_counts_down_per_token_then_refuses(served: Served) -> None:
    served.sim.state.access.configure(AccessConfig(tokens=(TOKEN, "other"), limit=3))
    gh = github(served.url)
    remaining = [
        int(httpx.get(f"{served.url}/repos/acme/api", headers=AUTH).headers["x-ratelimit-remaining"])
        for _ in range(3)
    ]
    assert remaining == [2, 1, 0]
    with pytest.raises(RateLimitExceededException) as limited:
        gh.get_repo("acme/api")
    assert limited.value.status == 403 and limited.value.headers["x-ratelimit-remaining"] == "0"
    assert int(limited.value.headers["x-ratelimit-reset"]) > 0
    assert client(served, "other").get_repo("acme/api").full_name == "acme/api"  # its own quota


def test_too_many_writes_a_minute_hit_the_secondary_limit(served: Served) -> None:
    served.sim.state.access.configure(AccessConfig(writes_per_minute=2))
    url = f"{served.url}/repos/acme/api/issues/1/comments"
    codes = [httpx.post(url, json={"body": f"c{i}"}, headers=AUTH) for i in range(3)]
    assert [c.status_code for c in codes] == [201, 201, 429]
    assert 0 < int(codes[-1].headers["retry-after"]) <= 61
    assert "secondary rate limit" in codes[-1].json()["message"]


def test_the_secondary_limit_can_answer_403_as_github_also_does(served: Served) -> None:
    served.sim.state.access.configure(AccessConfig(writes_per_minute=1, secondary_statuses=(403, 429)))
    url = f"{served.url}/repos/acme/api/issues/1/comments"
    codes = [httpx.post(url, json={"body": f"c{i}"}, headers=AUTH) for i in range(3)]
    assert [c.status_code for c in codes] == [201, 403, 429]  # in turn
    for refused in codes[1:]:
        assert int(refused.headers["retry-after"]) > 0
        assert "secondary rate limit" in refused.json()["message"]
    with pytest.raises(RateLimitExceededException):  # the next is 403: PyGithub knows it for a limit
        client(served, TOKEN).get_repo("acme/api").get_issue(1).create_comment("c3")
    with pytest.raises(ValueError, match="403s and 429s"):
        AccessConfig(secondary_statuses=(500,))


def test_reads_and_writes_share_the_points_a_minute_of_the_secondary_limit(served: Served) -> None:
    """GitHub's REST secondary limit: 900 points a minute, a GET 1 point, a write 5 (here 7 points)."""
    served.sim.state.access.configure(AccessConfig(points_per_minute=7))
    read, write = f"{served.url}/repos/acme/api/pulls/1", f"{served.url}/repos/acme/api/issues/1/comments"
    assert httpx.post(write, json={"body": "c"}, headers=AUTH).status_code == 201  # 5 points
    assert [httpx.get(read, headers=AUTH).status_code for _ in range(3)] == [200, 200, 429]
    refused = httpx.get(read, headers=AUTH)
    assert refused.status_code == 429 and 0 < int(refused.headers["retry-after"]) <= 61
    assert "secondary rate limit" in refused.json()["message"]
    assert httpx.post(write, json={"body": "d"}, headers=AUTH).status_code == 429
    with pytest.raises(GithubException) as limited:
        client(served, TOKEN).get_repo("acme/api").get_pull(1)
    assert limited.value.status == 429 and limited.value.headers["retry-after"]
    served.sim.state.access.configure(AccessConfig())  # not enforced unless configured
    assert all(httpx.get(read, headers=AUTH).status_code == 200 for _ in range(10))


def test_conditional_requests_get_304_and_cost_nothing(served: Served) -> None:
    url = f"{served.url}/repos/acme/api/pulls/1"
    # GitHub computes mergeability in the background: until it has, the PR (and its ETag) changes by itself
    first = wait_for(
        lambda: (r := httpx.get(url, headers=AUTH)).json()["mergeable"] is not None and r,
        what="mergeability computed",
    )
    etag, used = first.headers["etag"], int(first.headers["x-ratelimit-used"])
    again = httpx.get(url, headers={**AUTH, "If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["x-ratelimit-used"]) == (304, b"", str(used))
    github(served.url).get_repo("acme/api").get_pull(1).create_issue_comment("changes the PR")
    changed = httpx.get(url, headers={**AUTH, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    pull = github(served.url).get_repo("acme/api").get_pull(1)
    assert pull.update() is False  # PyGithub's conditional refresh: 304, nothing changed


def test_a_scenario_can_set_the_hourly_limit(served: Served) -> None:
    scenario = {"repos": ["acme/big"], "prs": [{"count": 1}], "github_rate_limit": 15000}
    assert httpx.post(f"{served.url}/_sim/scenario", json=scenario).status_code == 202
    wait_for(lambda: served.sim.report()["prs"][-1]["repo"] == "acme/big", what="the scenario started")
    response = httpx.get(f"{served.url}/repos/acme/api", headers=AUTH)
    assert response.headers["x-ratelimit-limit"] == "15000"


def test_a_slow_answer_takes_effect_and_is_logged_before_the_client_hears_of_it(served: Served) -> None:
    """`POST /_sim/slow`: what a client killed while waiting for GitHub's answer would leave behind."""
    url = f"{served.url}/repos/acme/api/issues/1/comments"
    rule = {"pattern": "^POST /repos/acme/api/issues/1/comments$", "seconds": 2}
    assert httpx.post(f"{served.url}/_sim/slow", json=rule).status_code == 200
    with pytest.raises(httpx.ReadTimeout):  # the client gives up before the answer
        httpx.post(url, json={"body": "late"}, headers=AUTH, timeout=0.5)
    logged = httpx.get(f"{served.url}/_sim/requests").json()
    assert [(r["method"], r["status"]) for r in logged if r["path"].endswith("/comments")] == [("POST", 201)]
    assert [c["body"] for c in httpx.get(url, headers=AUTH).json()] == ["late"]  # it took effect
    httpx.post(f"{served.url}/_sim/slow", json={**rule, "seconds": 0})
    assert httpx.post(url, json={"body": "on time"}, headers=AUTH, timeout=1.5).status_code == 201
    bad = httpx.post(f"{served.url}/_sim/slow", json={"pattern": "(", "seconds": 1})
    assert bad.status_code == 422
