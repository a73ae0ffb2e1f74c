"""Processes for `bench/ingest.py`: starting and stopping them, and reading their memory and CPU from
/proc. Figures only; nothing is asserted."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(args: list[str], log: Path, env: dict[str, str | None] | None = None) -> subprocess.Popen:
    """Start `args` with `env` on top of ours (a None value removes the variable), output to `log`."""
    # Bytecode is written and reused, as in the image where pip compiled the modules at install: with
    # PYTHONDONTWRITEBYTECODE and no .pyc, the workflow sandbox compiles each workflow's module from
    # source for every new workflow run.
    env = {"PYTHONDONTWRITEBYTECODE": None, **(env or {})}
    merged = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    return subprocess.Popen(args, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=merged)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def peak_rss_mb(process: subprocess.Popen) -> float | None:
    """VmHWM (peak resident set) of a live process, from /proc."""
    try:
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def rss_mb(process: subprocess.Popen) -> float | None:
    """VmRSS (resident set now) of a live process, from /proc."""
    try:
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


async def progress(stored: Callable[[], int], pool: list[subprocess.Popen], every: float = 30) -> None:
    """Every `every` s on stderr: PRs in the store and the workers' RSS now and at peak (a long run's
    memory curve, and a figure even if the run is cut short)."""
    started = time.monotonic()
    while True:
        await asyncio.sleep(every)
        count = await asyncio.to_thread(stored)
        now, peak = total(rss_mb, pool), total(peak_rss_mb, pool)
        print(
            f"progress {time.monotonic() - started:6.0f} s: {count} PRs in the store, worker RSS "
            f"{now or 0:.0f} MB (peak {peak or 0:.0f} MB)",
            file=sys.stderr,
            flush=True,
        )


def cpu_seconds(process: subprocess.Popen) -> float | None:
    """User plus system CPU time a live process has used so far, from /proc."""
    try:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_port(port: int, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise TimeoutError(f"nothing listens on {port}")


def total(measure: Callable[[subprocess.Popen], float | None], pool: list[subprocess.Popen]) -> float | None:
    """The sum of `measure` over the worker processes (None if any could not be measured)."""
    values = [measure(p) for p in pool]
    return None if None in values else sum(v for v in values if v is not None)


class CpuMeter:
    """CPU seconds named processes used since the meter was made (the starter, the dev server)."""

    def __init__(self, processes: dict[str, subprocess.Popen | None]) -> None:
        self.processes = processes
        self.start = {name: p and cpu_seconds(p) for name, p in processes.items()}

    def used(self, name: str) -> float | None:
        process = self.processes[name]
        return None if process is None else minus(cpu_seconds(process), self.start[name])


def minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b
