"""Learning from human fixes: signatures, reading a change, replaying it elsewhere, exporting it."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.ci_healing.config import RiskConfig
from domain.ci_healing.learn_changes import ChangedFile, Learned, Refused, read_change
from domain.ci_healing.learned import (
    Ecosystem,
    EditKind,
    EditTemplate,
    LearnedFix,
    learned_diagnosis,
    match_learned,
    not_learnable,
    promoted,
    signature_of,
    starts_in_review,
)
from domain.ci_healing.learned_apply import export_yaml, plan_learned
from domain.ci_healing.outcomes import plan_summary
from domain.ci_healing.risk import Verdict, gate
from domain.diagnosis.playbooks import parse_playbook
from domain.diagnosis.verdict import Category, FixAction, Source
from tests.unit.test_risk import diagnosis

KEY = "2026-12-07T10:00:01.1234567Z ModuleNotFoundError: No module named 'acme_sdk' (/home/runner/work/api/api/app/x.py:12)"
WORKFLOW = (
    "name: CI\non:\n  push:\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make test\n"
)


def change(path: str, before: str | None, after: str | None, status: str = "modified") -> ChangedFile:
    lines = abs(len((after or "").splitlines()) - len((before or "").splitlines())) or 1
    return ChangedFile(path=path, status=status, additions=lines, deletions=0, before=before, after=after)


def fix(
    *edits: EditTemplate, key: str = KEY, category: Category = Category.DEPENDENCY, **kw: object
) -> LearnedFix:
    signature = signature_of(key, category, Ecosystem.PYTHON)
    return LearnedFix(id=kw.pop("id", 1), signature=signature, edits=list(edits), **kw)  # type: ignore[arg-type]


REQ = EditTemplate(kind=EditKind.REQUIREMENT, path="requirements.txt", name="acme-sdk", value="acme-sdk==2.1")


def test_signatures_make_paths_numbers_and_hashes_parameters() -> None:
    signature = signature_of(KEY, Category.DEPENDENCY, Ecosystem.PYTHON)
    assert signature.template == "ModuleNotFoundError: No module named 'acme_sdk' ({path1}:{n1})"
    other_repo = "ModuleNotFoundError: No module named 'acme_sdk' (/home/runner/work/web/web/src/y.py:301)"
    assert signature.matches(other_repo)
    assert not signature.matches("ModuleNotFoundError: No module named 'requests' (/a/b.py:1)")
    assert signature_of("a {b} c", Category.UNKNOWN, Ecosystem.PYTHON).template == "a {{b}} c"
    versions = signature_of(
        "Could not find artifact com.acme:core:jar:1.4.2 in central", Category.DEPENDENCY, Ecosystem.MAVEN
    )
    assert versions.matches("Could not find artifact com.acme:core:jar:1.5.0 in central")


@pytest.mark.parametrize(
    ("files", "edits", "ecosystem"),
    [
        pytest.param(
            [change("requirements.txt", "flask==3.0\n", "flask==3.0\nacme-sdk==2.1\n")],
            [("requirement", "acme-sdk", "acme-sdk==2.1")],
            Ecosystem.PYTHON,
            id="dependency-added",
        ),
        pytest.param(
            [change("requirements-dev.txt", "urllib3>=1\n# tools\n", "urllib3==1.26.18\n# tools\n")],
            [("requirement", "urllib3", "urllib3==1.26.18")],
            Ecosystem.PYTHON,
            id="dependency-pinned",
        ),
        pytest.param(
            [
                change(
                    "package.json",
                    '{"name": "w", "devDependencies": {}}',
                    '{"name": "w", "devDependencies": {"left-pad": "^1.3.0"}}',
                )
            ],
            [("npm_dependency", "left-pad", "^1.3.0")],
            Ecosystem.NODE,
            id="npm-dependency",
        ),
        pytest.param(
            [
                change(
                    "pom.xml",
                    "<project><dependencies></dependencies></project>",
                    "<project><dependencies><dependency><groupId>com.acme</groupId><artifactId>core</artifactId>"
                    "<version>1.4</version></dependency></dependencies></project>",
                )
            ],
            [("maven_dependency", "core", "1.4")],
            Ecosystem.MAVEN,
            id="maven-dependency",
        ),
        pytest.param(
            [
                change(
                    ".github/workflows/ci.yml", WORKFLOW, WORKFLOW.replace("jobs:", "env:\n  TZ: UTC\njobs:")
                )
            ],
            [("workflow_env", "TZ", "UTC")],
            Ecosystem.ACTIONS,
            id="env-var",
        ),
        pytest.param(
            [
                change(
                    ".github/workflows/ci.yml",
                    WORKFLOW,
                    WORKFLOW.replace("    runs-on", "    timeout-minutes: 90\n    runs-on"),
                )
            ],
            [("timeout", "test", "90")],
            Ecosystem.ACTIONS,
            id="timeout-raised",
        ),
    ],
)
def test_small_replayable_changes_are_learned(
    files: list[ChangedFile], edits: list[tuple[str, str, str]], ecosystem: Ecosystem
) -> None:
    found = read_change(files)
    assert isinstance(found, Learned), found
    assert [(e.kind.value, e.name, e.value) for e in found.edits] == edits
    assert found.ecosystem is ecosystem


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ([change("app/models.py", "a = 1\n", "a = 2\n")], "application code is never learned"),
        (
            [change("requirements.txt", "a\n", "a\nb\n"), change("src/x.js", "1", "2")],
            "src/x.js is not a dependency manifest",
        ),
        ([change("requirements.txt", "a\nb\n", "a\n")], "b removed"),
        (
            [change("package.json", '{"scripts": {"t": "x"}}', '{"scripts": {"t": "y"}}')],
            "more than dependencies",
        ),
        (
            [
                change(
                    ".github/workflows/ci.yml", WORKFLOW, WORKFLOW.replace("make test", "make test || true")
                )
            ],
            "steps or triggers changed",
        ),
        ([change("requirements.txt", None, None, status="removed")], "removed"),
        ([ChangedFile("requirements.txt", "modified", 30, 0, "", "x\n" * 30)], "30 lines changed"),
        ([], "no file changed"),
        ([change("requirements.txt", "a\n", "a\n# pinned later\n")], "nothing replayable"),
    ],
)
def test_other_changes_are_refused_with_the_reason(files: list[ChangedFile], reason: str) -> None:
    found = read_change(files)
    assert isinstance(found, Refused) and reason in found.reason


def test_the_next_failure_with_the_signature_gets_the_learned_fix_in_review_until_promoted() -> None:
    learned = fix(REQ)
    failed = diagnosis(
        category=Category.DEPENDENCY,
        action=FixAction.ADD_DEPENDENCY,
        confidence=85,
        key_line="ModuleNotFoundError: No module named 'acme_sdk' (/w/web/web/t.py:3)",
        playbook="dep.python-missing-module",
    )
    assert match_learned(failed, [learned]) is learned
    assert match_learned(failed.model_copy(update={"category": Category.CODE}), [learned]) is None
    assert match_learned(failed, [learned.model_copy(update={"disabled": True})]) is None
    newer = learned.model_copy(update={"id": 2, "version": 2})
    assert match_learned(failed, [learned, newer]) is newer
    in_review = learned_diagnosis(failed, learned, promoted(healed=1, reverted=0), "merged 2 of 3 times")
    assert (in_review.playbook, in_review.auto_fix, in_review.source) == ("learned.1", False, Source.PLAYBOOK)
    assert "merged 2 of 3 times" in in_review.notes[-1]
    strict = gate(in_review, "acme/web", RiskConfig())
    assert strict.verdict is Verdict.APPROVAL and strict.review_only  # a human reviews its fix PR
    trusted = learned_diagnosis(failed, learned, promoted(healed=2, reverted=0))  # the human's + two
    lenient = RiskConfig(threshold=5)  # where the built-in playbook's fix runs alone too
    assert gate(failed, "acme/web", lenient).verdict is Verdict.AUTO_NOTIFY
    assert not gate(failed, "acme/web", RiskConfig()).review_only  # a built-in playbook asks in Slack
    assert gate(in_review, "acme/web", lenient).verdict is Verdict.APPROVAL
    assert trusted.auto_fix and gate(trusted, "acme/web", lenient).verdict is Verdict.AUTO_NOTIFY
    assert not gate(trusted, "acme/web", RiskConfig()).review_only  # promoted: the gate as for built-ins
    assert not promoted(healed=2, reverted=1)  # a revert takes a success back
    assert plan_summary(in_review) == "open a PR adding the dependency acme-sdk==2.1"
    assert starts_in_review(in_review) and not starts_in_review(trusted) and not starts_in_review(failed)


def test_code_and_transient_failures_are_never_learned_from() -> None:
    assert "application code" in (not_learnable(Category.CODE) or "")
    assert "transient" in (not_learnable(Category.INFRASTRUCTURE) or "")
    for category in (Category.DEPENDENCY, Category.ENVIRONMENT, Category.RESOURCE, Category.FLAKY_TEST):
        assert not_learnable(category) is None


def test_replaying_edits_on_another_repository() -> None:
    files = {
        "requirements.txt": "flask==3.0\nacme-sdk==1.0  # old\n",
        "package.json": '{"name": "w"}',
        "pom.xml": "<project>\n  <dependencies>\n  </dependencies>\n</project>\n",
        ".github/workflows/ci.yml": WORKFLOW.replace("    runs-on", "    timeout-minutes: 20\n    runs-on"),
    }
    edits = [
        REQ,
        EditTemplate(
            kind=EditKind.NPM_DEPENDENCY,
            path="package.json",
            name="left-pad",
            value="1.3.0",
            section="devDependencies",
        ),
        EditTemplate(
            kind=EditKind.MAVEN_DEPENDENCY, path="pom.xml", name="core", value="1.4", section="com.acme"
        ),
        EditTemplate(kind=EditKind.WORKFLOW_ENV, name="TZ", value="UTC"),
        EditTemplate(kind=EditKind.TIMEOUT, name="test", value="90"),
    ]
    plan = plan_learned(fix(*edits), files.get, [".github/workflows/ci.yml"])
    out = {e.path: e.content for e in plan.edits}
    assert out["requirements.txt"] == "flask==3.0\nacme-sdk==2.1\n"
    assert json.loads(out["package.json"])["devDependencies"] == {"left-pad": "1.3.0"}
    assert "<artifactId>core</artifactId>" in out["pom.xml"] and "<version>1.4</version>" in out["pom.xml"]
    assert 'env:\n  TZ: "UTC"\n\njobs:' in out[".github/workflows/ci.yml"]
    assert "timeout-minutes: 90" in out[".github/workflows/ci.yml"]
    again = plan_learned(fix(*edits), {**files, **out}.get, [".github/workflows/ci.yml"])
    assert not again.edits and "changes nothing here" in again.reason  # already in place
    assert not plan_learned(fix(REQ), {}.get, []).edits  # no requirements.txt there


def test_a_learned_fix_exports_as_a_valid_playbook() -> None:
    text = export_yaml(fix(REQ, id=7, version=2), promote_after=3, is_promoted=False)
    [rule] = parse_playbook(text, "learned.yaml")
    assert rule.id == "learned.7-v2" and rule.action is FixAction.ADD_DEPENDENCY and not rule.auto_fix
    assert rule.regex.fullmatch("ModuleNotFoundError: No module named 'acme_sdk' (src/a.py:9)")
    assert '"value": "acme-sdk==2.1"' in text


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_a_signature_always_recognises_the_line_it_was_made_from(line: str) -> None:
    signature = signature_of(line, Category.DEPENDENCY, Ecosystem.PYTHON)
    assert signature.matches(line)


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from(
        [
            "requirements.txt",
            "package.json",
            "pom.xml",
            ".github/workflows/ci.yml",
            ".gitlab-ci.yml",
            "src/a.py",
        ]
    ),
    st.text(max_size=400),
    st.text(max_size=400),
)
def test_any_human_change_is_learned_or_refused_never_a_crash(path: str, before: str, after: str) -> None:
    found = read_change([ChangedFile(path, "modified", 1, 1, before, after)])
    assert isinstance(found, Learned | Refused)
    if isinstance(found, Learned):
        assert path != "src/a.py" and found.edits
