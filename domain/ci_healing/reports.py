"""Texts Mender writes on GitHub/GitLab for CI failures: fix PR bodies and incident issues. Redacted."""

from __future__ import annotations

import re
from typing import Protocol

from domain.diagnosis.verdict import Diagnosis
from domain.shared.redaction import redact

BODY_LIMIT = 60_000


class _FixArgs(Protocol):
    run_url: str
    diagnosis: Diagnosis


class _Plan(Protocol):
    description: str


class _IncidentArgs(Protocol):
    run_url: str
    diagnosis: Diagnosis
    distilled: str
    attempts: list[str]

    @property
    def run(self) -> object: ...


def code_block(text: str) -> list[str]:
    """`text` as a Markdown code block that no run of backticks inside it can close (so log text never
    renders as links, images or mentions)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, text, fence]


def _diagnosis_lines(d: Diagnosis) -> list[str]:
    params = ", ".join(f"`{k}={v}`" for k, v in sorted(d.params.items())) or "none"
    return [
        f"- **Category:** {d.category.value} (confidence {d.confidence}, source {d.source.value})",
        f"- **Risk:** {d.risk_score} ({d.tier.value})",
        f"- **Playbook:** {d.playbook or 'none'}; parameters: {params}",
        f"- **Why:** {d.explanation}",
        "",
        "Decisive log line:",
        *code_block(d.key_line),
    ]


def fix_pr_body(args: _FixArgs, plan: _Plan, verification: str) -> str:
    """The body of a fix PR: diagnosis, the fix, the failed run, and a verification line kept up to date."""
    lines = [
        "Mender opened this PR to heal a failed pipeline run.",
        "",
        f"**Failed run:** {args.run_url}",
        "",
        "### Diagnosis",
        *_diagnosis_lines(args.diagnosis),
        "",
        "### Fix",
        plan.description,
        "",
        f"**Verification:** {verification}",
    ]
    return redact("\n".join(lines))[:BODY_LIMIT]


def incident_title(args: _IncidentArgs) -> str:
    return redact(f"[mender] CI keeps failing: {args.diagnosis.category.value} in {args.run}")[:250]


def incident_body(args: _IncidentArgs) -> str:
    """An incident issue with the full diagnosis, every attempt and the distilled log."""
    lines = [
        f"Mender could not heal the failed run {args.run_url}.",
        "",
        "### Diagnosis",
        *_diagnosis_lines(args.diagnosis),
        "",
        "### Remediation attempts",
        *(f"- {attempt}" for attempt in args.attempts or ["none"]),
        "",
        "### Distilled log (redacted)",
        *code_block(args.distilled),
    ]
    return redact("\n".join(lines))[:BODY_LIMIT]
