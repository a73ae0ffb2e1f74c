"""A small OSV vulnerability feed (the `POST /v1/query` API of osv.dev), for scans of fix branches.

Entries are OSV schema 1.x objects (`id`, `summary`, `affected[].package`, `affected[].ranges` with
`introduced`/`fixed` events, `database_specific.severity` as GitHub advisories carry it). A query names a
package and ecosystem, and optionally a version: without one every entry of the package is returned.
"""

from __future__ import annotations

import re
from typing import Any

SEVERITY = {"low": "LOW", "moderate": "MODERATE", "high": "HIGH", "critical": "CRITICAL"}


def _name(name: str, ecosystem: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower() if ecosystem == "PyPI" else name


def osv_entry(v: dict[str, Any]) -> dict[str, Any]:
    """An OSV entry from a scenario's vulnerability (`id`, `package`, `ecosystem`, `severity`, ...)."""
    events: list[dict[str, str]] = [{"introduced": v.get("introduced") or "0"}]
    if v.get("fixed"):
        events.append({"fixed": v["fixed"]})
    return {
        "schema_version": "1.6.0",
        "id": v["id"],
        "modified": "2026-01-01T00:00:00Z",
        "published": "2026-01-01T00:00:00Z",
        "aliases": [],
        "summary": v.get("summary") or f"Vulnerability in {v['package']}",
        "details": v.get("summary") or "",
        "affected": [
            {
                "package": {"ecosystem": v.get("ecosystem", "PyPI"), "name": v["package"]},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
            }
        ],
        "database_specific": {"severity": SEVERITY.get(v.get("severity", "high"), "HIGH")},
    }


def _key(version: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.+-]", version))


def _affects(entry: dict[str, Any], name: str, ecosystem: str, version: str | None) -> bool:
    for affected in entry.get("affected", []):
        package = affected.get("package", {})
        if package.get("ecosystem") != ecosystem or _name(package.get("name", ""), ecosystem) != name:
            continue
        if version is None:
            return True
        for found in affected.get("ranges", []):
            start, end = "0", None
            for event in found.get("events", []):
                start = event.get("introduced", start)
                end = event.get("fixed", end)
            try:
                low = start == "0" or _key(start) <= _key(version)
                high = end is None or _key(version) < _key(end)
            except TypeError:  # versions that do not compare: treat as affected (fail closed)
                return True
            if low and high:
                return True
    return False


def query(entries: list[dict[str, Any]], body: Any) -> dict[str, Any]:
    """The answer to one `/v1/query` body; ValueError for a body OSV would reject."""
    if not isinstance(body, dict) or not isinstance(body.get("package"), dict):
        raise ValueError("a query needs a package")
    package = body["package"]
    name, ecosystem = package.get("name"), package.get("ecosystem")
    if not isinstance(name, str) or not name or not isinstance(ecosystem, str):
        raise ValueError("package.name and package.ecosystem are required")
    version = body.get("version")
    if version is not None and not isinstance(version, str):
        raise ValueError("version must be a string")
    wanted = _name(name, ecosystem)
    vulns = [e for e in entries if _affects(e, wanted, ecosystem, version)]
    return {"vulns": vulns} if vulns else {}
