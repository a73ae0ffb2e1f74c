"""Fault injection: the one place where a fault can change what an actor, a webhook or the API does.

Every step of the simulated world asks `Faults.decide(pr, step, default)` for its outcome and does
what the answer says. With no faults the answer is always `default`. Step names and their outcomes:

- `<actor>.receive.<event>` ("deliver" | "drop"): an actor (ci, policy-bot, approver-bot,
  automerge-bot) sees a world event; "drop" is a webhook that actor never got.
- `ci.start` ("act" | "drop"): CI creates the check suite for a new head sha.
- `ci.run.<name>` ("success" | "failure" | ...): conclusion of check run `<name>` (build, test).
- `policy-bot.status.pending` ("act" | "drop"); `policy-bot.status.final` ("success" | "failure" | "drop").
- `approver-bot.review` ("APPROVE" | "REQUEST_CHANGES" | "drop").
- `automerge-bot.merge` ("act" | "drop").
- `webhook.<event>.<action>` (`webhook.status` for statuses; "deliver" | "drop"): a delivery to
  Mender; "drop" logs it as `dropped` (redeliverable) without sending it.
- `api.request` ("ok" | "outage"), pr None: "outage" answers a REST call with 502.

`KNOWN_FAULTS` lists the fault names a scenario may use; it is empty until faults are implemented.
"""

from __future__ import annotations

from simulators.github.model import PullRequest

KNOWN_FAULTS: frozenset[str] = frozenset()


class Faults:
    """Decides step outcomes from each PR's `faults`; records every non-default decision."""

    def __init__(self) -> None:
        self.decisions: list[dict[str, object]] = []

    def decide(self, pr: PullRequest | None, step: str, default: str) -> str:
        """The outcome of `step` for `pr` (None for world-wide steps such as `api.request`)."""
        outcome = self._fault_outcome(pr, step)
        if outcome is None:
            return default
        self.decisions.append({"pr": pr.key if pr else None, "step": step, "outcome": outcome})
        return outcome

    def _fault_outcome(self, pr: PullRequest | None, step: str) -> str | None:
        """The outcome a fault of `pr` imposes on `step`, or None; no faults are implemented yet."""
        return None
