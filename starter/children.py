"""The child processes of `mender up`: each started with its log in the data folder and made to die with
its parent; a crashed worker or starter started again with backoff (`starter.supervision.Restarts`), any
other child's exit fatal; all stopped together, in the reverse order of their start."""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import time
from pathlib import Path

from starter.supervision import RESTARTED, Restarts

log = logging.getLogger("mender.up")
STOP_GRACE_SECONDS = 10


def die_with_parent() -> None:
    """In the child: get SIGTERM if the supervisor dies, so nothing is left behind."""
    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def stop_process(process: subprocess.Popen, grace: float = 15.0) -> None:
    """SIGTERM one child and wait for it; killed if it has not stopped after `grace` seconds."""
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Children:
    """The supervised children, by name, in the order they were first started."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.running: list[tuple[str, subprocess.Popen]] = []
        self.commands: dict[str, tuple[list[str], dict[str, str]]] = {}  # to start a child again
        self.started_at: dict[str, float] = {}
        self.restarts = Restarts()

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        logfile = open(self.data_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            args,
            env=env,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        names = [n for n, _ in self.running]
        if name in names:  # a restart keeps the child's place (children stop in reverse order)
            self.running[names.index(name)] = (name, proc)
        else:
            self.running.append((name, proc))
        self.commands[name] = (args, env)
        self.started_at[name] = time.monotonic()
        log.info("started %s (pid %d), log in %s", name, proc.pid, logfile.name)

    def supervise(self) -> None:
        """Start crashed workers and starters again (with backoff); any other child's exit is fatal."""
        now = time.monotonic()
        for name, proc in self.running:
            if proc.poll() is None or self.restarts.waiting(name):
                continue
            if name not in RESTARTED:
                raise RuntimeError(
                    f"{name} exited with code {proc.returncode}; see {self.data_dir}/{name}.log"
                )
            delay = self.restarts.crashed(name, now - self.started_at[name], now)
            log.warning(
                "%s (pid %d) exited with code %s; restarting it in %.0f s (see %s/%s.log)",
                name,
                proc.pid,
                proc.returncode,
                delay,
                self.data_dir,
                name,
            )
        for name in self.restarts.ready(now):
            log.warning("restarting %s", name)
            self.spawn(name, *self.commands[name])

    def stop(self) -> None:
        """SIGTERM each (SIGINT for Temporal), last started first; killed after the grace period."""
        for name, proc in reversed(self.running):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT if name == "temporal" else signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, proc in reversed(self.running):
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time: killed", name)
                proc.kill()
                proc.wait()
        if self.running:
            print("stopped: " + ", ".join(name for name, _ in self.running), flush=True)
