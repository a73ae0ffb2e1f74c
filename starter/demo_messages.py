"""What `mender up` tells the user: where the PR and CI workflows are, and when the demo is done."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

PRODUCT_WORKFLOWS = "WorkflowType IN ('PRLifecycle', 'CIFailure')"  # hides reconciler, poller, breaker, ...


def product_workflows_url(ui_port: int, namespace: str = "default") -> str:
    """The Temporal Web UI's workflow list filtered to PR and CI workflows (housekeeping hidden)."""
    return f"http://127.0.0.1:{ui_port}/namespaces/{namespace}/workflows?query={quote(PRODUCT_WORKFLOWS)}"


def demo_finished(merged: int, total: int, need_human: int, ports: Any) -> str:
    """What `mender up` prints once every demo PR is merged or handed to a human."""
    return (
        f"\nDemo finished: {merged} of {total} PRs merged, {need_human} handed to a human. Now open:\n"
        f"  http://127.0.0.1:{ports.starter}/dashboard   (Needs me, Success, CI, Health, Queues)\n"
        f"  .venv/bin/mender needs-me                  (the same from the shell)\n"
        f"  {product_workflows_url(ports.temporal_ui)}\n"
        "The stack keeps running (the reconciler and CI poller too): Ctrl-C stops everything."
    )


def worker_metrics(settings: Any) -> str:
    """Where the worker serves its metrics, as configured (`metrics:`)."""
    exported = settings.config.metrics
    ports = [f":{p}/metrics" for p in (exported.worker_port, exported.sdk_port) if p]
    return f"http://{exported.host}" + " and ".join(ports) if ports else "off"
