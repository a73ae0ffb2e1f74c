"""`pip-audit` of `requirements.lock`, skipped (exit 0, with the reason) when the registry cannot answer.

pip-audit asks PyPI's JSON API for each pinned release's known vulnerabilities. When the registry is
unreachable, or answers no per-release query (a mirror or proxy that serves packages only), every
dependency comes back "skipped": that is no audit, so it is reported as skipped, never as a pass and
never as a failure. Known vulnerabilities fail (exit 1). Usage: python tools/supply_chain.py [LOCK]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_SECONDS = 120  # the whole audit; a registry that hangs is reported as skipped


def audit(lock: Path) -> int:
    command = [sys.executable, "-m", "pip_audit", "-r", str(lock), "--require-hashes", "--disable-pip"]
    command += ["--no-deps", "--progress-spinner", "off", "-f", "json", "--timeout", "20"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        print(f"pip-audit skipped: no answer from the registry within {TIMEOUT_SECONDS} s")
        return 0
    try:
        report = json.loads(done.stdout)
    except ValueError:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"pip-audit skipped: the registry could not be asked ({reason[:300]})")
        return 0
    dependencies = report.get("dependencies", [])
    audited = [d for d in dependencies if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    if not audited:
        print(f"pip-audit skipped: the registry answered no vulnerability query ({len(dependencies)} pins)")
        return 0
    for dependency in vulnerable:
        ids = ", ".join(v["id"] for v in dependency["vulns"])
        print(f"VULNERABLE {dependency['name']}=={dependency['version']}: {ids}")
    skipped = len(dependencies) - len(audited)
    print(
        f"pip-audit: {len(audited)} pins audited, {skipped} skipped, {len(vulnerable)} with known vulnerabilities"
    )
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(audit(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "requirements.lock"))
