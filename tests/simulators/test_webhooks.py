"""Webhook delivery from the simulator to a real receiver: order, signatures, bodies, failures."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from runtime.serving import free_port
from simulators.github import SimulatorConfig, load_scenario, signature_256
from tests.simulators.helpers import AUTH, FAST, Receiver, Served, async_wait_for, missing_keys, wait_for

FIXTURES = Path(__file__).parents[1] / "fixtures" / "github"
VECTOR = FIXTURES / "signature_test_vector.json"
SHAPES = {
    "pull_request.opened": "pull_request/opened.payload.json",
    "pull_request.closed": "pull_request/closed.payload.json",
    "check_suite.completed": "check_suite/completed.payload.json",
    "check_run.completed": "check_run/completed.payload.json",
    "status": "status/payload.json",
    "pull_request_review.submitted": "pull_request_review/submitted.payload.json",
    "issue_comment.created": "issue_comment/created.payload.json",
}
SECRET = "test-secret"
HEALTHY = [
    "pull_request.opened",
    "check_run.created",  # check_suite.requested goes to the suite's own app (CI) only, as on GitHub
    "check_run.created",
    "check_run.completed",
    "check_run.completed",
    "check_suite.completed",
    "status",
    "status",
    "pull_request_review.submitted",
    "pull_request.closed",
]


def test_signature_matches_github_test_vector() -> None:
    vector = json.loads(VECTOR.read_text())
    assert (
        signature_256(vector["secret"], vector["payload"].encode())
        == vector["headers"]["X-Hub-Signature-256"]
    )


def pr_number(event: str, body: dict[str, Any], head_to_pr: dict[str, int]) -> int:
    if event in ("pull_request", "pull_request_review"):
        return body["pull_request"]["number"]
    if event in ("check_suite", "check_run"):
        return body[event]["pull_requests"][0]["number"]
    return head_to_pr[body["sha"]]


async def test_healthy_prs_emit_github_webhooks_in_order(
    receiver: Receiver, serve: Callable[[SimulatorConfig], Served]
) -> None:
    served = serve(SimulatorConfig(webhook_url=receiver.url, webhook_secret=SECRET))
    scenario = load_scenario({"repos": ["acme/api", "acme/web"], "timing": FAST, "prs": [{"count": 2}]})
    opened = await served.sim.run_scenario(scenario)
    assert [(pr.repo, pr.number) for pr in opened] == [("acme/api", 1), ("acme/web", 1)]
    await async_wait_for(lambda: len(receiver.requests) >= 2 * len(HEALTHY), what="all webhooks")
    report = served.sim.report()
    assert [(row["repo"], row["state"]) for row in report["prs"]] == [
        ("acme/api", "merged"),
        ("acme/web", "merged"),
    ]
    heads = {(row["repo"], row["head_sha"]): row["number"] for row in report["prs"]}

    streams: dict[tuple[str, int], list[str]] = defaultdict(list)
    bodies: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for request in receiver.requests:
        headers, raw = request.headers, request.body
        expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["x-hub-signature-256"], expected)
        assert (
            headers["user-agent"] == "GitHub-Hookshot/sim" and headers["content-type"] == "application/json"
        )
        assert headers["x-github-hook-id"]
        event, body = headers["x-github-event"], json.loads(raw)
        repo = body["repository"]["full_name"]
        number = pr_number(event, body, {sha: n for (r, sha), n in heads.items() if r == repo})
        streams[(repo, number)].append(f"{event}.{body['action']}" if "action" in body else event)
        bodies[(repo, number)].append(body)

    assert dict(streams) == {("acme/api", 1): HEALTHY, ("acme/web", 1): HEALTHY}
    ids = [request.headers["x-github-delivery"] for request in receiver.requests]
    assert len(set(ids)) == len(ids) == 2 * len(HEALTHY)

    for (repo, number), events in bodies.items():
        opened_body, closed = events[0], events[-1]
        assert opened_body["pull_request"]["user"]["login"] == "dependabot[bot]"
        assert opened_body["pull_request"]["user"]["type"] == "Bot"
        assert opened_body["number"] == number and opened_body["sender"]["login"] == "dependabot[bot]"
        suite = events[5]["check_suite"]
        assert (suite["status"], suite["conclusion"]) == ("completed", "success")
        assert suite["pull_requests"][0]["number"] == number
        assert suite["pull_requests"][0]["base"]["ref"] == "main"
        assert suite["pull_requests"][0]["head"]["sha"] == opened_body["pull_request"]["head"]["sha"]
        assert [(e["context"], e["state"]) for e in events[6:8]] == [
            ("policy-bot", "pending"),
            ("policy-bot", "success"),
        ]
        assert (
            events[6]["sender"]["login"] == "policy-bot[bot]"
            and events[6]["commit"]["sha"] == events[6]["sha"]
        )
        review = events[8]["review"]
        assert (review["state"], review["user"]["login"]) == ("approved", "approver-bot[bot]")
        pull = closed["pull_request"]
        assert (closed["action"], pull["merged"], pull["state"]) == ("closed", True, "closed")
        assert (
            pull["merged_at"]
            and pull["merge_commit_sha"]
            and closed["sender"]["login"] == "automerge-bot[bot]"
        )
        assert pull["url"] == f"{served.url}/repos/{repo}/pulls/{number}"

    deliveries = httpx.get(f"{served.url}/_sim/deliveries").json()
    assert [(d["status"], d["status_code"]) for d in deliveries] == [("delivered", 200)] * len(ids)

    comment = {"body": "Mender was here"}
    assert (
        httpx.post(f"{served.url}/repos/acme/api/issues/1/comments", json=comment, headers=AUTH).status_code
        == 201
    )
    await async_wait_for(lambda: len(receiver.requests) > len(ids), what="issue_comment webhook")
    seen = {}
    for request in receiver.requests:
        body = json.loads(request.body)
        kind = f"{request.headers['x-github-event']}.{body['action']}" if "action" in body else "status"
        seen.setdefault(kind, body)
    assert seen["issue_comment.created"]["issue"]["pull_request"]["url"].endswith("/pulls/1")
    for kind, fixture in SHAPES.items():
        assert missing_keys(json.loads((FIXTURES / "webhooks" / fixture).read_text()), seen[kind]) == [], kind


def test_failed_delivery_is_logged_and_redelivered(
    receiver: Receiver, serve: Callable[[SimulatorConfig], Served]
) -> None:
    receiver.fail_first = 1
    served = serve(SimulatorConfig(webhook_url=receiver.url, webhook_secret=SECRET, actors=()))
    response = httpx.post(f"{served.url}/_sim/prs", json={"repo": "acme/api", "author": "renovate[bot]"})
    assert response.status_code == 201 and response.json()["number"] == 1
    [failed] = wait_for(
        lambda: [d for d in httpx.get(f"{served.url}/_sim/deliveries").json() if d["attempts"]]
    )
    assert (failed["event"], failed["action"], failed["status"], failed["status_code"]) == (
        "pull_request",
        "opened",
        "failed",
        503,
    )
    again = httpx.post(f"{served.url}/_sim/deliveries/{failed['id']}/redeliver").json()
    assert (again["status"], again["status_code"], again["attempts"]) == ("delivered", 200, 2)
    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["x-github-delivery"] == second.headers["x-github-delivery"] == failed["id"]
    assert httpx.post(f"{served.url}/_sim/deliveries/nope/redeliver").status_code == 404


def test_unreachable_receiver_does_not_break_the_simulator(
    serve: Callable[[SimulatorConfig], Served],
) -> None:
    url = f"http://127.0.0.1:{free_port()}/webhooks/github"
    served = serve(SimulatorConfig(webhook_url=url, actors=(), webhook_timeout_seconds=1))
    assert httpx.post(
        f"{served.url}/_sim/prs", json={"repo": "acme/web", "title": "Bump x from 1 to 2"}
    ).is_success
    [record] = wait_for(
        lambda: [d for d in httpx.get(f"{served.url}/_sim/deliveries").json() if d["attempts"]]
    )
    assert record["status"] == "failed" and record["status_code"] is None and "Connect" in record["error"]
    pull = httpx.get(f"{served.url}/repos/acme/web/pulls/1").json()
    assert (pull["title"], pull["head"]["ref"]) == ("Bump x from 1 to 2", "dependabot/bump-x-from-1-to-2")
    assert httpx.get(f"{served.url}/_sim/report").json()["totals"] == {
        "prs": 1,
        "open": 1,
        "merged": 0,
        "closed": 0,
    }


def test_control_endpoints_validate_and_reset(serve: Callable[[SimulatorConfig], Served]) -> None:
    served = serve(SimulatorConfig(actors=()))
    bad = httpx.post(f"{served.url}/_sim/scenario", json={"prs": [{"count": -1}]})
    assert bad.status_code == 422 and "prs[0].count" in bad.json()["message"]
    scenario = {"repos": ["acme/api"], "timing": FAST, "prs": [{"count": 2}]}
    assert httpx.post(f"{served.url}/_sim/scenario", json=scenario).status_code == 202
    wait_for(lambda: httpx.get(f"{served.url}/_sim/report").json()["totals"]["prs"] == 2, what="2 PRs")
    assert (
        httpx.post(f"{served.url}/_sim/prs", json={"repo": "acme/api", "faults": ["nope"]}).status_code == 422
    )
    assert httpx.post(f"{served.url}/_sim/reset").json() == {"reset": True}
    assert httpx.get(f"{served.url}/_sim/report").json()["prs"] == []
    missing = httpx.get(f"{served.url}/repos/acme/api")
    assert missing.status_code == 404 and missing.json()["message"] == "Not Found"
