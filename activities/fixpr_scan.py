"""Mender's own security scan of a fix branch: an OSV audit of the dependencies the fix adds and bandit on
the Python files it changes, in a temporary checkout of those files, within a time limit.

The feed is any OSV-compatible `/v1/query` endpoint (`ci.fix_prs.scan.vulnerability_feed`; the GitHub
simulator serves one). pip-audit speaks the same protocol: `pip-audit -r requirements.txt --no-deps
--disable-pip -s osv --osv-url <feed>` finds the simulator's advisories, but its report drops their
severity (which decides whether a finding blocks a merge) and it needs every requirement pinned, while
a fix adds unpinned ones: the query is made here, with pip-audit's request body.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess  # nosec B404: bandit runs as a subprocess with a fixed argument list
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from activities import fixpr_gitlab
from activities.ci_gitlab import gitlab_errors
from activities.definition import defn
from activities.github import github_client, github_errors
from activities.github_files import read_text
from contracts.fixpr import ScanArgs
from domain.ci_healing.evidence import Finding, ScanReport
from domain.ci_healing.manifests import added, ecosystem_of, findings
from domain.ci_healing.runs import Provider
from runtime.settings import get_settings

log = logging.getLogger("mender.activities.fixpr_scan")
OSV_URL = "https://api.osv.dev/v1/query"
BANDIT_SEVERITIES = {"LOW": "low", "MEDIUM": "medium", "HIGH": "high"}


class ScanTimeout(Exception):
    pass


def feed_url(configured: str | None) -> str:
    settings = get_settings()
    if configured:
        return configured
    if settings.uses_github_simulator:
        return settings.config.github.simulator_url.rstrip("/") + "/osv/v1/query"
    return OSV_URL


@defn(name="fixpr.scan")
def scan(args: ScanArgs) -> ScanReport:
    """Audit the fix's added dependencies and bandit its Python files; never raises for the scan itself
    (a scan that cannot finish reports `ran=False` with the reason, and security counts as missing)."""
    deadline = time.monotonic() + args.config.timeout_seconds
    files = args.files[: args.config.max_files]
    what = f"read {args.pr.project}@{args.head_sha[:12]} to scan"
    gitlab = args.pr.run.provider is Provider.GITLAB
    with gitlab_errors(what) if gitlab else github_errors(what):
        read = fixpr_gitlab.reader(args.pr.project) if gitlab else _github_reader(args.pr.project)
        heads = {path: read(path, args.head_sha) for path in files}
        bases = {path: read(path, args.base) for path in files if ecosystem_of(path)}
    try:
        found: list[Finding] = []
        url = feed_url(args.config.vulnerability_feed)
        for path in bases:
            for dependency in added(path, bases[path], heads[path]):
                found += findings(dependency, _query(url, dependency.query(), deadline))
        python = {p: t for p, t in heads.items() if p.endswith(".py") and t is not None}
        if python:
            found += _bandit(python, deadline)
    except ScanTimeout:
        return ScanReport(
            ran=False, scanned=files, detail=f"timed out after {args.config.timeout_seconds:.0f} s"
        )
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("scan of %s#%s failed: %s", args.pr.project, args.pr.number, exc)
        return ScanReport(ran=False, scanned=files, detail=f"{type(exc).__name__}: {str(exc)[:200]}")
    return ScanReport(ran=True, findings=found, scanned=files)


def _github_reader(project: str) -> Callable[[str, str], str | None]:
    repo = github_client(get_settings(), project).get_repo(project)
    return lambda path, ref: read_text(repo, path, ref)


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise ScanTimeout
    return left


def _query(url: str, body: dict, deadline: float) -> dict:
    try:
        response = httpx.post(url, json=body, timeout=min(10.0, _left(deadline)))
    except httpx.TimeoutException:
        raise ScanTimeout from None
    response.raise_for_status()
    answer = response.json()
    if not isinstance(answer, dict):
        raise ValueError("the vulnerability feed answered with something other than an object")
    return answer


def _bandit(files: dict[str, str], deadline: float) -> list[Finding]:
    """bandit over the changed Python files, written to a fresh directory (no credentials in its env)."""
    with tempfile.TemporaryDirectory(prefix="mender-scan-") as tmp:
        root = Path(tmp).resolve()
        for path, text in files.items():
            target = (root / path).resolve()
            if not target.is_relative_to(root):
                raise ValueError(f"{path} leaves the checkout")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        env = {"PATH": os.environ.get("PATH", ""), "HOME": tmp, "LANG": "C.UTF-8"}
        try:
            done = subprocess.run(  # nosec B603: fixed arguments, no shell
                [sys.executable, "-m", "bandit", "-q", "-f", "json", "-r", "."],
                cwd=root,
                env=env,
                capture_output=True,
                timeout=_left(deadline),
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ScanTimeout from None
    if done.returncode not in (0, 1):
        raise ValueError(f"bandit exited {done.returncode}: {done.stderr.decode(errors='replace')[:200]}")
    report = json.loads(done.stdout or b"{}")
    return [
        Finding(
            tool="bandit",
            id=str(r.get("test_id", "?")),
            target=f"{str(r.get('filename', '?')).removeprefix('./')}:{r.get('line_number', 0)}",
            severity=BANDIT_SEVERITIES.get(str(r.get("issue_severity")), "unknown"),
            summary=str(r.get("issue_text", ""))[:300],
        )
        for r in report.get("results", [])
    ]
