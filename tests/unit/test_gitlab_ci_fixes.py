"""Fix plans that edit `.gitlab-ci.yml` (issue 17: GitLab fix MRs like the GitHub workflow-file edits): an
env var default in the global `variables:`, a longer `timeout:` (GitLab's duration text, doubled per
attempt, capped), more memory for Node or the JVM; the rest of the file untouched and still valid YAML."""

from __future__ import annotations

import pytest
import yaml

from domain.ci_healing.gitlab_ci_fixes import GITLAB_CI_FILE, minutes_of, plan_gitlab_fix
from domain.diagnosis.verdict import Category, Diagnosis, FixAction, Tier

CI = """stages: [build, test]

variables:
  PIP_CACHE_DIR: "$CI_PROJECT_DIR/.cache/pip"

unit:
  stage: test
  image: python:3.12
  timeout: 1h 30m
  script:
    - pytest
"""
BARE = """unit:
  stage: test
  script:
    - npm test
"""


def diagnosis(action: FixAction, key_line: str = "", **params: str) -> Diagnosis:
    return Diagnosis(
        category=Category.ENVIRONMENT,
        action=action,
        risk_score=3,
        tier=Tier.LOW,
        confidence=90,
        key_line=key_line,
        params=params,
        explanation="x",
    )


def plan(d: Diagnosis, text: str | None, attempt: int = 1) -> tuple[str | None, str]:
    result = plan_gitlab_fix(d, attempt, lambda path: text if path == GITLAB_CI_FILE else None)
    if not result.edits:
        return None, result.reason
    [edit] = result.edits
    assert edit.path == GITLAB_CI_FILE
    yaml.safe_load(edit.content)  # still valid YAML
    return edit.content, result.description


def test_an_env_default_goes_into_the_global_variables() -> None:
    content, why = plan(diagnosis(FixAction.SET_ENV_DEFAULT, name="TZ", default="UTC"), CI)
    assert content is not None and yaml.safe_load(content)["variables"]["TZ"] == "UTC"
    assert yaml.safe_load(content)["unit"] == yaml.safe_load(CI)["unit"] and "TZ" in why
    bare, _ = plan(diagnosis(FixAction.SET_ENV_DEFAULT, name="TZ", default="UTC"), BARE)
    assert bare is not None and yaml.safe_load(bare)["variables"] == {"TZ": "UTC"}
    assert plan(diagnosis(FixAction.SET_ENV_DEFAULT, name="PIP_CACHE_DIR"), CI)[0] is None  # defined
    assert plan(diagnosis(FixAction.SET_ENV_DEFAULT, name="TZ", default="UTC"), CI, attempt=2)[0] is None
    assert plan(diagnosis(FixAction.SET_ENV_DEFAULT, name="A; rm -rf"), CI)[0] is None


@pytest.mark.parametrize(
    ("text", "attempt", "timeout"),
    [
        (CI, 1, "3h"),  # 1h 30m doubled
        (CI.replace("1h 30m", "4 hours"), 1, "6h"),  # capped at 360 minutes
        (CI.replace("1h 30m", "3600"), 1, "2h"),  # a bare number is seconds
        (BARE, 1, "2h"),  # none: GitLab's default hour, doubled, as `default: timeout:`
        (BARE, 2, "4h"),
    ],
)
def test_the_job_timeout_is_raised(text: str, attempt: int, timeout: str) -> None:
    content, _ = plan(diagnosis(FixAction.INCREASE_TIMEOUT), text, attempt)
    assert content is not None
    loaded = yaml.safe_load(content)
    assert loaded.get("unit", {}).get("timeout") == timeout or loaded["default"]["timeout"] == timeout
    assert loaded["unit"]["script"] == yaml.safe_load(text)["unit"]["script"]


def test_a_timeout_at_the_cap_or_unreadable_goes_no_further() -> None:
    assert plan(diagnosis(FixAction.INCREASE_TIMEOUT), CI.replace("1h 30m", "6h"))[0] is None
    assert plan(diagnosis(FixAction.INCREASE_TIMEOUT), CI.replace("1h 30m", "a while"))[0] is None
    assert "absent" in plan(diagnosis(FixAction.INCREASE_TIMEOUT), None)[1]


@pytest.mark.parametrize(
    ("key_line", "attempt", "name", "value"),
    [
        ("FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory", 1,
         "NODE_OPTIONS", "--max-old-space-size=4096"),
        ("FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory", 2,
         "NODE_OPTIONS", "--max-old-space-size=8192"),
        ("java.lang.OutOfMemoryError: Java heap space", 1, "JAVA_TOOL_OPTIONS", "-Xmx4g"),
    ],
)  # fmt: skip
def test_memory_is_raised_through_a_variable(key_line: str, attempt: int, name: str, value: str) -> None:
    content, _ = plan(diagnosis(FixAction.INCREASE_MEMORY, key_line), CI, attempt)
    assert content is not None and yaml.safe_load(content)["variables"][name] == value
    again, _ = plan(diagnosis(FixAction.INCREASE_MEMORY, key_line), content, attempt + 1)
    assert again is not None and again.count(f"{name}:") == 1  # replaced, not added twice


def test_a_dependency_still_edits_the_manifest() -> None:
    d = diagnosis(FixAction.ADD_DEPENDENCY, module="requests")
    result = plan_gitlab_fix(d, 1, lambda path: "flask\n" if path == "requirements.txt" else None)
    assert [e.path for e in result.edits] == ["requirements.txt"]


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("1h 30m", 90), ("90 minutes", 90), ("2 hours and 10 min", 130), ("3600", 60), ("'45m'", 45),
     ("1 month", None), ("soon", None), ("", None)],
)  # fmt: skip
def test_gitlab_durations(text: str, minutes: float | None) -> None:
    assert minutes_of(text) == minutes
