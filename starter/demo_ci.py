"""The CI part of the `mender up` demo: start the scenario's GitLab pipelines and answer approvals.

The simulators run as separate processes there, so this plays over their HTTP control endpoints what
`mender simulate` does in process: GitLab pipelines at their `after_seconds`, and Approve/Reject clicks
in the Slack simulator as each pipeline's `approve` says (null: nobody answers, the request times out).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import httpx

from simulators.github import Scenario
from starter.simulate_ci import approver_for, pipeline_rows

log = logging.getLogger("mender.demo_ci")
POLL_SECONDS = 1.0


class DemoCIPlayer(threading.Thread):
    """A daemon thread that plays the CI side of a scenario against the running simulators."""

    def __init__(self, scenario: Scenario, github_url: str, gitlab_url: str, slack_url: str) -> None:
        super().__init__(name="demo-ci", daemon=True)
        self.scenario, self.github_url, self.gitlab_url, self.slack_url = (
            scenario,
            github_url,
            gitlab_url,
            slack_url,
        )
        self.answered: set[str] = set()
        self.stopping = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        pending = sorted(
            (g for g in self.scenario.pipelines if g.provider == "gitlab"), key=lambda g: g.after_seconds
        )
        decide = approver_for(self._rows)
        while not self.stopping.wait(POLL_SECONDS):
            try:
                while pending and time.monotonic() - started >= pending[0].after_seconds:
                    group = pending.pop(0)
                    for _ in range(group.count):
                        body = {
                            "project": group.repo,
                            "log_text": group.log_text,
                            "heals_on": group.heals_on,
                            "job": group.job,
                            "approve": group.approve,
                        }
                        httpx.post(
                            f"{self.gitlab_url}/_sim/pipelines", json=body, timeout=5
                        ).raise_for_status()
                self._answer(decide)
            except httpx.HTTPError as exc:
                if not self.stopping.is_set():  # the simulators go away first when the stack stops
                    log.warning("demo CI player: %s", exc)

    def _rows(self) -> list[dict[str, Any]]:
        github = httpx.get(f"{self.github_url}/_sim/report", timeout=5).json()
        gitlab = httpx.get(f"{self.gitlab_url}/_sim/report", timeout=5).json()
        return pipeline_rows(github, gitlab)

    def _answer(self, decide: Any) -> None:
        for message in httpx.get(f"{self.slack_url}/_sim/messages", timeout=5).json().get("messages", []):
            if message["ts"] in self.answered or not _has_buttons(message):
                continue
            choice = decide(message)
            if choice is None:
                continue
            action_id, user_id, user_name = choice
            click = {
                "channel": message["channel"],
                "ts": message["ts"],
                "action_id": action_id,
                "user_id": user_id,
                "user_name": user_name,
            }
            httpx.post(f"{self.slack_url}/_sim/click", json=click, timeout=10).raise_for_status()
            self.answered.add(message["ts"])


def _has_buttons(message: dict[str, Any]) -> bool:
    return any(block.get("type") == "actions" for block in message.get("blocks") or [])
