"""The chaos tests' measure of "an action done twice" can fail: the same write applied twice counts,
a refused write and its retry, or two different writes on one path, do not."""

from __future__ import annotations

from tests.chaos.fleet import doubled_writes

REPO = "acme/api"


def call(method: str, path: str, body: str | None, status: int, at: float = 0.0) -> dict[str, object]:
    return {"method": method, "path": f"/repos/{REPO}{path}", "body_sha": body, "status": status, "at": at}


def test_the_same_write_applied_twice_is_doubled() -> None:
    label = call("POST", "/issues/3/labels", "a1", 200)
    assert doubled_writes([label, label], REPO) == {f"POST /repos/{REPO}/issues/3/labels a1": 2}


def test_retries_of_refused_writes_reads_and_other_bodies_are_not() -> None:
    calls = [
        call("PUT", "/pulls/3/update-branch", "h1", 429),  # limited, then applied once
        call("PUT", "/pulls/3/update-branch", "h1", 202),
        call("PUT", "/pulls/3/update-branch", "h2", 202),  # a new head: a new update
        call("GET", "/pulls/3", None, 200),
        call("GET", "/pulls/3", None, 200),
        call("POST", "/issues/3/comments", "c1", 201),
        call("POST", "/issues/3/comments", "c2", 201),
    ]
    assert doubled_writes(calls, REPO) == {}
    assert doubled_writes([call("POST", "/issues/3/comments", "c1", 201)] * 2, "acme/other") == {}
