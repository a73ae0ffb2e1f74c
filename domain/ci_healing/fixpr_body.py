"""The fix PR body's evidence section: the confidence breakdown as a table, the decision, the commits."""

from __future__ import annotations

from domain.ci_healing.confidence import Confidence
from domain.ci_healing.evidence import Evidence
from domain.ci_healing.fixpr import FixPRDecision, Route
from domain.shared.redaction import redact

EVIDENCE_MARKER = "<!-- mender:evidence -->"
EVIDENCE_END = "<!-- /mender:evidence -->"
VERIFICATION_MARKER = "**Verification:**"  # the CI workflow rewrites everything after it
ROUTE_TEXT = {
    Route.MERGE: "merge: every required check passed and confidence is high",
    Route.AUTO_MERGE: "merge after one approving review",
    Route.REVIEW: "review queue: a human decides (Mender never merges it on its own)",
    Route.BLOCKED: "blocked: a high-severity security finding (Mender never merges it)",
}
SIGNED = {  # what the provider says of the commits Mender made through its API (never pushed with git)
    "github": "verified: signed by GitHub (made through the API as the Mender app)",
    "gitlab": "verified: signed by GitLab (made through the API; GitLab reports the signature verified)",
}
UNSIGNED = {
    "github": "NOT verified: GitHub reports a commit without a verified signature",
    "gitlab": "NOT verified: GitLab did not sign the commits made through its API (no verified signature)",
}


def evidence_section(
    confidence: Confidence,
    evidence: Evidence,
    decision: FixPRDecision,
    verified_commits: bool | None,
    provider: str = "github",
) -> str:
    """Markdown: the breakdown table, the score, the findings, the decision and the commits' signature
    (verified only when the provider says so; None: not known, nothing claimed)."""
    lines = [
        EVIDENCE_MARKER,
        "### Evidence",
        "",
        "| signal | result | weight | counts | points | checks |",
        "|---|---|---:|---:|---:|---|",
    ]
    for row in confidence.rows:
        checks = ", ".join(evidence.checks.get(row.signal, [])) or "-"
        lines.append(
            f"| {row.signal.value} | {row.state.value} | {row.weight:.2f} | {row.share:.2f} "
            f"| {row.points:.2f} | {redact(checks)[:200]} |"
        )
    prior = "none yet" if confidence.prior is None else f"{confidence.prior:.2f}"
    lines += [
        "",
        f"**Confidence:** {confidence.score:.2f} (weighted {confidence.weighted:.2f}, playbook success rate {prior})",
    ]
    if evidence.findings:
        lines += ["", "**Findings of Mender's scan:**"]
        lines += [
            f"- {f.severity} `{f.id}` ({f.tool}) in `{f.target}`: {redact(f.summary)[:200]}"
            for f in evidence.findings[:20]
        ]
    lines += [f"- note: {redact(n)[:200]}" for n in evidence.notes]
    lines += ["", f"**Decision:** {ROUTE_TEXT[decision.route]}"]
    lines += [f"- {redact(r)[:200]}" for r in decision.reasons]
    if verified_commits is not None:
        signed = (SIGNED if verified_commits else UNSIGNED).get(provider, "NOT verified")
        lines += ["", f"**Commits:** {signed}"]
    return "\n".join([*lines, EVIDENCE_END]) + "\n"


def with_evidence(body: str, section: str) -> str:
    """`body` with its evidence section replaced by `section`: before the verification line (which the
    CI workflow rewrites), else at the end."""
    body = body or ""
    if EVIDENCE_MARKER in body:
        head, _, rest = body.partition(EVIDENCE_MARKER)
        _, found, tail = rest.partition(EVIDENCE_END)
        body = head.rstrip() + ("\n\n" + tail.lstrip() if found and tail.strip() else "")
    head, marker, tail = body.partition(VERIFICATION_MARKER)
    if marker:
        return f"{head.rstrip()}\n\n{section}\n{marker}{tail}"
    return f"{body.rstrip()}\n\n{section}"
