"""Dependencies a fix adds to a manifest (requirements.txt, package.json), and which OSV entries affect them.

Pure parsing for Mender's own dependency audit: only what the fix adds or changes is audited (what was
already on the base branch is not the fix's doing). An unpinned dependency installs the newest release,
so only vulnerabilities with no fixed version affect it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.ci_healing.evidence import Finding

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:==\s*([\w.!+*-]+))?")
SEVERITIES = {"low": "low", "moderate": "medium", "medium": "medium", "high": "high", "critical": "critical"}
ECOSYSTEMS = {"requirements.txt": "PyPI", "package.json": "npm"}


class Dependency(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    version: str | None  # pinned exactly, else None
    ecosystem: str  # PyPI, npm

    @property
    def target(self) -> str:
        return f"{self.name}=={self.version}" if self.version else f"{self.name} (unpinned)"

    def query(self) -> dict[str, Any]:
        """The OSV `/v1/query` body (the same shape pip-audit sends)."""
        body: dict[str, Any] = {"package": {"name": self.name, "ecosystem": self.ecosystem}}
        if self.version:
            body["version"] = self.version
        return body


def ecosystem_of(path: str) -> str | None:
    return ECOSYSTEMS.get(path.rsplit("/", 1)[-1])


def dependencies(path: str, text: str | None) -> set[Dependency]:
    """The dependencies declared in the manifest `path` (empty for an unknown manifest or bad JSON)."""
    ecosystem = ecosystem_of(path)
    if ecosystem is None or not text:
        return set()
    if ecosystem == "npm":
        try:
            data = json.loads(text)
        except ValueError:
            return set()
        if not isinstance(data, dict):  # valid JSON but not a manifest (`0`, `[]`, `"x"`)
            return set()
        found = set()
        for section in ("dependencies", "devDependencies"):
            declared = data.get(section)
            for name, spec in declared.items() if isinstance(declared, dict) else ():
                version = spec if isinstance(spec, str) and re.fullmatch(r"\d+(\.\d+)*", spec) else None
                found.add(Dependency(name=name, version=version, ecosystem=ecosystem))
        return found
    found = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        if not line.strip() or line.lstrip().startswith("-"):
            continue
        if match := _REQUIREMENT.match(line):
            found.add(Dependency(name=match[1], version=match[2], ecosystem=ecosystem))
    return found


def added(path: str, before: str | None, after: str | None) -> list[Dependency]:
    """What the change adds or re-pins in `path`, sorted by name."""
    return sorted(dependencies(path, after) - dependencies(path, before), key=lambda d: d.name.lower())


def findings(dependency: Dependency, answer: dict[str, Any]) -> list[Finding]:
    """The findings of one OSV answer (`{"vulns": [...]}`) for `dependency`; withdrawn entries skipped."""
    result = []
    for vuln in answer.get("vulns") or []:
        if not isinstance(vuln, dict) or vuln.get("withdrawn") or not vuln.get("id"):
            continue
        if dependency.version is None and _fixed(vuln, dependency.name):
            continue  # the newest release (what an unpinned install gets) is not affected
        severity = str((vuln.get("database_specific") or {}).get("severity") or "unknown").lower()
        result.append(
            Finding(
                tool="osv",
                id=str(vuln["id"]),
                target=dependency.target,
                severity=SEVERITIES.get(severity, "unknown"),
                summary=str(vuln.get("summary") or vuln.get("details") or "")[:300],
            )
        )
    return result


def _fixed(vuln: dict[str, Any], name: str) -> bool:
    """True when every affected range of `name` names a fixed version."""
    ranges = [
        r
        for a in vuln.get("affected") or []
        if (a.get("package") or {}).get("name", "").lower() == name.lower()
        for r in a.get("ranges") or []
    ]
    return bool(ranges) and all(any("fixed" in e for e in r.get("events") or []) for r in ranges)
