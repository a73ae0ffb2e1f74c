"""Mender as separate processes for chaos tests: a Temporal dev server, the GitHub and Slack simulators,
a worker and a starter, each its own OS process on a free loopback port, so a test can kill -9 the
worker, SIGSTOP Temporal, lock the store or break GitHub, and watch the rest cope.

Everything observable goes through what an operator has: the simulators' `/_sim/` endpoints, the store,
the processes' logs (`<data>/<name>.log`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from runtime.serving import free_port
from runtime.temporal import dev_server_args
from store import repository
from store.ci_failures import list_ci_failures
from store.db import engine_for

BIN = Path(sys.executable).parent
SECRET = "chaos-webhook-secret"
POLLING = "worker polling task queue"  # the worker's log line once it takes tasks


def wait_until(what: str, probe: Callable[[], Any], timeout: float = 60.0, every: float = 0.2) -> Any:
    """The first truthy value of `probe()` (errors count as not yet), or TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            if value := probe():
                return value
        except (OSError, httpx.HTTPError) as exc:
            last = exc
        time.sleep(every)
    raise TimeoutError(f"{what} not within {timeout:.0f} s (last error: {last})")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class ProcessStack:
    """Start with `start()`, stop with `stop()`; `config` is laid over the chaos defaults of mender.yaml."""

    def __init__(self, data_dir: Path, config: dict[str, Any]) -> None:
        self.data = data_dir
        self.config = config
        self.ports = {name: free_port() for name in ("temporal", "ui", "starter", "github", "slack")}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.commands: dict[str, list[str]] = {}
        self.database_url = f"sqlite:///{data_dir / 'mender.db'}"
        self.http = httpx.Client(timeout=10)
        self.worker_starts = 0

    @property
    def github_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['github']}"

    @property
    def starter_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['starter']}"

    def env(self) -> dict[str, str]:
        drop = ("GITHUB_TOKEN", "SLACK_BOT_TOKEN", "GITLAB_TOKEN", "OPENAI_API_KEY", "MENDER_DATABASE_URL")
        return {
            **{k: v for k, v in os.environ.items() if k not in drop},
            "MENDER_CONFIG": str(self.data / "mender.yaml"),
            "MENDER_DATABASE_URL": self.database_url,
            "MENDER_TEMPORAL_ADDRESS": f"127.0.0.1:{self.ports['temporal']}",
            "MENDER_WEBHOOK_SECRET": SECRET,
        }

    def start(self) -> None:
        config = {
            **self.config,
            "github": {"simulator_url": self.github_url},
            "slack": {"simulator_url": f"http://127.0.0.1:{self.ports['slack']}/api/"},
            "metrics": {"worker_port": None, "sdk_port": None},
        }
        (self.data / "mender.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        ports = self.ports
        self.spawn("temporal", dev_server_args(self.data / "temporal.db", ports["temporal"], ports["ui"]))
        github = [sys.executable, "-m", "simulators.github", "--port", str(ports["github"])]
        self.spawn("github", [*github, "--webhook-url", f"{self.starter_url}/webhooks/github"])
        self.spawn("slack", [sys.executable, "-m", "simulators.slack", "--port", str(ports["slack"])])
        wait_until("Temporal dev server", lambda: _port_open(ports["temporal"]))
        self.spawn("worker", [str(BIN / "mender"), "worker"])
        self.spawn("starter", [str(BIN / "mender"), "serve", "--port", str(ports["starter"])])
        self.wait_ready()

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Every process answers: starter and simulators over HTTP, the worker polls its task queue."""
        self.wait_worker(timeout)
        wait_until("starter", lambda: self.http.get(f"{self.starter_url}/healthz").is_success, timeout)
        wait_until("GitHub simulator", lambda: self.http.get(f"{self.github_url}/_sim/health").is_success)

    def spawn(self, name: str, args: list[str]) -> None:
        self.worker_starts += name == "worker"
        log = open(self.data / f"{name}.log", "ab")  # noqa: SIM115 (the child owns it)
        self.commands[name] = args
        self.procs[name] = subprocess.Popen(
            args,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a signal to the test's process group reaches none of them
        )  # (no PR_SET_PDEATHSIG: it fires when the spawning *thread* ends, and the Killer's thread does)

    def log(self, name: str) -> str:
        return (self.data / f"{name}.log").read_text(errors="replace")

    # --- faults ---

    def kill(self, name: str) -> int:
        """kill -9 a process and reap it; returns its pid."""
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        return proc.pid

    def restart(self, name: str) -> None:
        """Start a killed process again with the same command (what `mender up`'s supervisor does)."""
        assert self.procs[name].poll() is not None, f"{name} is still running"
        self.spawn(name, self.commands[name])

    def wait_worker(self, timeout: float = 120.0) -> None:
        """Until the worker started last logs that it polls its task queue."""
        wanted = self.worker_starts

        def polling() -> bool:
            assert self.procs["worker"].poll() is None, self.log("worker")[-3000:]
            return self.log("worker").count(POLLING) >= wanted

        wait_until(f"worker (pid {self.procs['worker'].pid}) polling", polling, timeout)

    def pause(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGSTOP)

    def resume(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGCONT)

    def stop(self) -> None:
        for name, proc in reversed(list(self.procs.items())):
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.send_signal(signal.SIGINT if name == "temporal" else signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.http.close()

    # --- what happened ---

    def sim(self, path: str, body: Any = None) -> Any:
        url = f"{self.github_url}/_sim/{path}"
        response = self.http.get(url) if body is None else self.http.post(url, json=body)
        response.raise_for_status()
        return response.json()

    def requests(self, since: float = 0.0) -> list[dict[str, Any]]:
        return self.sim(f"requests?since={since}")

    def prs(self, repo: str) -> list[dict[str, Any]]:
        return [pr for pr in self.sim("report")["prs"] if pr["repo"] == repo]

    def pipelines(self, repo: str) -> list[dict[str, Any]]:
        return [p for p in self.sim("report")["pipelines"] if p["repo"] == repo]

    def mender_states(self, repo: str) -> dict[int, str | None]:
        records = repository.list_prs(engine_for(self.database_url), limit=10_000)
        return {r.number: r.state for r in records if r.repo == repo}

    def ci_outcomes(self, repo: str) -> dict[int, str]:
        failures = list_ci_failures(engine_for(self.database_url), project=repo)
        return {r.run_id: r.outcome for r in failures}
