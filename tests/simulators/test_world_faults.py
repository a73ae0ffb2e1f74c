"""World faults and scheduled comments over real HTTP: GitHub outages, webhook loss, human comments."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from github import GithubException

from simulators.github import SimulatorConfig
from tests.simulators.helpers import (
    FAST,
    Receiver,
    Served,
    github,
    missing_keys,
    report_row,
    wait_for,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "github" / "webhooks"
HEALTHY_WEBHOOKS = 10  # opened, 2 runs created, 2 runs completed, suite completed, 2 statuses, review, closed


def start(served: Served, **scenario: Any) -> None:
    body = {"timing": FAST, "prs": [{"count": 1}], **scenario}
    response = httpx.post(f"{served.url}/_sim/scenario", json=body)
    assert response.status_code == 202, response.text


def test_github_outage_answers_502_and_holds_the_world_and_webhooks(
    receiver: Receiver, serve: Callable[[SimulatorConfig], Served]
) -> None:
    served = serve(SimulatorConfig(webhook_url=receiver.url))
    outage = {
        "type": "github_outage",
        "start_seconds": 0.15,
        "duration_seconds": 4.0,
    }  # long enough for a loaded machine
    start(served, repos=["acme/out"], world_faults=[outage])
    gh = github(served.url)

    def down() -> bool:
        return httpx.get(f"{served.url}/repos/acme/out").status_code == 502

    wait_for(down, what="the outage")
    with pytest.raises(GithubException) as refused:
        gh.get_repo("acme/out")
    assert refused.value.status == 502 and refused.value.data["message"] == "Server Error"
    before = served.sim.report()
    assert before["outages"][0]["state"] == "active" and before["outages"][0]["refused_requests"] >= 2
    # Control endpoints keep working: a PR opened now gets no CI and no webhook until GitHub is back.
    late = httpx.post(f"{served.url}/_sim/prs", json={"repo": "acme/late"})
    assert late.status_code == 201
    wait_for(served.sim.settled, what="every reaction to the late PR over or parked until GitHub is back")
    assert report_row(served, "acme/out", 1) == next(r for r in before["prs"] if r["repo"] == "acme/out")
    assert report_row(served, "acme/late", 1)["ci_runs"] == 0
    assert [r for r in receiver.requests if r.repo == "acme/late"] == []

    last_down = time.monotonic()
    while True:
        sent = time.monotonic()
        if httpx.get(f"{served.url}/repos/acme/out").status_code != 502:
            break
        last_down = sent
        time.sleep(0.01)
    late_pr = gh.get_repo("acme/late").get_pull(1)  # there once GitHub is back; its parked bots may
    assert late_pr.state == "open" or late_pr.merged  # already have merged it (all after the outage, below)

    def merged() -> bool:
        totals = served.sim.report()["totals"]
        return totals["merged"] == 2

    wait_for(merged, what="both PRs merged after the outage")
    wait_for(lambda: len(receiver.requests) >= 2 * HEALTHY_WEBHOOKS, what="all webhooks")
    late_hooks = [r for r in receiver.requests if r.repo == "acme/late"]
    assert late_hooks[0].event == "pull_request.opened" and len(late_hooks) == HEALTHY_WEBHOOKS
    assert all(r.at > last_down for r in late_hooks)
    [window] = served.sim.report()["outages"]
    assert window["state"] == "over" and window["start"] < window["end"]


@pytest.mark.parametrize("rate", [1.0, 0.0])
def test_webhook_loss_drops_deliveries_as_redeliverable(
    rate: float, receiver: Receiver, serve: Callable[[SimulatorConfig], Served]
) -> None:
    served = serve(SimulatorConfig(webhook_url=receiver.url))
    start(served, repos=["acme/lossy"], world_faults=[{"type": "webhook_loss", "rate": rate}])
    wait_for(lambda: served.sim.report()["totals"]["merged"] == 1, what="merged")

    def settled() -> list[dict[str, Any]]:
        log = httpx.get(f"{served.url}/_sim/deliveries").json()
        return log if len(log) == HEALTHY_WEBHOOKS and all(d["status"] != "queued" for d in log) else []

    log = wait_for(settled, what="every delivery attempted")
    counts = served.sim.report()["deliveries"]
    if rate == 1.0:
        assert receiver.requests == [] and {d["status"] for d in log} == {"dropped"}
        n = HEALTHY_WEBHOOKS
        assert counts == {"total": n, "queued": 0, "delivered": 0, "failed": 0, "dropped": n}
        again = httpx.post(f"{served.url}/_sim/deliveries/{log[0]['id']}/redeliver").json()
        assert again["status"] == "delivered" and receiver.requests[0].event == "pull_request.opened"
    else:
        assert {d["status"] for d in log} == {"delivered"} and counts["dropped"] == 0
        wait_for(lambda: len(receiver.requests) == HEALTHY_WEBHOOKS, what="all received")
    assert served.sim.report()["webhook_loss_rate"] == rate


def test_webhook_loss_is_seeded(receiver: Receiver, serve: Callable[[SimulatorConfig], Served]) -> None:
    served = serve(SimulatorConfig(webhook_url=receiver.url, actors=()))  # one `opened` webhook per PR
    loss = {"type": "webhook_loss", "rate": 0.5}
    patterns = []
    for _ in range(2):
        httpx.post(f"{served.url}/_sim/reset")
        start(served, seed=11, repos=["acme/seeded"], prs=[{"count": 12}], world_faults=[loss])

        def pattern() -> list[tuple[int, bool]]:
            log = httpx.get(f"{served.url}/_sim/deliveries").json()
            done = len(log) == 12 and all(d["status"] != "queued" for d in log)
            return [(d["pr"], d["status"] == "dropped") for d in log] if done else []

        patterns.append(wait_for(pattern, what="deliveries attempted"))
    dropped = sum(lost for _, lost in patterns[0])
    assert patterns[0] == patterns[1] and 0 < dropped < 12


def test_scheduled_comments_post_issue_comments_that_bots_hear(
    receiver: Receiver, serve: Callable[[SimulatorConfig], Served]
) -> None:
    served = serve(SimulatorConfig(webhook_url=receiver.url))
    comment = {"author": "octocat", "body": "/policy-bot recheck", "after_seconds": 0.4}
    start(
        served,
        repos=["acme/talk"],
        prs=[{"count": 1, "faults": ["policy_bot_missed"], "comments": [comment]}],
    )
    wait_for(lambda: served.sim.report()["totals"]["merged"] == 1, what="merged thanks to the comment")
    [hook] = wait_for(lambda: [r for r in receiver.requests if r.event == "issue_comment.created"])
    body = json.loads(hook.body)
    assert (body["comment"]["body"], body["comment"]["user"]["login"]) == ("/policy-bot recheck", "octocat")
    assert body["issue"]["number"] == 1 and body["sender"]["login"] == "octocat"
    fixture = json.loads((FIXTURES / "issue_comment" / "created.payload.json").read_text())
    assert missing_keys(fixture, body) == []
    [pr] = github(served.url).get_repo("acme/talk").get_pulls(state="closed")
    assert [c.body for c in pr.get_issue_comments()] == ["/policy-bot recheck"]


def test_webhooks_can_be_reordered_duplicated_and_delayed(
    receiver: Receiver, serve: Callable[[SimulatorConfig], Served]
) -> None:
    """GitHub promises neither order nor exactly-once: one PR's comments arrive shuffled, some twice."""
    served = serve(SimulatorConfig(webhook_url=receiver.url, actors=()))
    faults = [
        {"type": "webhook_reorder", "rate": 0.5, "max_delay_seconds": 0.3},
        {"type": "webhook_duplicate", "rate": 0.5},
        {"type": "webhook_delay", "seconds": 0.05},
    ]
    start(served, seed=3, repos=["acme/shuffled"], prs=[{"count": 1}], world_faults=faults)
    wait_for(lambda: receiver.requests, what="the opened webhook")
    pull = github(served.url).get_repo("acme/shuffled").get_pull(1)
    bodies = [f"comment {i}" for i in range(10)]
    for body in bodies:
        pull.create_issue_comment(body)

    def comments() -> list[str]:
        return [
            json.loads(r.body)["comment"]["body"]
            for r in receiver.requests
            if r.event == "issue_comment.created"
        ]

    wait_for(lambda: set(comments()) == set(bodies) and not served.sim.deliverer.busy, what="all sent")
    got = comments()
    unique = list(dict.fromkeys(got))
    assert unique != bodies and sorted(unique) == sorted(bodies)  # shuffled, none lost
    assert len(got) > len(unique)  # some twice ...
    ids = [r.headers["x-github-delivery"] for r in receiver.requests]
    assert len(set(ids)) == 11 and len(ids) == len(got) + 1  # ... with their delivery id
