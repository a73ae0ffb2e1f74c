"""Stall -> action latency on a fleet, beside its floor: `make bench-latency`.

Floor: bare Temporal on its own dev server: `--prs` workflows, each started by one signal (the PR's
last progress, stamped by the sender), wait on a timer of the threshold, then run one activity (the
action); stall -> action is the activity's start minus the signal's stamp. Same opening rate (100/s),
threshold (20 s) and activity slots (16) as the fleet.
Mender: `bench/fleet.py`'s scenario (a quarter of the PRs healthy, the rest stalled by the faults
Mender heals most often; 20 s staleness thresholds) run by `mender simulate`'s engine, its worker in a
process of its own (`mender worker`, 16 activity slots; `--worker-in-process`: in the bench process with
the simulators and the starter, as `mender simulate` runs it); stall -> action is from the PR's last
applied event to the remediation's activity scheduled (stall -> decision: the timer fired, GitHub was
read, the breaker asked; what the floor measures) and to its answer (stall -> write: GitHub took the
write, which its secondary limit of 80 writes a minute per token bounds when hundreds stall at once).
Printed: median and p95 of each, the ratio, the goal (p95 <= threshold + 5 s), the writes GitHub
took (busiest minute, 429s), and where stall -> decision goes hop by hop, read from the PR workflows'
histories before the dev server stops (`bench/fleet_hops.py`: timer due -> fired -> workflow task ->
each call of the check, its wait for a slot -> the remediation scheduled). Nothing asserted.

Fleet shapes: the default opens the 1,000 PRs 0.01 s apart (750 stall within seconds: their writes
need >= 9.4 min on one token); `--open-interval 0.8` opens them so that stalls come at ~56 a minute,
a rate one token serves.

Usage: .venv/bin/python bench/latency.py [--prs 1000] [--open-interval 0.01] [--floor-only | --mender-only]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import yaml
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import starter.local_stack as local_stack  # noqa: E402
import starter.simulate as simulate  # noqa: E402
from bench.fleet import scenario  # noqa: E402
from bench.fleet_hops import fleet_hops, summary  # noqa: E402
from bench.floor.timers import ACTED, FloorStall, act  # noqa: E402
from bench.ingest_load import percentile  # noqa: E402
from runtime.temporal import temporal_binary  # noqa: E402
from starter.simulate import run_simulation  # noqa: E402

THRESHOLD = 20.0
OPEN_INTERVAL = 0.01  # as the fleet scenario opens its PRs (by default)
SLOTS = 16  # activity slots of the embedded Mender worker
T = TypeVar("T")


async def started(start: Callable[[], Awaitable[T]], attempts: int = 3) -> T:
    """`start()`, again when the dev server did not come up in the SDK's 5 s (a loaded machine)."""
    for attempt in range(attempts):
        try:
            return await start()
        except RuntimeError as exc:
            if "did not start" not in str(exc) or attempt == attempts - 1:
                raise
            print(f"dev server did not start in time, again ({exc})", file=sys.stderr)
    raise AssertionError("unreachable")


async def floor(prs: int, timeout: float, open_interval: float = OPEN_INTERVAL) -> list[float]:
    """Stall -> action seconds of each bare workflow that acted within `timeout`."""
    env = await started(
        lambda: WorkflowEnvironment.start_local(
            dev_server_existing_path=str(temporal_binary()), dev_server_log_level="error"
        )
    )
    queue = f"floor-stall-{uuid.uuid4().hex[:8]}"
    sent: dict[str, float] = {}
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=SLOTS) as pool:
            async with Worker(
                env.client,
                task_queue=queue,
                workflows=[FloorStall],
                activities=[act],
                activity_executor=pool,
                max_concurrent_activities=SLOTS,
            ):
                for n in range(prs):
                    workflow_id = f"{queue}-{n}"
                    sent[workflow_id] = time.time()
                    await env.client.start_workflow(
                        "FloorStall",
                        THRESHOLD,
                        id=workflow_id,
                        task_queue=queue,
                        start_signal="progress",
                    )
                    await asyncio.sleep(open_interval)
                deadline = time.monotonic() + timeout
                while len(sent.keys() & ACTED.keys()) < prs and time.monotonic() < deadline:
                    await asyncio.sleep(0.5)
    finally:
        await env.shutdown()
    return [ACTED[w] - sent[w] for w in sent if w in ACTED]


def worker_peak_mb() -> float | None:
    """Peak RSS (VmHWM) of this process's `mender worker` child, if it runs in one."""
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            cmdline = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields.get("PPid", "0")) == os.getpid() and b"worker" in cmdline and "VmHWM" in fields:
            return int(fields["VmHWM"].split()[0]) / 1024
    return None


def with_hops(report: Callable[..., Awaitable[dict]]) -> Callable[..., Awaitable[dict]]:
    """`simulate._report`, which runs while the stack is up, also reading the hops from the histories."""

    async def reported(stack, *args, **kwargs) -> dict:  # type: ignore[no-untyped-def]
        hops = summary(await fleet_hops(stack.client))
        return {**await report(stack, *args, **kwargs), "hops": hops, "worker_peak_rss_mb": worker_peak_mb()}

    return reported


def mender(
    prs: int,
    timeout: float,
    worker_process: bool = True,
    open_interval: float = OPEN_INTERVAL,
    keep: Path | None = None,
) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fleet.yaml"
        path.write_text(yaml.safe_dump(scenario(prs, open_interval)))
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
        simulate._report = with_hops(simulate._report)  # the bench's own figure, added to the report
        run = lambda: run_simulation(  # noqa: E731
            path, ROOT / "mender.yaml", timeout, data_dir=keep, worker_process=worker_process
        )
        return asyncio.run(started(run))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prs", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--keep", type=Path, help="keep Mender's store and worker log in this directory")
    parser.add_argument("--open-interval", type=float, default=OPEN_INTERVAL, help="seconds between openings")
    parser.add_argument(
        "--slots",
        type=int,
        default=SLOTS,
        help="activity slots of Mender's workflows' queue (the floor keeps 16)",
    )
    side = parser.add_mutually_exclusive_group()
    side.add_argument("--floor-only", action="store_true")
    side.add_argument("--mender-only", action="store_true")
    parser.add_argument(
        "--worker-in-process",
        action="store_true",
        help="Mender's worker in the bench process with the simulators (as `mender simulate`)",
    )
    args = parser.parse_args()
    rows: dict[str, tuple[float | None, float | None]] = {}
    if not args.mender_only:
        started = time.monotonic()
        waits = asyncio.run(floor(args.prs, args.timeout, args.open_interval))
        rows["floor"] = (percentile(waits, 0.5), percentile(waits, 0.95))
        median, p95 = rows["floor"]
        print(
            f"floor: {len(waits)} of {args.prs} acted, {time.monotonic() - started:.0f} s; "
            f"stall -> action median {median:.1f} s, p95 {p95:.1f} s",
            flush=True,
        )
    if not args.floor_only:
        local_stack.ACTIVITY_SLOTS = args.slots  # read when the embedded stack starts its worker
        started = time.monotonic()
        report = mender(args.prs, args.timeout, not args.worker_in_process, args.open_interval, args.keep)
        decided, written = report["stall_to_decision_seconds"], report["stall_to_action_seconds"]
        rows["mender: stall -> decision"] = (decided["median"], decided["p95"])
        rows["mender: stall -> write"] = (written["median"], written["p95"])
        writes = report["github_writes"]
        print(
            f"mender: {args.prs} PRs in {time.monotonic() - started:.0f} s, actions {report['actions']}, "
            f"false positives {report['false_positive_actions']}, open {report['prs']['open']}, "
            f"needs human {report['prs']['needs_intervention']}, breaker trips {report['breaker_trips']}",
            flush=True,
        )
        print(
            f"GitHub writes taken {writes['taken']} ({writes['per_minute']}/min from first to last, busiest "
            f"minute {writes['busiest_minute']}), refused 429: {writes['refused_429']}; requests counted "
            f"against the hourly limit: {writes['requests_counted']}"
            + (" (request log full: counts are a floor)" if writes["log_full"] else ""),
            flush=True,
        )
        print(f"worker peak RSS: {report['worker_peak_rss_mb'] or 0:.0f} MB", flush=True)
        print("\nstall -> decision hop by hop (s; server times from the PR workflows' histories)")
        print(f"{'hop':<48} {'n':>6} {'median':>8} {'p95':>8}")
        for hop, row in report["hops"].items():
            show = lambda v: "n/a" if v is None or v != v else f"{v:.1f}"  # noqa: E731
            print(f"{hop:<48} {row['n']:>6} {show(row['median']):>8} {show(row['p95']):>8}")
    print(
        f"\nstall -> action, {args.prs} PRs, threshold {THRESHOLD:.0f} s (goal: p95 <= {THRESHOLD + 5:.0f} s)"
    )
    print(f"{'':<28} {'median s':>10} {'p95 s':>10}")
    for name, (median, p95) in rows.items():
        show = lambda v: "n/a" if v is None else f"{v:.1f}"  # noqa: E731
        print(f"{name:<28} {show(median):>10} {show(p95):>10}")
    floor_p95 = rows.get("floor", (None, None))[1]
    for name in ("mender: stall -> decision", "mender: stall -> write"):
        if floor_p95 and rows.get(name, (None, None))[1] is not None:
            print(f"{name} / floor, p95: {rows[name][1] / floor_p95:.2f}x")


if __name__ == "__main__":
    main()
