"""The doctor's verdict per repository, from what GitHub answered and the refusals activities met."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.shared.github_access import NEEDED, AccessRefusal, RepoProbe, judge

ALL_WRITE = {name: "write" for name in NEEDED} | {"metadata": "read"}
PUSH = {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True}
REFUSAL = AccessRefusal(
    at=datetime(2026, 12, 7, 12, tzinfo=UTC),
    status=403,
    permission="issues=write",
    message="nope",
    call="commenting",
)


def probe(**fields: object) -> RepoProbe:
    return RepoProbe.model_validate(
        {"repository": "acme/api", "rate_remaining": 4000, "rate_limit": 5000, **fields}
    )


@pytest.mark.parametrize(
    ("found", "refusals", "status", "missing"),
    [
        (probe(role=PUSH), [], "ok", []),
        (probe(installation=ALL_WRITE), [], "ok", []),
        (probe(role=PUSH | {"push": False}), [], "failed", [f"{n}=write" for n in NEEDED]),
        (probe(installation=ALL_WRITE | {"actions": "read"}), [], "failed", ["actions=write"]),
        (probe(role=PUSH, scopes=["read:org"]), [], "failed", [f"{n}=write" for n in NEEDED]),
        (probe(role=PUSH, scopes=["repo", "workflow"]), [], "ok", []),
        (probe(role=PUSH), [REFUSAL], "failed", ["issues=write"]),
        (probe(role=PUSH, archived=True), [], "warning", []),
        (probe(role=PUSH, rate_remaining=10), [], "warning", []),
        (probe(error="reading acme/api: not found (404)", error_status=404), [], "failed", []),
    ],
)
def test_verdicts(found: RepoProbe, refusals: list[AccessRefusal], status: str, missing: list[str]) -> None:
    verdict = judge(found, refusals)
    assert (verdict.status, verdict.missing) == (status, missing)
    assert bool(verdict.reasons) == (status != "ok")  # every problem says why
