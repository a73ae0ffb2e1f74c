"""Mender's own scan of a fix (issue 17, point 1): which dependencies a manifest change adds, which OSV
answers affect them (real OSV schema shapes, the simulator's feed), and bandit on changed Python files."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from activities.fixpr_scan import ScanTimeout, _bandit
from domain.ci_healing.manifests import Dependency, added, dependencies, findings
from simulators.github.osv import osv_entry, query

ADVISORY = osv_entry({"id": "GHSA-1", "package": "PyYAML", "severity": "high", "summary": "RCE"})
FIXED = osv_entry({"id": "GHSA-2", "package": "requests", "severity": "moderate", "fixed": "2.32.0"})


def test_only_what_the_fix_adds_or_repins_is_audited() -> None:
    before = "requests==2.31.0\n# a comment\n-r base.txt\nflask>=2\n"
    after = before.replace("requests==2.31.0", "requests==2.32.3")
    after += "PyYAML\nuvicorn[standard]==0.30.1 ; python_version>'3'\n"
    found = added("requirements.txt", before, after)
    assert found == [
        Dependency(name="PyYAML", version=None, ecosystem="PyPI"),
        Dependency(name="requests", version="2.32.3", ecosystem="PyPI"),
        Dependency(name="uvicorn", version="0.30.1", ecosystem="PyPI"),
    ]
    npm = added(
        "package.json", '{"dependencies": {"a": "1.0.0"}}', '{"dependencies": {"a": "1.0.0", "b": "*"}}'
    )
    assert npm == [Dependency(name="b", version=None, ecosystem="npm")]
    assert added("README.md", "", "x") == [] and dependencies("package.json", "{not json") == set()


@given(st.text(max_size=300))
def test_any_manifest_text_parses_without_error(text: str) -> None:
    for path in ("requirements.txt", "package.json"):
        assert isinstance(dependencies(path, text), set)


def test_the_feed_answers_by_package_and_version() -> None:
    entries = [ADVISORY, FIXED]
    assert query(entries, {"package": {"name": "pyyaml", "ecosystem": "PyPI"}})["vulns"] == [ADVISORY]
    assert query(entries, {"package": {"name": "requests", "ecosystem": "PyPI"}, "version": "2.31.0"})
    assert query(entries, {"package": {"name": "requests", "ecosystem": "PyPI"}, "version": "2.32.3"}) == {}
    assert query(entries, {"package": {"name": "pyyaml", "ecosystem": "npm"}}) == {}
    with pytest.raises(ValueError):
        query(entries, {"version": "1"})


def test_findings_carry_severity_and_skip_what_an_unpinned_install_escapes() -> None:
    pyyaml = Dependency(name="PyYAML", version=None, ecosystem="PyPI")
    [finding] = findings(pyyaml, {"vulns": [ADVISORY]})
    assert (finding.id, finding.severity, finding.blocking) == ("GHSA-1", "high", True)
    unpinned = Dependency(name="requests", version=None, ecosystem="PyPI")
    assert findings(unpinned, {"vulns": [FIXED]}) == []  # the newest release is fixed
    pinned = Dependency(name="requests", version="2.31.0", ecosystem="PyPI")
    assert [f.severity for f in findings(pinned, {"vulns": [FIXED]})] == ["medium"]
    assert findings(pinned, {"vulns": [{**FIXED, "withdrawn": "2026-01-01T00:00:00Z"}]}) == []
    assert findings(pinned, {}) == []


def test_bandit_runs_on_the_changed_files_in_a_scratch_checkout() -> None:
    code = "import subprocess\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
    found = _bandit({"app/run.py": code}, time.monotonic() + 60)
    assert {"B602", "B404"} <= {f.id for f in found}
    assert all(f.tool == "bandit" and f.target.startswith("app/run.py:") for f in found)
    with pytest.raises(ValueError, match="leaves the checkout"):
        _bandit({"../escape.py": "x = 1\n"}, time.monotonic() + 60)
    with pytest.raises(ScanTimeout):
        _bandit({"a.py": "x = 1\n"}, time.monotonic() - 1)
    assert json.dumps([f.model_dump() for f in found])  # serialisable for the workflow
