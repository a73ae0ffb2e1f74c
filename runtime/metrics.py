"""Every Prometheus metric Mender exports, and the one-line functions the code calls to move them.

Naming follows Prometheus: `mender_` prefix, `_total` counters, `_seconds` base units. Label values
come from small closed sets (outcome words, action names, categories, configured scopes); anything
else is folded into `other`, so a PR number, a SHA or a header value never becomes a label.
Workflows never call these functions (they are deterministic and replay): activities, the starter and
the store projection do.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from domain.ci_healing.outcomes import CIOutcome
from domain.diagnosis.verdict import Category, FixAction
from domain.pr_healing.classifier import PRAction

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_LATEST
OTHER = "other"
LATENCY_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)

WEBHOOK_OUTCOMES = frozenset({"accepted", "ignored", "duplicate", "pong", "rejected", "retry"})
WEBHOOK_REASONS = {
    200: "ok",
    202: "ok",
    400: "malformed",
    401: "unauthenticated",
    413: "too_large",
    422: "invalid",
    500: "server_error",
    503: "temporal_unavailable",
}
REMEDY_OUTCOMES = {  # domain.pr_healing.remediation.RemedyOutcome words → metric label
    "acted": "acted",
    "effect seen": "effective",
    "no effect": "not_effective",
    "refused": "refused",
    "paused by breaker": "refused",
    "failed": "failed",
    "nothing to do": "noop",
    "observe only": "observed",
}
PR_ACTIONS = frozenset(a.value for a in PRAction)
BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}


def bounded(value: object, allowed: Iterable[str]) -> str:
    """`value` as a label when it is one of `allowed`, else `other`."""
    text = str(value)
    return text if text in allowed else OTHER


def _counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
    return Counter(name, doc, labels, registry=REGISTRY)


WEBHOOKS = _counter(
    "mender_webhooks_received_total",
    "Webhook deliveries received, by provider, outcome and bounded reason.",
    ("provider", "outcome", "reason"),
)
SWEEPS = _counter("mender_reconciler_sweeps_total", "Reconciler sweeps run.")
SWEPT_PRS = Histogram(
    "mender_reconciler_open_prs",
    "Open bot PRs scanned per reconciler sweep.",
    buckets=(0, 1, 5, 10, 25, 50, 100, 250, 500, 1000),
    registry=REGISTRY,
)
STALE_DETECTED = _counter(
    "mender_stale_prs_detected_total", "PRs a reconciler sweep found without workflow or out of date."
)
STALE_OPEN = Gauge("mender_stale_prs", "Open PRs past their state's staleness threshold.", registry=REGISTRY)
REMEDIATIONS = _counter(
    "mender_remediation_actions_total",
    "PR remediation records by action and outcome (acted, effective, not_effective, refused, ...).",
    ("action", "outcome"),
)
STALL_TO_ACTION = Histogram(
    "mender_stall_to_action_seconds",
    "From a PR entering its current state to Mender's remediation action.",
    ("action",),
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
ACTION_TO_EFFECT = Histogram(
    "mender_action_to_effect_seconds",
    "From a remediation action to its effect being seen.",
    ("action",),
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
BREAKER_STATE = Gauge(
    "mender_breaker_state",
    "Circuit breaker state (0 closed, 1 half-open, 2 open).",
    ("scope",),
    registry=REGISTRY,
)
BREAKER_TRIPS = _counter("mender_breaker_trips_total", "Times a circuit breaker opened.", ("scope",))
ESCALATIONS = _counter(
    "mender_escalations_total", "Hand-overs to a human, by kind (pr, ci) and outcome.", ("kind", "outcome")
)
CI_FAILURES = _counter(
    "mender_ci_failures_total",
    "Failed pipeline runs diagnosed, by category and action.",
    ("category", "action"),
)
CI_FIXES = _counter(
    "mender_ci_remediations_total", "CI remediation attempts by outcome (succeeded, failed).", ("outcome",)
)
CI_OUTCOMES = _counter("mender_ci_outcomes_total", "Finished CI failure workflows by outcome.", ("outcome",))
CI_OUTCOME_CHANGES = _counter(
    "mender_ci_outcome_changes_total",
    "Stored CI outcomes changed after their workflow ended, by its fix PR: held (healed -> awaiting_review:"
    " proposed, or merged then reverted) and settled (awaiting_review -> approved_fixed or escalated).",
    ("from_outcome", "to_outcome"),
)
APPROVALS = _counter(
    "mender_approvals_total",
    "Approval requests by event (requested, approved, rejected, timed_out).",
    ("event",),
)
COMMANDS = _counter("mender_commands_total", "PR commands answered, by outcome.", ("outcome",))
LLM_CALLS = _counter(
    "mender_llm_calls_total", "Calls to the LLM, by outcome (answered, failed).", ("outcome",)
)
LLM_TOKENS = _counter("mender_llm_tokens_total", "LLM tokens used, by kind (prompt, completion).", ("kind",))
LLM_COST = _counter(
    "mender_llm_cost_usd_total", "Estimated LLM cost in US dollars (metrics.llm_usd_per_1k_tokens)."
)
STORE_ERRORS = _counter(
    "mender_store_errors_total", "Store operations that failed, by operation.", ("operation",)
)
SOURCE_FAILURES = _counter(
    "mender_source_failures_total",
    "Repositories or CI projects a sweep could not read (skipped, retried after a backoff), by sweep.",
    ("sweep",),
)
SOURCE_SWEEPS = ("ci_poll", "reconcile")
ACTIVITY_ERRORS = _counter(
    "mender_activity_errors_total", "Activity attempts that raised, by activity type.", ("activity",)
)

CI_CATEGORIES = frozenset(c.value for c in Category)
CI_ACTIONS = frozenset(a.value for a in FixAction)
CI_OUTCOME_WORDS = frozenset(o.value for o in CIOutcome)


def exposition() -> bytes:
    """The text exposition of every Mender metric."""
    return generate_latest(REGISTRY)


def webhook_answered(provider: str, status: int, outcome: str) -> None:
    """One webhook delivery answered with `status` and an outcome word."""
    WEBHOOKS.labels(
        bounded(provider, ("github", "gitlab", "slack")),
        bounded(outcome, WEBHOOK_OUTCOMES),
        WEBHOOK_REASONS.get(status, OTHER),
    ).inc()


def sweep_done(scanned: int, discovered: int, refreshed: int, stale_now: int) -> None:
    """One reconciler sweep: PRs scanned, those found without a workflow or out of date, stale now."""
    SWEEPS.inc()
    SWEPT_PRS.observe(scanned)
    STALE_DETECTED.inc(discovered + refreshed)
    STALE_OPEN.set(stale_now)


def remediation(action: object, outcome: object) -> None:
    REMEDIATIONS.labels(bounded(action, PR_ACTIONS), REMEDY_OUTCOMES.get(str(outcome), OTHER)).inc()


def stall_to_action(action: object, seconds: float) -> None:
    STALL_TO_ACTION.labels(bounded(action, PR_ACTIONS)).observe(max(seconds, 0.0))


def action_to_effect(action: object, seconds: float) -> None:
    ACTION_TO_EFFECT.labels(bounded(action, PR_ACTIONS)).observe(max(seconds, 0.0))


def breaker_changed(scope: str, new_state: str, scopes: Iterable[str]) -> None:
    """A breaker changed state; `scopes` are the configured ones (others are `other`)."""
    label = bounded(scope, scopes)
    BREAKER_STATE.labels(label).set(BREAKER_STATES.get(new_state, -1))
    if new_state == "open":
        BREAKER_TRIPS.labels(label).inc()


def escalated(kind: str, outcome: str) -> None:
    ESCALATIONS.labels(bounded(kind, ("pr", "ci")), bounded(outcome, ("succeeded", "failed", "opened"))).inc()


def ci_diagnosed(category: object, action: object) -> None:
    CI_FAILURES.labels(bounded(category, CI_CATEGORIES), bounded(action, CI_ACTIONS)).inc()


def ci_remediated(outcome: str) -> None:
    CI_FIXES.labels(bounded(outcome, ("succeeded", "failed"))).inc()


def ci_finished(outcome: str) -> None:
    CI_OUTCOMES.labels(bounded(outcome, CI_OUTCOME_WORDS)).inc()


def ci_outcome_changed(before: str, after: str) -> None:
    """Healed now = outcomes{auto_fixed, approved_fixed} - changes{from: those} + changes{to: those}."""
    CI_OUTCOME_CHANGES.labels(bounded(before, CI_OUTCOME_WORDS), bounded(after, CI_OUTCOME_WORDS)).inc()


def approval(event: str) -> None:
    APPROVALS.labels(bounded(event, ("requested", "approved", "rejected", "timed_out"))).inc()


def command(outcome: str) -> None:
    COMMANDS.labels(bounded(outcome, ("accepted", "refused", "duplicate"))).inc()


def llm_call(answered: bool) -> None:
    """One LLM consultation: a valid answer was used, or not (error, timeout, invalid answer)."""
    LLM_CALLS.labels("answered" if answered else "failed").inc()


def llm_tokens(usage: object, usd_per_1k: float = 0.0) -> None:
    """Token usage of one completion (`response.usage`, may be None) and its estimated cost."""
    prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
    completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
    LLM_TOKENS.labels("prompt").inc(max(prompt_tokens, 0))
    LLM_TOKENS.labels("completion").inc(max(completion_tokens, 0))
    LLM_COST.inc(max(prompt_tokens + completion_tokens, 0) / 1000 * usd_per_1k)


def source_failed(sweep: str) -> None:
    SOURCE_FAILURES.labels(sweep=bounded(sweep, SOURCE_SWEEPS)).inc()


def store_error(operation: str) -> None:
    STORE_ERRORS.labels(bounded(operation, ("record_pr", "record_ci", "audit", "read"))).inc()


def activity_failed(activity_type: str) -> None:
    """An activity attempt raised; its type is one the worker registered (a bounded set)."""
    ACTIVITY_ERRORS.labels(activity_type[:80]).inc()
