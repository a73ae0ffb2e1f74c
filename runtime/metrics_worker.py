"""The worker's metrics: Temporal SDK runtime metrics and Mender's own, each on a port of its own."""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import start_http_server
from temporalio import activity
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from runtime import metrics

log = logging.getLogger("mender.metrics")


def sdk_runtime(bind_address: str | None) -> Runtime | None:
    """A Temporal runtime exporting the SDK's metrics on `bind_address` (host:port); None: the default.

    A port already in use costs the SDK metrics (logged), never the worker.
    """
    if not bind_address:
        return None
    try:
        return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address)))
    except (ValueError, RuntimeError) as exc:
        log.error("Temporal SDK metrics NOT exported on %s: %s (set metrics.sdk_port)", bind_address, exc)
        return None


def serve_mender_metrics(host: str, port: int) -> Any | None:
    """Serve Mender's own metrics at `http://host:port/metrics` from a daemon thread.

    None (logged) when the port cannot be bound: the worker runs on without them.
    """
    try:
        server, _thread = start_http_server(port, addr=host, registry=metrics.REGISTRY)
    except OSError as exc:
        log.error("Mender metrics NOT served on %s:%d: %s (set metrics.worker_port)", host, port, exc)
        return None
    log.info("Mender metrics on http://%s:%d/metrics", host, port)
    return server


class _CountFailures(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except Exception:  # cancellation (a BaseException) is not an error of the activity
            metrics.activity_failed(activity.info().activity_type)
            raise


class ActivityErrorMetrics(Interceptor):
    """Worker interceptor: counts every activity attempt that raised, by activity type."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _CountFailures(next)
