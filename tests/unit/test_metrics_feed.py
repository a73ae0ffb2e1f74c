"""Audit entries move the right counters; LLM usage becomes tokens and cost."""

from __future__ import annotations

from types import SimpleNamespace

from domain.shared.audit import AuditEntry
from runtime import metrics
from runtime.metrics_feed import observe_audit


def count(metric, *labels: str) -> float:
    return (metric.labels(*labels) if labels else metric)._value.get()


def entry(kind: str, result: str, target: str = "acme/api#1", **details: object) -> AuditEntry:
    return AuditEntry(action=kind, actor="mender", outcome=result, target=target, details=details)


def test_audit_rows_to_counters() -> None:
    cases = [
        (
            entry("pr.remediation", "failed", action="UPDATE_BRANCH", outcome="no effect"),
            metrics.REMEDIATIONS,
            ("UPDATE_BRANCH", "not_effective"),
        ),
        (entry("pr.escalated", "succeeded"), metrics.ESCALATIONS, ("pr", "succeeded")),
        (entry("pr.command", "refused"), metrics.COMMANDS, ("refused",)),
        (entry("breaker.change", "open", target="breaker/github"), metrics.BREAKER_TRIPS, ("github",)),
        (entry("ci.diagnosed", "flaky_test", action="retry"), metrics.CI_FAILURES, ("flaky_test", "retry")),
        (entry("ci.remediation", "succeeded"), metrics.CI_FIXES, ("succeeded",)),
        (entry("ci.approval", "timed_out"), metrics.APPROVALS, ("timed_out",)),
    ]
    for audited, metric, labels in cases:
        before = count(metric, *labels)
        observe_audit(audited, breaker_scopes=["github"])
        assert count(metric, *labels) == before + 1, audited.action
    assert count(metrics.BREAKER_STATE, "github") == 2  # open
    observe_audit(entry("breaker.change", "closed", target="breaker/github"), breaker_scopes=["github"])
    assert count(metrics.BREAKER_STATE, "github") == 0
    before = count(metrics.BREAKER_TRIPS, "other")
    observe_audit(entry("breaker.change", "open", target="breaker/x-1234"), breaker_scopes=["github"])
    assert count(metrics.BREAKER_TRIPS, "other") == before + 1  # unconfigured scopes stay bounded


def test_llm_usage_tokens_and_cost() -> None:
    prompt, completion, cost = (
        count(metrics.LLM_TOKENS, "prompt"),
        count(metrics.LLM_TOKENS, "completion"),
        count(metrics.LLM_COST),
    )
    metrics.llm_tokens(SimpleNamespace(prompt_tokens=1500, completion_tokens=500), usd_per_1k=0.002)
    metrics.llm_tokens(None, usd_per_1k=0.002)  # a reply without usage counts nothing
    assert count(metrics.LLM_TOKENS, "prompt") == prompt + 1500
    assert count(metrics.LLM_TOKENS, "completion") == completion + 500
    assert abs(count(metrics.LLM_COST) - cost - 0.004) < 1e-12  # 2,000 tokens at $0.002 per 1,000
