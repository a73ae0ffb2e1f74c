"""Issue 17: a human's fix of a GitLab failure in `.gitlab-ci.yml` is learned when it only adds or
changes `variables:` (env defaults, memory) or raises a `timeout:`; anything else is refused."""

from __future__ import annotations

import pytest
import yaml

from domain.ci_healing.learn_changes import ChangedFile, Learned, Refused, read_change
from domain.ci_healing.learned import Ecosystem
from domain.ci_healing.learned_apply import plan_learned
from tests.unit.test_learned_fixes import fix

CI = """stages: [test]
variables:
  PIP_CACHE_DIR: .cache
default:
  timeout: 30m
unit:
  stage: test
  script:
    - pytest
"""


def change(before: str, after: str, path: str = ".gitlab-ci.yml") -> list[ChangedFile]:
    return [ChangedFile(path, "modified", 2, 1, before, after)]


@pytest.mark.parametrize(
    ("after", "edits"),
    [
        pytest.param(
            CI.replace("variables:\n", "variables:\n  TZ: UTC\n"),
            [("workflow_env", "TZ", "UTC")],
            id="global",
        ),
        pytest.param(
            CI.replace("  stage: test\n", "  stage: test\n  variables:\n    KUBERNETES_MEMORY_LIMIT: 4Gi\n"),
            [("workflow_env", "KUBERNETES_MEMORY_LIMIT", "4Gi")],
            id="job-memory",
        ),
        pytest.param(
            CI.replace("variables:\n", "variables:\n  MODE:\n    value: ci\n    description: run mode\n"),
            [("workflow_env", "MODE", "ci")],
            id="described-variable",
        ),
        pytest.param(
            CI.replace("timeout: 30m", "timeout: 1h 30m"), [("timeout", "default", "90")], id="default"
        ),
        pytest.param(
            CI.replace("  stage: test\n", "  stage: test\n  timeout: 2 hours\n"),
            [("timeout", "unit", "120")],
            id="job-timeout",
        ),
    ],
)
def test_variables_and_raised_timeouts_are_learned(after: str, edits: list[tuple[str, str, str]]) -> None:
    found = read_change(change(CI, after))
    assert isinstance(found, Learned), found
    assert [(e.kind.value, e.name, e.value) for e in found.edits] == edits
    assert found.ecosystem is Ecosystem.GITLAB_CI and all(e.path == ".gitlab-ci.yml" for e in found.edits)


def test_a_manifest_fixed_with_the_ci_file_is_a_dependency_fix() -> None:
    files = [
        ChangedFile("requirements.txt", "modified", 1, 0, "flask\n", "flask\nPyYAML==6.0\n"),
        *change(CI, CI.replace("variables:\n", "variables:\n  TZ: UTC\n")),
    ]
    found = read_change(files)
    assert isinstance(found, Learned) and found.ecosystem is Ecosystem.PYTHON and len(found.edits) == 2


@pytest.mark.parametrize(
    ("after", "reason"),
    [
        pytest.param(
            CI.replace("- pytest", "- pytest || true"), "scripts, stages or rules changed", id="script"
        ),
        pytest.param(
            CI.replace("  PIP_CACHE_DIR: .cache\n", "  OTHER: x\n"), "variable was removed", id="removed"
        ),
        pytest.param(CI.replace("timeout: 30m", "timeout: 10m"), "was lowered", id="lowered"),
        pytest.param(CI.replace("timeout: 30m", "timeout: soon"), "not a duration", id="unreadable"),
        pytest.param(CI.replace("default:\n  timeout: 30m\n", "default: {}\n"), "was removed", id="dropped"),
        pytest.param("unit: [", "not a valid GitLab CI file", id="broken-yaml"),
    ],
)
def test_other_ci_file_changes_are_refused_with_the_reason(after: str, reason: str) -> None:
    found = read_change(change(CI, after))
    assert isinstance(found, Refused) and reason in found.reason, found


def test_a_learned_ci_file_fix_replays_as_gitlab_ci_yaml() -> None:
    """Learned from one project's `.gitlab-ci.yml`, replayed on another's: GitLab's keys, not Actions'."""
    after = CI.replace("variables:\n", "variables:\n  TZ: UTC\n").replace("timeout: 30m", "timeout: 2h")
    found = read_change(change(CI, after))
    assert isinstance(found, Learned)
    other = "variables:\n  A: '1'\nunit:\n  timeout: 45m\n  script: [pytest]\n"
    plan = plan_learned(fix(*found.edits), {".gitlab-ci.yml": other}.get, [])
    [edit] = plan.edits
    replayed = yaml.safe_load(edit.content)
    assert replayed["variables"] == {"TZ": "UTC", "A": "1"} and replayed["unit"]["timeout"] == "2h"
    assert "env" not in replayed and "timeout-minutes" not in edit.content
    again = plan_learned(fix(*found.edits), {".gitlab-ci.yml": edit.content}.get, [])
    assert not again.edits  # already in place
    bare = plan_learned(fix(*found.edits), {".gitlab-ci.yml": "unit:\n  script: [pytest]\n"}.get, [])
    assert yaml.safe_load(bare.edits[0].content)["default"] == {"timeout": "2h"}
