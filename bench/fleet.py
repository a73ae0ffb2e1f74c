"""A fleet of stalled bot PRs at once: wall time, peak RSS and time from stall to remediation.

Generates a scenario with `--prs` bot PRs (a quarter healthy, the rest with the faults Mender heals
most often), runs it with `mender simulate`'s engine (embedded Temporal dev server, simulators, worker
and starter in this process) and prints the figures. Nothing is asserted.
Usage: .venv/bin/python bench/fleet.py [--prs 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from starter.simulate import run_simulation  # noqa: E402

FAULT_MIX = [[], ["flaky_checks"], ["automerge_missed"], ["approver_bot_missed"]]


def scenario(prs: int, open_interval: float = 0.01, points_per_minute: int | None = None) -> dict:
    """`prs` bot PRs opened `open_interval` s apart (0.01: the fleet stalls within seconds);
    `points_per_minute`: GitHub's secondary limit on REST points enforced (900 published)."""
    per_group = prs // len(FAULT_MIX)
    groups = [{"count": per_group, "faults": faults} for faults in FAULT_MIX]
    groups[0]["count"] += prs - per_group * len(FAULT_MIX)
    stale = dict.fromkeys(
        [
            "CREATED",
            "CHECKS_PASSED",
            "CHECKS_FAILED",
            "POLICY_EVALUATING",
            "POLICY_PASSED",
            "APPROVED",
            "MERGING",
        ],
        20,
    )
    return {
        "seed": 1,
        "repos": [f"fleet/repo-{i}" for i in range(10)],
        "timing": {
            "ci_start_seconds": 1,
            "ci_seconds": 3,
            "bot_delay_seconds": 1,
            "open_interval_seconds": open_interval,
        },
        "prs": groups,
        # A fleet this size needs more than GitHub's default 5000 API requests an hour per token;
        # 15000 is an Enterprise Cloud installation's limit.
        "github_rate_limit": 15000,
        **({"github_points_per_minute": points_per_minute} if points_per_minute else {}),
        "config": {
            "mode": "act",
            "lifecycle": {"staleness_seconds": {**stale, "CHECKS_RUNNING": 60}, "terminal_grace_seconds": 30},
            "remediation": {"effect_deadline_seconds": 60},
            "breaker": {"min_samples": 50},
            "reconciler": {"enabled": False},
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prs", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fleet.yaml"
        path.write_text(yaml.safe_dump(scenario(args.prs)))
        started = time.monotonic()
        report = asyncio.run(run_simulation(path, ROOT / "mender.yaml", args.timeout))
        wall = time.monotonic() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(report), file=sys.stderr)
    print(
        f"PRs: {args.prs}  merged: {report['prs']['merged']}  needs human: {report['prs']['needs_intervention']}  open: {report['prs']['open']}"
    )
    print(f"wall time: {wall:.0f} s   peak RSS of worker+starter+simulators process: {peak_mb:.0f} MB")
    print(f"actions: {report['actions']}  false positives: {report['false_positive_actions']}")
    stall = report["stall_to_action_seconds"]
    print(f"stall -> remediation: median {stall['median']} s, p95 {stall['p95']} s (thresholds 20 s)")
    print(
        f"open -> merge: median {report['mttm_seconds']['median']} s, p95 {report['mttm_seconds']['p95']} s"
    )


if __name__ == "__main__":
    main()
