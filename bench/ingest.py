"""Webhook ingest throughput, side by side with its floor, on ONE Temporal dev server.

Floor: a bare FastAPI app that verifies the HMAC signature and signal-with-starts a one-signal workflow
(`bench/floor/app.py`), and a bare worker running it (`bench/floor/worker.py`). Then Mender's own
processes (`mender serve`, `mender worker`) on the same server, with the same N and concurrency of
signed bot `pull_request.opened` webhooks. Each side runs as separate processes.

Printed per side: accepted/s, HTTP p50/p99, seconds until every PR is in the store (Mender only) and
answers a `status` query, the store's lag behind the last 202, peak RSS of the worker, and the ratios
Mender/floor. Figures are printed, never asserted.

With `--workers K` each side runs K worker processes on its task queue; Mender's store is then checked
for journal lines or `pr.detected` audit rows written twice for one opening ("doubled", must be 0).

Usage: .venv/bin/python bench/ingest.py [--server file|memory] [--n 300] [--concurrency 16] [--burst]
       [--workers K]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest_load import (  # noqa: E402
    history_events,
    repo_name,
    send,
    signed_openings,
    wait_queryable,
    wait_until,
)
from bench.ingest_procs import (  # noqa: E402
    CpuMeter,
    cpu_seconds,
    free_port,
    minus,
    peak_rss_mb,
    progress,
    spawn,
    stop,
    total,
    wait_port,
)
from bench.ingest_report import Side, report  # noqa: E402
from contracts.visibility import SEARCH_ATTRIBUTES  # noqa: E402
from runtime.temporal import temporal_binary  # noqa: E402

BIN = Path(sys.executable).parent
SECRET = f"bench-{uuid.uuid4().hex}"
LONG = 86_400  # staleness thresholds: no remediation runs during the bench


async def wait_pollers(
    client: Client, task_queue: str, pool: list[subprocess.Popen], timeout: float = 240
) -> None:
    """Until every worker process of `pool` polls `task_queue` for workflow tasks."""
    deadline = time.monotonic() + timeout
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    while time.monotonic() < deadline:
        for process in pool:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args} exited with {process.returncode}")
        pollers = (await client.workflow_service.describe_task_queue(request)).pollers
        if len({p.identity for p in pollers}) >= len(pool):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"not all {len(pool)} workers poll {task_queue}")


async def connect(address: str, server: subprocess.Popen, timeout: float = 60) -> Client:
    """A client once the dev server's frontend answers (it listens before it is healthy)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await Client.connect(address, data_converter=pydantic_data_converter)
        except RuntimeError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


# What the deployment sets too (`deploy/temporal-dynamicconfig.yaml`): an activity a workflow task
# schedules on its own task queue is handed to the worker in the answer to that task, not through
# matching (one poll and one task dispatch fewer per store call). The floor schedules no activity.
EAGER_ACTIVITIES = "system.enableActivityEagerExecution=true"


def start_server(mode: str, tmp: Path, eager: bool = True) -> tuple[subprocess.Popen, str]:
    port = free_port()
    args = [str(temporal_binary()), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port)]
    args += ["--headless", "--log-level", "warn"]
    if eager:
        args += ["--dynamic-config-value", EAGER_ACTIVITIES]
    if mode == "file":
        args += ["--db-filename", str(tmp / "temporal.db")]
    for key in SEARCH_ATTRIBUTES:
        kind = key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_").capitalize()
        args += ["--search-attribute", f"{key.name}={kind}"]
    return spawn(args, tmp / "temporal.log"), f"127.0.0.1:{port}"


async def run_floor(
    client: Client,
    address: str,
    tmp: Path,
    n: int,
    concurrency: int,
    first: int,
    workers: int = 1,
    redeliver: int = 0,
    server: subprocess.Popen | None = None,
) -> Side:
    queue, port = f"floor-{uuid.uuid4().hex[:8]}", free_port()
    command = [str(BIN / "python"), "-m", "bench.floor.worker", address, queue]
    pool = [spawn(command, tmp / f"floor-worker-{i}.log") for i in range(workers)]
    env = {"FLOOR_TEMPORAL_ADDRESS": address, "FLOOR_TASK_QUEUE": queue, "FLOOR_WEBHOOK_SECRET": SECRET}
    uvicorn = [str(BIN / "python"), "-m", "uvicorn", "bench.floor.app:app", "--port", str(port)]
    app = spawn([*uvicorn, "--log-level", "warning"], tmp / "floor-app.log", env)
    try:
        await wait_port(port, app)
        await wait_pollers(client, queue, pool)
        idle_cpu = total(cpu_seconds, pool)  # start-up: imports, connecting, registering
        others = CpuMeter({"starter": app, "server": server})
        requests = signed_openings(n, SECRET, first)
        load = await send(f"http://127.0.0.1:{port}/webhooks/github", requests, concurrency, redeliver)
        ids = [f"floor/{repo_name()}/{number}" for number in load.accepted_numbers]  # a 503 starts nothing
        query_at = await wait_queryable(client, ids, lambda a: a.get("events", 0) >= 1, timeout=max(300, n))
        side = Side(
            "floor", load, None, query_at, total(peak_rss_mb, pool), await history_events(client, ids[-1])
        )
        side.worker_cpu_s = minus(total(cpu_seconds, pool), idle_cpu)
        side.starter_cpu_s, side.server_cpu_s = others.used("starter"), others.used("server")
        return side
    finally:
        stop(app)
        for worker in pool:
            stop(worker)


def mender_env(address: str, tmp: Path) -> tuple[dict[str, str | None], str]:
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    config = yaml.safe_load((ROOT / "mender.yaml").read_text())
    config.update(
        mode="act",
        repositories=[],
        temporal={"address": address, "namespace": "default", "task_queue": queue},
        reconciler={"enabled": False, "interval_seconds": 3600},
    )
    config["bots"]["authors"] = ["dependabot[bot]"]
    config["lifecycle"]["staleness_seconds"] = dict.fromkeys(config["lifecycle"]["staleness_seconds"], LONG)
    config["ci"].update(enabled=False, playbooks_dir=str(ROOT / "playbooks"))
    config["audit"]["archive_dir"] = str(tmp / "audit-archive")
    path = tmp / "mender.yaml"
    path.write_text(yaml.safe_dump(config))
    env: dict[str, str | None] = {
        "MENDER_CONFIG": str(path),
        "MENDER_DATABASE_URL": f"sqlite:///{tmp / 'mender.db'}",
        "MENDER_TEMPORAL_ADDRESS": address,
        "MENDER_WEBHOOK_SECRET": SECRET,
    }
    for secret in ("GITHUB_TOKEN", "SLACK_BOT_TOKEN", "GITLAB_TOKEN", "OPENAI_API_KEY"):
        env[secret] = None  # no real service: the simulators' URLs from the configuration
    return env, queue


def profilers(tmp: Path, processes: dict[str, subprocess.Popen]) -> list[subprocess.Popen]:
    """py-spy (if installed) recording each process's stacks, collapsed, into tmp/<name>.folded."""
    py_spy = BIN / "py-spy"
    if not py_spy.exists():
        print("--profile: py-spy is not installed (.venv/bin/pip install py-spy)", file=sys.stderr)
        return []
    return [
        spawn(
            [
                str(py_spy),
                "record",
                "-p",
                str(p.pid),
                "-r",
                "50",
                "-f",
                "raw",
                "-o",
                str(tmp / f"{name}.folded"),
            ],
            tmp / f"py-spy-{name}.log",
        )
        for name, p in processes.items()
    ]


async def run_mender(
    client: Client,
    address: str,
    tmp: Path,
    n: int,
    concurrency: int,
    first: int,
    profile: bool = False,
    workers: int = 1,
    redeliver: int = 0,
    server: subprocess.Popen | None = None,
    tuning: dict[str, str] | None = None,
) -> Side:
    env, queue = mender_env(address, tmp)
    port = free_port()
    # With worker settings to try (`--worker-cache`, `--workflow-slots`, `--sticky-timeout`, `--unsandboxed`)
    # the worker runs through `bench/ingest_worker.py`, which passes them on; without them (or with only
    # `--activity-slots`, an environment variable) it is `mender worker` as deployed.
    worker_command = [str(BIN / "mender"), "worker"]
    if tuning:
        env = {**env, **tuning}
        if set(tuning) - {"MENDER_WORKER_ACTIVITY_SLOTS"}:
            worker_command = [str(BIN / "python"), "-m", "bench.ingest_worker"]
    pool = [spawn(worker_command, tmp / f"mender-worker-{i}.log", env) for i in range(workers)]
    app = spawn([str(BIN / "mender"), "serve", "--port", str(port)], tmp / "mender-serve.log", env)
    from sqlalchemy import func
    from sqlmodel import Session, select

    from store.db import engine_for
    from store.models import PullRequestRecord

    engine = engine_for(f"sqlite:///{tmp / 'mender.db'}")

    def stored() -> int:
        with Session(engine) as session:
            return session.exec(select(func.count()).select_from(PullRequestRecord)).one()

    try:
        await wait_port(port, app)
        await wait_pollers(client, queue, pool)
        idle_cpu = total(cpu_seconds, pool)  # start-up: imports, connecting, registering
        spies = profilers(tmp, {"mender-worker": pool[0], "mender-serve": app}) if profile else []
        others = CpuMeter({"starter": app, "server": server})
        requests = signed_openings(n, SECRET, first)
        expected = [n]  # every PR, until the answers say how many were accepted (a 503 starts nothing)
        watch = asyncio.create_task(wait_until(stored, lambda: expected[0], timeout=max(600, 2 * n)))
        sampler = asyncio.create_task(progress(stored, pool))
        load = await send(f"http://127.0.0.1:{port}/webhooks/github", requests, concurrency, redeliver)
        expected[0] = load.accepted
        ids = [f"pr/{repo_name()}/{number}" for number in load.accepted_numbers]
        query_at = await wait_queryable(
            client, ids, lambda a: a.get("state") is not None, timeout=max(600, 2 * n)
        )
        side = Side("mender", load, await watch, query_at, total(peak_rss_mb, pool))
        side.worker_cpu_s = minus(total(cpu_seconds, pool), idle_cpu)
        side.starter_cpu_s, side.server_cpu_s = others.used("starter"), others.used("server")
        side.history = await history_events(client, ids[-1])
        side.doubled = await asyncio.to_thread(doubled_rows, engine)
        side.store_rows = await asyncio.to_thread(rows_by_table, engine)
        sampler.cancel()
        for spy in spies:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        return side
    finally:
        stop(app)
        for worker in pool:
            stop(worker)


def rows_by_table(engine: Engine) -> dict[str, int]:
    """Rows in each non-empty table of Mender's store (the writes the openings made)."""
    from sqlalchemy import inspect, text

    with engine.connect() as connection:
        counts = {
            table: connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
            for table in inspect(engine).get_table_names()
        }
    return {table: count for table, count in counts.items() if count}


def doubled_rows(engine: Engine) -> int:
    """Journal lines and `pr.detected` audit rows stored more than once for the same PR opening."""
    from sqlmodel import Session, func, select

    from store.audit import AuditLogRecord
    from store.models import PREventRecord

    def extra(column: Any, where: Any) -> int:
        counts = select(column, func.count()).where(where).group_by(column).having(func.count() > 1)
        with Session(engine) as session:
            return sum(c - 1 for _, c in session.exec(counts).all())

    return extra(PREventRecord.pr_key, PREventRecord.type == "opened") + extra(
        AuditLogRecord.target, AuditLogRecord.action == "pr.detected"
    )


async def main(
    server: str,
    n: int,
    concurrency: int,
    rounds: int,
    keep: bool,
    profile: bool,
    workers: int,
    skip_floor: bool = False,
    redeliver: int = 0,
    eager: bool = True,
    tuning: dict[str, str] | None = None,
) -> None:
    folder = contextlib.nullcontext(tempfile.mkdtemp(prefix="bench-ingest-")) if keep else None
    with folder or tempfile.TemporaryDirectory(prefix="bench-ingest-") as name:
        tmp = Path(name)
        if keep:
            print(f"logs and databases kept in {tmp}")
        process, address = start_server(server, tmp, eager)
        try:
            await wait_port(int(address.rsplit(":", 1)[1]), process)
            client = await connect(address, process)
            results = []
            for i in range(rounds):  # each round its own PR numbers, task queues and store
                first, folder = 1 + 2 * i * n, tmp / f"round-{i + 1}"
                folder.mkdir()
                floor = (
                    None
                    if skip_floor
                    else await run_floor(
                        client, address, folder, n, concurrency, first, workers, redeliver, process
                    )
                )
                mender = await run_mender(
                    client,
                    address,
                    folder,
                    n,
                    concurrency,
                    first + n,
                    profile,
                    workers,
                    redeliver,
                    process,
                    tuning,
                )
                results.append((floor, mender))
            report(results, n, concurrency, server, workers)
            print(f"dev server: eager activity execution {'on' if eager else 'off'}")
            if tuning:
                print("Mender's worker: " + ", ".join(f"{k}={v}" for k, v in tuning.items()))
        except BaseException:
            for log in sorted(tmp.glob("**/*.log")):
                print(f"--- {log.name} (tail)\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
            raise
        finally:
            stop(process)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server", choices=("file", "memory"), default="file")
    parser.add_argument(
        "--n", type=int, default=None, help="webhooks per side (default 300; 2000 with --burst)"
    )
    parser.add_argument("--concurrency", type=int, default=None, help="senders (default 16; 32 with --burst)")
    parser.add_argument("--burst", action="store_true", help="2,000 webhooks at concurrency 32")
    parser.add_argument("--rounds", type=int, default=1, help="floor then Mender, this many times: medians")
    parser.add_argument("--workers", type=int, default=1, help="worker processes per side (default 1)")
    parser.add_argument(
        "--skip-floor", action="store_true", help="Mender only (e.g. --n 10000 for its memory)"
    )
    parser.add_argument(
        "--redeliver",
        type=int,
        default=0,
        help="send a webhook answered 503 again, up to this many times (as GitHub's redelivery)",
    )
    parser.add_argument(
        "--no-eager", action="store_true", help="the dev server without eager activity execution"
    )
    parser.add_argument(
        "--worker-cache", type=int, help="Mender's worker: max_cached_workflows (SDK default 1,000)"
    )
    parser.add_argument(
        "--workflow-slots", type=int, help="Mender's worker: max_concurrent_workflow_tasks (SDK default)"
    )
    parser.add_argument(
        "--activity-slots", type=int, help="Mender's worker: MENDER_WORKER_ACTIVITY_SLOTS (default 32)"
    )
    parser.add_argument(
        "--sticky-timeout",
        type=float,
        help="Mender's worker: sticky_queue_schedule_to_start_timeout in seconds (SDK default 10)",
    )
    parser.add_argument(
        "--unsandboxed", action="store_true", help="Mender's worker: workflow code without the sandbox"
    )
    parser.add_argument("--keep", action="store_true", help="keep the processes' logs and databases")
    parser.add_argument("--profile", action="store_true", help="py-spy Mender's processes (implies --keep)")
    args = parser.parse_args()
    n = args.n or (2000 if args.burst else 300)
    concurrency = args.concurrency or (32 if args.burst else 16)
    keep = args.keep or args.profile
    tuning = {
        variable: str(value)
        for variable, value in (
            ("BENCH_WORKER_CACHE", args.worker_cache),
            ("BENCH_WORKFLOW_SLOTS", args.workflow_slots),
            ("MENDER_WORKER_ACTIVITY_SLOTS", args.activity_slots),
            ("BENCH_STICKY_TIMEOUT_S", args.sticky_timeout),
            ("BENCH_UNSANDBOXED", int(args.unsandboxed)),
        )
        if value
    }
    asyncio.run(
        main(
            args.server,
            n,
            concurrency,
            args.rounds,
            keep,
            args.profile,
            args.workers,
            args.skip_floor,
            args.redeliver,
            not args.no_eager,
            tuning,
        )
    )
