"""Stall -> action latency on a fleet, beside its two floors: `make bench-latency`.

Floor: bare Temporal on its own dev server: `--prs` workflows, each started by one signal (the PR's
last progress, stamped by the sender), wait on a timer of the threshold, then run one activity (the
action); stall -> action is the activity's start minus the signal's stamp. Same opening rate (100/s),
threshold (20 s) and activity slots (16) as the fleet.
Floor with GitHub reads (`bench/floor/github_reads.py`): the same, on a dev server of its own, but the
activity first reads the PR through bare PyGithub (what a staleness check needs: the PR, its checks,
statuses, reviews, the comparison with its base) from the same GitHub simulator world as Mender's fleet
(the fleet scenario, the simulator in its own process); stall -> action is when the read was done. The
gap between the two floors is the GitHub reads themselves; between this floor and Mender, Mender.
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

The GitHub simulator runs in its own process (real GitHub is remote; `--github-in-process`: in the bench
process with the starter, as `mender simulate` runs it). GitHub requests each floor read are counted
from the simulator's request log; the load average is printed before and after each side.

Usage: .venv/bin/python bench/latency.py [--prs 1000] [--open-interval 0.01] [--floor-only | --mender-only]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import starter.local_stack as local_stack  # noqa: E402
import starter.simulate as simulate  # noqa: E402
from bench.fleet import scenario  # noqa: E402
from bench.fleet_hops import fleet_hops, summary  # noqa: E402
from bench.ingest_load import percentile  # noqa: E402
from bench.latency_floors import OPEN_INTERVAL, SLOTS, THRESHOLD, floor, floor_github, started  # noqa: E402
from starter.simulate import run_simulation  # noqa: E402


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


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


def read_mix(requests: Iterable[dict]) -> dict[str, int]:
    """Mender's GETs of the REST API by answer: fresh (200), conditional hits (304), refused (403/429)."""
    gets = [r for r in requests if r["method"] == "GET" and r["path"].startswith("/repos/")]
    return {
        "gets": len(gets),
        "fresh": sum(1 for r in gets if r["status"] == 200),
        "not_modified": sum(1 for r in gets if r["status"] == 304),
        "refused": sum(1 for r in gets if r["status"] in (403, 429)),
    }


def with_hops(report: Callable[..., Awaitable[dict]]) -> Callable[..., Awaitable[dict]]:
    """`simulate._report`, which runs while the stack is up, also reading the hops from the histories."""

    async def reported(stack, *args, **kwargs) -> dict:  # type: ignore[no-untyped-def]
        hops = summary(await fleet_hops(stack.client))
        return {
            **await report(stack, *args, **kwargs),
            "hops": hops,
            "worker_peak_rss_mb": worker_peak_mb(),
            "github_reads": read_mix(stack.github.state.requests),
        }

    return reported


def mender(
    prs: int,
    timeout: float,
    worker_process: bool = True,
    open_interval: float = OPEN_INTERVAL,
    keep: Path | None = None,
    github_process: bool = True,
    points_per_minute: int | None = None,
) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fleet.yaml"
        path.write_text(yaml.safe_dump(scenario(prs, open_interval, points_per_minute)))
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
        simulate._report = with_hops(simulate._report)  # the bench's own figure, added to the report
        run = lambda: run_simulation(  # noqa: E731
            path,
            ROOT / "mender.yaml",
            timeout,
            data_dir=keep,
            worker_process=worker_process,
            github_process=github_process,
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
        help="activity slots of Mender's workflows' queue (the floors keep 16)",
    )
    side = parser.add_mutually_exclusive_group()
    side.add_argument("--floor-only", action="store_true")
    side.add_argument("--mender-only", action="store_true")
    parser.add_argument(
        "--worker-in-process",
        action="store_true",
        help="Mender's worker in the bench process with the simulators (as `mender simulate`)",
    )
    parser.add_argument(
        "--secondary-limit",
        type=int,
        metavar="POINTS",
        help="the simulator enforces GitHub's secondary limit of POINTS a minute (900 published; GET 1, write 5)",
    )
    parser.add_argument(
        "--github-in-process",
        action="store_true",
        help="Mender's GitHub simulator in the bench process with the starter (as `mender simulate`)",
    )
    args = parser.parse_args()
    rows: dict[str, tuple[float | None, float | None]] = {}
    if not args.mender_only:
        rows["floor"] = run_floor(args.prs, args.timeout, args.open_interval)
        rows["floor + GitHub reads"] = run_floor_github(
            args.prs, args.timeout, args.open_interval, args.secondary_limit
        )
    if not args.floor_only:
        rows.update(run_mender(args))
    print(
        f"\nstall -> action, {args.prs} PRs, threshold {THRESHOLD:.0f} s (goal: p95 <= {THRESHOLD + 5:.0f} s)"
    )
    print(f"{'':<28} {'median s':>10} {'p95 s':>10}")
    for name, (median, p95) in rows.items():
        show = lambda v: "n/a" if v is None else f"{v:.1f}"  # noqa: E731
        print(f"{name:<28} {show(median):>10} {show(p95):>10}")
    for base in ("floor", "floor + GitHub reads"):
        base_p95 = rows.get(base, (None, None))[1]
        for name in ("floor + GitHub reads", "mender: stall -> decision", "mender: stall -> write"):
            if name != base and base_p95 and rows.get(name, (None, None))[1] is not None:
                print(f"{name} / {base}, p95: {rows[name][1] / base_p95:.2f}x")


def run_floor(prs: int, timeout: float, open_interval: float) -> tuple[float | None, float | None]:
    print(f"floor: load average {load_average()}", flush=True)
    started = time.monotonic()
    waits = asyncio.run(floor(prs, timeout, open_interval))
    median, p95 = percentile(waits, 0.5), percentile(waits, 0.95)
    print(
        f"floor: {len(waits)} of {prs} acted, {time.monotonic() - started:.0f} s; "
        f"stall -> action median {median:.1f} s, p95 {p95:.1f} s; load average {load_average()}",
        flush=True,
    )
    return median, p95


def run_floor_github(
    prs: int, timeout: float, open_interval: float, points_per_minute: int | None
) -> tuple[float | None, float | None]:
    print(f"floor + GitHub reads: load average {load_average()}", flush=True)
    started = time.monotonic()
    waits, requests = asyncio.run(floor_github(prs, timeout, open_interval, points_per_minute))
    median, p95 = percentile(waits, 0.5), percentile(waits, 0.95)
    print(
        f"floor + GitHub reads: {len(waits)} of {prs} read, {time.monotonic() - started:.0f} s; "
        f"stall -> read done median {median or 0:.1f} s, p95 {p95 or 0:.1f} s; GitHub requests "
        f"{requests['requests']} ({requests['per_read']} a read; {requests['counted']} counted against the "
        f"hourly limit, {requests['refused']} refused); load average {load_average()}",
        flush=True,
    )
    return median, p95


def run_mender(args: argparse.Namespace) -> dict[str, tuple[float | None, float | None]]:
    print(f"mender: load average {load_average()}", flush=True)
    local_stack.ACTIVITY_SLOTS = args.slots  # read when the embedded stack starts its worker
    started = time.monotonic()
    report = mender(
        args.prs,
        args.timeout,
        not args.worker_in_process,
        args.open_interval,
        args.keep,
        not args.github_in_process,
        args.secondary_limit,
    )
    decided, written = report["stall_to_decision_seconds"], report["stall_to_action_seconds"]
    writes = report["github_writes"]
    print(
        f"mender: {args.prs} PRs in {time.monotonic() - started:.0f} s, actions {report['actions']}, "
        f"false positives {report['false_positive_actions']}, open {report['prs']['open']}, "
        f"needs human {report['prs']['needs_intervention']}, breaker trips {report['breaker_trips']}; "
        f"load average {load_average()}",
        flush=True,
    )
    print(
        f"GitHub writes taken {writes['taken']} ({writes['per_minute']}/min from first to last, busiest "
        f"minute {writes['busiest_minute']}), refused 429: {writes['refused_429']}; requests counted "
        f"against the hourly limit: {writes['requests_counted']}"
        + (" (request log full: counts are a floor)" if writes["log_full"] else ""),
        flush=True,
    )
    reads = report["github_reads"]
    print(
        f"GitHub reads (GET) {reads['gets']}: {reads['fresh']} fresh, {reads['not_modified']} answered 304 "
        f"(the ETag cache), {reads['refused']} refused",
        flush=True,
    )
    print(f"worker peak RSS: {report['worker_peak_rss_mb'] or 0:.0f} MB", flush=True)
    print("\nstall -> decision hop by hop (s; server times from the PR workflows' histories)")
    print(f"{'hop':<48} {'n':>6} {'median':>8} {'p95':>8}")
    for hop, row in report["hops"].items():
        show = lambda v: "n/a" if v is None or v != v else f"{v:.1f}"  # noqa: E731
        print(f"{hop:<48} {row['n']:>6} {show(row['median']):>8} {show(row['p95']):>8}")
    return {
        "mender: stall -> decision": (decided["median"], decided["p95"]),
        "mender: stall -> write": (written["median"], written["p95"]),
    }


if __name__ == "__main__":
    main()
