"""Fault injection: the one place where a fault can change what an actor, a webhook or the API does.

Every step of the simulated world asks `Faults.decide(pr, step, default)` for its outcome and does
what the answer says. With no faults the answer is always `default`. Step names and their outcomes:

- `<actor>.receive.<event>` ("deliver" | "drop"): an actor (ci, upstream, policy-bot, approver-bot,
  automerge-bot) sees a world event it wants; "drop" is a webhook that actor never got.
- `ci.start` ("act" | "drop"): CI creates the check suite for a new head sha.
- `ci.run.<name>` ("<conclusion>" or "<conclusion>/<log>"): conclusion of check run `<name>` (build,
  test) on each run and re-run; `<log>` names the `CHECK_LOGS` entry that becomes the run's output.
- `upstream.move_base` ("none" | "advance" | "conflict"): decided once per PR, `bot_delay_seconds`
  after it was opened: another commit lands on its base branch ("advance": an unrelated file, and
  the PR is held to "require branches to be up to date", so it is `behind`; other PRs of the repo
  are not, unless `Repo.require_up_to_date`) or one editing the PR's line ("conflict": `dirty`).
- `policy-bot.status.pending` ("act" | "drop"); `policy-bot.status.final` ("success" | "failure" | "drop").
- `approver-bot.review` ("APPROVE" | "REQUEST_CHANGES" | "drop").
- `automerge-bot.merge` ("act" | "drop").
- `webhook.<event>.<action>` (`webhook.status` for statuses; "deliver" | "drop"): a delivery to
  Mender; "drop" logs it as `dropped` (redeliverable) without sending it.
- `api.request` ("ok" | "outage"), pr None: "outage" answers a REST call with 502.

PR faults (`PR_FAULTS`, one rule each; a `once` rule applies to the first decision of its step only),
and the remedy that heals each:

- `flaky_checks`: the first `ci.run.test` fails with a transient (network) log. Re-run: `POST
  .../actions/runs/{id}/rerun-failed-jobs` or `POST .../check-suites/{id}/rerequest`; re-runs pass.
- `genuine_failure`: every `ci.run.test` fails with an assertion error; nothing heals it.
- `behind_base`: `upstream.move_base` is "advance". `PUT .../pulls/{n}/update-branch`.
- `merge_conflict`: `upstream.move_base` is "conflict"; update-branch answers 422. Close and reopen:
  a branch from the latest base, the change re-applied (Contents API), a new PR, the old one closed.
- `policy_bot_missed`: the first successful `check_suite.completed` never reaches policy-bot.
  Comment `/policy-bot recheck` on the PR.
- `approver_bot_missed`: the first `policy-bot` success status never reaches approver-bot. Add the
  label `approver-bot:recheck` (remove it first if present).
- `automerge_missed`: automerge-bot's first merge of the PR is dropped. Add the label `automerge`
  (remove it first if present), or merge with `PUT .../pulls/{n}/merge`.

World faults (`github_outage`, `webhook_loss`) live in `world_faults.py`; they answer `api.request`
and `webhook.*` here, and hold every actor and delivery during an outage (`WorldFaults.until_up`).
"""

from __future__ import annotations

from dataclasses import dataclass

from simulators.github.model import PullRequest
from simulators.github.world_faults import WorldFaults


@dataclass(frozen=True)
class Rule:
    step: str
    outcome: str
    once: bool


# Order is precedence when several faults of one PR rule the same step.
PR_FAULTS: dict[str, Rule] = {
    "genuine_failure": Rule("ci.run.test", "failure/assertion", once=False),
    "flaky_checks": Rule("ci.run.test", "failure/transient", once=True),
    "merge_conflict": Rule("upstream.move_base", "conflict", once=True),
    "behind_base": Rule("upstream.move_base", "advance", once=True),
    "policy_bot_missed": Rule("policy-bot.receive.check_suite", "drop", once=True),
    "approver_bot_missed": Rule("approver-bot.receive.status", "drop", once=True),
    "automerge_missed": Rule("automerge-bot.merge", "drop", once=True),
}
KNOWN_FAULTS: frozenset[str] = frozenset(PR_FAULTS)

# Check run output (title, summary, text) by log name.
CHECK_LOGS: dict[str, tuple[str, str, str]] = {
    "transient": (
        "Error: The operation was canceled.",
        "The job failed while fetching dependencies: connection reset by peer / ETIMEDOUT.",
        "Run pip install -r requirements.txt && npm ci\n"
        "WARNING: Retrying (Retry(total=0)) after connection broken by "
        "'ProtocolError('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))'\n"
        "ERROR: Could not install packages due to an OSError: [Errno 104] connection reset by peer\n"
        "npm ERR! code ETIMEDOUT\n"
        "npm ERR! network request to https://registry.npmjs.org/ failed, reason: connect ETIMEDOUT\n"
        "Error: ETIMEDOUT while fetching dependencies\n"
        "Error: The operation was canceled.",
    ),
    "assertion": (
        "1 failed, 41 passed",
        "FAILED tests/test_api.py::test_health - assert 500 == 200",
        "Run pytest -q\n"
        "________________________________ test_health ________________________________\n"
        "    def test_health(client):\n"
        "        response = client.get('/health')\n"
        ">       assert response.status_code == 200, f'expected 200, got {response.status_code}'\n"
        "E       AssertionError: expected 200, got 500\n"
        "E       assert 500 == 200\n"
        "tests/test_api.py:12: AssertionError\n"
        "=========================== short test summary info ===========================\n"
        "FAILED tests/test_api.py::test_health - assert 500 == 200\n"
        "1 failed, 41 passed in 3.21s\n"
        "Error: Process completed with exit code 1.",
    ),
}


class Faults:
    """Decides step outcomes from each PR's `faults` and the world faults; records PR-level decisions."""

    def __init__(self) -> None:
        self.decisions: list[dict[str, object]] = []
        self.world = WorldFaults()
        self._spent: set[tuple[str, str]] = set()  # (pr key, fault) of `once` rules already applied

    def decide(self, pr: PullRequest | None, step: str, default: str) -> str:
        """The outcome of `step` for `pr` (None for world-wide steps such as `api.request`)."""
        outcome = self._fault_outcome(pr, step)
        if outcome is None:
            return default
        if step != "api.request":  # outages count refused requests instead (report `outages`)
            self.decisions.append({"pr": pr.key if pr else None, "step": step, "outcome": outcome})
        return outcome

    def _fault_outcome(self, pr: PullRequest | None, step: str) -> str | None:
        """The outcome a world fault or a fault of `pr` imposes on `step`, or None."""
        if step == "api.request":
            return "outage" if self.world.refuse_request() else None
        if step.startswith("webhook."):
            return "drop" if self.world.lose_webhook() else None
        if pr is None:
            return None
        for fault, rule in PR_FAULTS.items():
            if rule.step != step or fault not in pr.faults:
                continue
            if rule.once:
                if (pr.key, fault) in self._spent:
                    continue
                self._spent.add((pr.key, fault))
            return rule.outcome
        return None
