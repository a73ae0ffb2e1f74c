"""The table `bench/ingest.py` prints: each figure of Mender beside its floor's, and the ratio."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from bench.ingest_load import LoadResult, history_bytes, percentile


@dataclass
class Side:
    name: str
    load: LoadResult
    store_at: float | None  # monotonic time every PR was in the store (None: n/a or timed out)
    query_at: float | None  # monotonic time every PR workflow answered its status query
    worker_rss_mb: float | None
    history: list[str] = field(default_factory=list)  # one PR workflow's history after its opening
    worker_cpu_s: float | None = None  # CPU seconds the worker process(es) used after start-up
    doubled: int | None = None  # rows of one opening stored twice (Mender only; must be 0)
    starter_cpu_s: float | None = None  # CPU seconds of the webhook process, from the first request
    server_cpu_s: float | None = None  # CPU seconds of the dev server, from the first request until done
    store_rows: dict[str, int] = field(default_factory=dict)  # rows per table after the run (Mender only)


def since(at: float | None, origin: float) -> float | None:
    return None if at is None else at - origin


Row = tuple[str, float | None, float | None]


def figures(floor: Side, mender: Side, n: int) -> list[Row]:
    """(label, floor's figure, Mender's figure) of one round."""

    def rate(side: Side, at: float | None) -> float | None:  # of the accepted PRs
        return None if at is None else side.load.accepted / (at - side.load.started)

    def per_pr(side: Side, cpu: float | None = None) -> float | None:
        cpu = side.worker_cpu_s if cpu is None else cpu
        return None if cpu is None else 1000 * cpu / max(side.load.accepted, 1)

    def lat(side: Side, q: float) -> float:
        return percentile(side.load.latencies, q) * 1000

    f, m = floor, mender
    return [
        ("accepted (202)", f.load.accepted, m.load.accepted),
        ("accepted/s", f.load.accepted_per_second, m.load.accepted_per_second),
        ("HTTP p50 (ms)", lat(f, 0.5), lat(m, 0.5)),
        ("HTTP p99 (ms)", lat(f, 0.99), lat(m, 0.99)),
        ("all in store, s after first request", None, since(m.store_at, m.load.started)),
        ("all in store, s after last 202", None, since(m.store_at, m.load.finished)),
        ("PRs into the store /s", None, rate(m, m.store_at)),
        (
            "all answer a query, s after first request",
            since(f.query_at, f.load.started),
            since(m.query_at, m.load.started),
        ),
        (
            "all answer a query, s after last 202",
            since(f.query_at, f.load.finished),
            since(m.query_at, m.load.finished),
        ),
        ("PRs visible in a query /s", rate(f, f.query_at), rate(m, m.query_at)),
        ("store /s vs floor accepted/s", f.load.accepted_per_second, rate(m, m.store_at)),
        ("worker peak RSS (MB, sum over workers)", f.worker_rss_mb, m.worker_rss_mb),
        ("worker CPU s after start-up", f.worker_cpu_s, m.worker_cpu_s),
        ("worker CPU ms per accepted PR", per_pr(f), per_pr(m)),
        ("starter CPU ms per accepted PR", per_pr(f, f.starter_cpu_s), per_pr(m, m.starter_cpu_s)),
        ("dev server CPU ms per accepted PR", per_pr(f, f.server_cpu_s), per_pr(m, m.server_cpu_s)),
        ("history events per PR workflow", len(f.history) or None, len(m.history) or None),
        ("history bytes per PR workflow", history_bytes(f.history), history_bytes(m.history)),
        ("rows of an opening stored twice", None, m.doubled),
    ]


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def report(
    rounds: list[tuple[Side | None, Side]], n: int, concurrency: int, server: str, workers: int = 1
) -> None:
    """Print the median of each figure over the rounds (each round: floor, then Mender)."""
    per_round = [
        [(name, f if floor is not None else None, m) for name, f, m in figures(floor or mender, mender, n)]
        for floor, mender in rounds
    ]
    label = f"median of {len(rounds)} rounds, " if len(rounds) > 1 else ""
    print(
        f"\n{n} signed pull_request.opened webhooks, concurrency {concurrency}, {server}-backed dev server, "
        f"{workers} worker process{'es' if workers > 1 else ''} per side"
    )
    print(f"{label + '':<44} {'floor':>10} {'mender':>10} {'m/floor':>8}")
    for i, (name, _, _) in enumerate(per_round[0]):
        f = _median([r[i][1] for r in per_round])
        m = _median([r[i][2] for r in per_round])
        ratio = "" if f is None or m is None or f == 0 else f"{m / f:.2f}x"
        show = lambda v: "n/a" if v is None else f"{v:.1f}"  # noqa: E731
        print(f"{name:<44} {show(f):>10} {show(m):>10} {ratio:>8}")
    for side in rounds[-1]:
        if side is not None:
            print(f"{side.name} PR workflow history (event, bytes): {', '.join(side.history)}")
            if side.store_rows:
                rows = ", ".join(
                    f"{t} {c / max(side.load.accepted, 1):.2f}" for t, c in side.store_rows.items()
                )
                print(f"{side.name} store rows per accepted PR: {rows}")
    for i, (floor, mender) in enumerate(rounds, 1):
        sides = [s for s in (floor, mender) if s is not None]
        if any(k != 202 for side in sides for k in side.load.statuses):
            print(f"round {i} non-202 answers: " + ", ".join(f"{s.name} {s.load.statuses}" for s in sides))
        if any(side.load.redelivered for side in sides):
            print(f"round {i} redelivered: " + ", ".join(f"{s.name} {s.load.redelivered}" for s in sides))
