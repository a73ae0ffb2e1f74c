"""Fix plans: small edits of manifests and workflow files, never a guessed package name."""

from __future__ import annotations

import json

from domain.ci_healing.fixes import plan_fix
from domain.diagnosis.verdict import Category, Diagnosis, FixAction, Tier

WORKFLOW = """name: CI
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: pytest
"""


def diag(action: FixAction, key_line: str = "error", **params: str) -> Diagnosis:
    return Diagnosis(
        category=Category.DEPENDENCY,
        action=action,
        risk_score=3,
        tier=Tier.LOW,
        confidence=90,
        key_line=key_line,
        params=params,
        explanation="x",
    )


def reader(files: dict[str, str]):
    return files.get


def test_missing_module_adds_its_known_distribution() -> None:
    plan = plan_fix(
        diag(FixAction.ADD_DEPENDENCY, module="yaml"), 1, reader({"requirements.txt": "requests==2\n"}), []
    )
    assert [e.path for e in plan.edits] == ["requirements.txt"]
    assert plan.edits[0].content == "requests==2\nPyYAML\n"


def test_unknown_module_is_never_guessed() -> None:
    plan = plan_fix(
        diag(FixAction.ADD_DEPENDENCY, module="reqeusts"), 1, reader({"requirements.txt": ""}), []
    )
    assert not plan.edits and "no known distribution" in plan.reason


def test_dependency_already_declared_is_not_added_twice() -> None:
    files = {"requirements.txt": "PyYAML>=6\n"}
    plan = plan_fix(
        diag(FixAction.ADD_DEPENDENCY, module="yaml", distribution="PyYAML"), 1, reader(files), []
    )
    assert not plan.edits and "already" in plan.reason
    assert not plan_fix(
        diag(FixAction.ADD_DEPENDENCY, module="yaml"), 2, reader({"requirements.txt": ""}), []
    ).edits


def test_npm_package_goes_into_package_json() -> None:
    files = {"package.json": json.dumps({"name": "x", "dependencies": {"react": "^18"}})}
    plan = plan_fix(diag(FixAction.ADD_DEPENDENCY, package="left-pad"), 1, reader(files), [])
    assert json.loads(plan.edits[0].content)["devDependencies"] == {"left-pad": "*"}


def test_env_default_is_added_to_the_workflow() -> None:
    path = ".github/workflows/ci.yml"
    plan = plan_fix(diag(FixAction.SET_ENV_DEFAULT, name="DATABASE_URL"), 1, reader({path: WORKFLOW}), [path])
    content = plan.edits[0].content
    assert 'env:\n  DATABASE_URL: ""\n\njobs:' in content
    again = plan_fix(diag(FixAction.SET_ENV_DEFAULT, name="DATABASE_URL"), 1, reader({path: content}), [path])
    assert not again.edits  # already defined


def test_env_name_must_be_a_valid_identifier() -> None:
    path = ".github/workflows/ci.yml"
    plan = plan_fix(diag(FixAction.SET_ENV_DEFAULT, name="X; rm -rf /"), 1, reader({path: WORKFLOW}), [path])
    assert not plan.edits


def test_timeouts_double_per_attempt_up_to_a_cap() -> None:
    path = ".github/workflows/ci.yml"
    first = plan_fix(diag(FixAction.INCREASE_TIMEOUT), 1, reader({path: WORKFLOW}), [path])
    assert "    timeout-minutes: 30\n    runs-on:" in first.edits[0].content
    second = plan_fix(diag(FixAction.INCREASE_TIMEOUT), 2, reader({path: first.edits[0].content}), [path])
    assert "timeout-minutes: 60" in second.edits[0].content
    capped = WORKFLOW.replace("    runs-on", "    timeout-minutes: 360\n    runs-on")
    assert not plan_fix(diag(FixAction.INCREASE_TIMEOUT), 3, reader({path: capped}), [path]).edits


def test_memory_for_node_and_java() -> None:
    path = ".github/workflows/ci.yml"
    node = plan_fix(
        diag(FixAction.INCREASE_MEMORY, "JavaScript heap out of memory"), 2, reader({path: WORKFLOW}), [path]
    )
    assert 'NODE_OPTIONS: "--max-old-space-size=8192"' in node.edits[0].content
    java = plan_fix(
        diag(FixAction.INCREASE_MEMORY, "java.lang.OutOfMemoryError: Java heap space"),
        1,
        reader({path: WORKFLOW}),
        [path],
    )
    assert 'JAVA_TOOL_OPTIONS: "-Xmx4g"' in java.edits[0].content


def test_plans_that_are_not_file_edits_have_none() -> None:
    assert "not a file edit" in plan_fix(diag(FixAction.RETRY), 1, reader({}), []).reason


def test_a_flaky_test_is_quarantined_in_the_configured_list() -> None:
    flaky = diag(
        FixAction.QUARANTINE, test="tests/t.py::test_a", quarantine_file=".github/q.txt", score="0.6"
    )
    plan = plan_fix(flaky, 1, reader({}), [])
    assert [e.path for e in plan.edits] == [".github/q.txt"] and plan.edits[0].content.endswith(
        "tests/t.py::test_a\n"
    )
    assert plan.title == "Quarantine flaky test tests/t.py::test_a"
    listed = plan_fix(flaky, 1, reader({".github/q.txt": "tests/t.py::test_b"}), [])
    assert listed.edits[0].content == "tests/t.py::test_b\ntests/t.py::test_a\n"
    again = plan_fix(flaky, 1, reader({".github/q.txt": "tests/t.py::test_a\n"}), [])
    assert not again.edits and "already quarantined" in again.reason
    assert not plan_fix(flaky, 2, reader({}), []).edits  # one quarantine, no escalation of it
    assert not plan_fix(diag(FixAction.QUARANTINE), 1, reader({}), []).edits  # no test named
    outside = diag(FixAction.QUARANTINE, test="t", quarantine_file="../../etc/passwd")
    assert not plan_fix(outside, 1, reader({}), []).edits
