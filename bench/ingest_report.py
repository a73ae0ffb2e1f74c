"""The table `bench/ingest.py` prints: each figure of Mender beside its floor's, and the ratio."""

from __future__ import annotations

from dataclasses import dataclass

from bench.ingest_load import LoadResult, percentile


@dataclass
class Side:
    name: str
    load: LoadResult
    store_at: float | None  # monotonic time every PR was in the store (None: n/a or timed out)
    query_at: float | None  # monotonic time every PR workflow answered its status query
    worker_rss_mb: float | None


def since(at: float | None, origin: float) -> float | None:
    return None if at is None else at - origin


def report(floor: Side, mender: Side, n: int, concurrency: int, server: str) -> None:
    def row(label: str, f: float | None, m: float | None, unit: str = "") -> None:
        show = lambda v: "n/a" if v is None else f"{v:.1f}{unit}"  # noqa: E731
        ratio = "" if f is None or m is None or f == 0 else f"{m / f:.2f}x"
        print(f"{label:<44} {show(f):>10} {show(m):>10} {ratio:>8}")

    def rate(side: Side, at: float | None) -> float | None:
        return None if at is None else n / (at - side.load.started)

    print(f"\n{n} signed pull_request.opened webhooks, concurrency {concurrency}, {server}-backed dev server")
    print(f"{'':<44} {'floor':>10} {'mender':>10} {'m/floor':>8}")
    row("accepted (202)", floor.load.accepted, mender.load.accepted)
    row("accepted/s", floor.load.accepted_per_second, mender.load.accepted_per_second)
    lat = lambda s, q: percentile(s.load.latencies, q) * 1000  # noqa: E731
    row("HTTP p50 (ms)", lat(floor, 0.5), lat(mender, 0.5))
    row("HTTP p99 (ms)", lat(floor, 0.99), lat(mender, 0.99))
    row("all in store, s after first request", None, since(mender.store_at, mender.load.started))
    row("all in store, s after last 202", None, since(mender.store_at, mender.load.finished))
    row("PRs into the store /s", None, rate(mender, mender.store_at))
    row(
        "all answer a query, s after first request",
        since(floor.query_at, floor.load.started),
        since(mender.query_at, mender.load.started),
    )
    row(
        "all answer a query, s after last 202",
        since(floor.query_at, floor.load.finished),
        since(mender.query_at, mender.load.finished),
    )
    row("PRs visible in a query /s", rate(floor, floor.query_at), rate(mender, mender.query_at))
    row("store /s vs floor accepted/s", floor.load.accepted_per_second, rate(mender, mender.store_at))
    row("worker peak RSS (MB)", floor.worker_rss_mb, mender.worker_rss_mb)
    others = {k: v for side in (floor, mender) for k, v in side.load.statuses.items() if k != 202}
    if others:
        print(f"non-202 answers: floor {floor.load.statuses}, mender {mender.load.statuses}")
