"""Diagnosis from structure and evidence: steps and exit lines, stepping back from a summary to its detail,
causal order, the passing run, calibrated confidence, `unknown`, and bad input. Real fragments of public
Travis CI logs (tests/fixtures/diagnosis, see tests/fixtures/SOURCES.md) where a log is needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain.diagnosis.baseline import PassingRun, normalise
from domain.diagnosis.calibration import (
    AUTO_FLOOR,
    CALIBRATION_FILE,
    Calibrated,
    calibrate,
    family,
    lower_bound,
    table,
    totals,
)
from domain.diagnosis.decision import distrusted
from domain.diagnosis.distill import KEY_LINE_BOUND, body_of
from domain.diagnosis.distilled import displayed
from domain.diagnosis.engine import diagnose, diagnose_file
from domain.diagnosis.evidence import MIN_SCORE, score
from domain.diagnosis.playbooks import default_playbooks
from domain.diagnosis.structure import StepTracker, exit_status, header_name, is_summary
from domain.diagnosis.verdict import Category, FixAction

FIXTURES = Path(__file__).parents[1] / "fixtures" / "diagnosis"


def lines_of(name: str) -> list[str]:
    return (FIXTURES / name).read_bytes().decode("utf-8", "replace").split("\n")


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("travis_time:start:0df7c0d0\r\x1b[0K$ gomali *.md", "gomali *.md"),
        ("##[group]Run go test ./...", "Run go test ./..."),
        ("[INFO] --- maven-surefire-plugin:2.22.2:test (default-test) @ core ---", None),
        ("> Task :app:compileJava FAILED", ":app:compileJava"),
        ("> acme@1.0.0 test /home/travis/build/acme/app", "acme@1.0.0 test"),
        ("Run :checkhealth for more info", None),  # prose, not a copied GitHub Actions header
        ("README.md:2180:Line longer than 80 characters.", None),
    ],
)
def test_step_headers(line: str, name: str | None) -> None:
    found = header_name(body_of(line))
    if line.startswith("[INFO] ---"):
        assert found is not None and found.startswith("maven-surefire-plugin:2.22.2:test")
    else:
        assert found == name


def test_exit_lines_and_the_failing_step() -> None:
    assert exit_status('\x1b[31;1mThe command "make test" exited with 2.\x1b[0m') == 2
    assert exit_status("##[error]Process completed with exit code 1.") == 1
    assert exit_status("ERROR: script returned exit code 3") == 3
    assert exit_status('The command "npm ci" exited with 0.') == 0
    assert exit_status("the test exited early") is None
    tracker = StepTracker()
    for number, body in enumerate(
        [
            "$ npm ci",
            'The command "npm ci" exited with 0.',
            "$ npm test",
            "boom",
            'The command "npm test" exited with 1.',
        ],
        start=1,
    ):
        tracker.observe(body, number)
    failing = tracker.failing()
    assert failing is not None and failing.name == "npm test" and failing.status_line == 5
    assert tracker.steps[1].succeeded and not tracker.steps[1].failed


@pytest.mark.parametrize(
    "line",
    [
        'The command "mvn test" exited with 1.',
        "npm ERR! Test failed.  See above for more details.",
        "[INFO] BUILD FAILURE",
        "FAILURES!",
        "##[error]Process completed with exit code 1.",
        "make: *** [Makefile:12: test] Error 2",
        "collect2: error: ld returned 1 exit status",
        "✖ 3 problems (3 errors, 0 warnings)",
    ],
)
def test_summary_lines_lose_to_the_detail_they_summarise(line: str) -> None:
    detail = "src/app.ts:12:5 - error TS2322: Type 'string' is not assignable to type 'number'."
    assert is_summary(line)
    matcher = default_playbooks()
    assert score(line, matcher.match(line), True) < score(detail, matcher.match(detail), False)


def test_warnings_and_passing_tallies_score_below_errors() -> None:
    error = 'Error: Undefined variable: "$divider".'
    for quiet in ("npm WARN deprecated request@2.88.2: request has been deprecated", "0 errors, 0 failures"):
        assert score(quiet, [], False) < score(error, [], False)


def test_step_back_from_a_travis_exit_line_to_the_line_it_summarises() -> None:
    diagnosis, distilled = diagnose(lines_of("travis-gomali-step-back.log"))
    assert diagnosis.key_line.strip() == "README.md:2180:Line longer than 80 characters."
    assert distilled.failed_step == "gomali *.md" and diagnosis.evidence == "step-back:code"
    assert diagnosis.category is Category.CODE and diagnosis.action is FixAction.HUMAN


def test_a_passing_tally_before_the_failure_is_not_taken() -> None:
    diagnosis, _ = diagnose(lines_of("travis-git-flag-step-back.log"))
    assert diagnosis.key_line.strip() == "flag provided but not defined: -trace2_event_file"


def test_an_unknown_compiler_message_in_the_failing_step_is_code() -> None:
    diagnosis, _ = diagnose(lines_of("travis-sass-undefined-variable.log"))
    assert diagnosis.key_line.startswith("Error: Undefined variable:")
    assert diagnosis.category is Category.CODE and not diagnosis.auto_fix


def test_the_cause_before_its_fallout_decides() -> None:
    diagnosis, distilled = diagnose(lines_of("travis-redox-404.log"))
    assert diagnosis.key_line.strip() == "* Failure 404 Not Found"  # not the panic nor `make: *** Error 2`
    assert diagnosis.category is Category.DEPENDENCY
    assert any("panicked" in line for line in distilled.other_candidates)  # the fallout, for a second opinion


def test_a_dependency_cause_before_a_compile_error_wins() -> None:
    log = [
        "$ mvn -B verify",
        "[ERROR] Failed to execute goal on project api: Could not resolve dependencies for project"
        " com.acme:api:jar:1.0: Could not find artifact com.acme:core:jar:2.0-SNAPSHOT in central",
        "[ERROR] /src/main/java/com/acme/Api.java:[3,17] package com.acme.core does not exist",
        'The command "mvn -B verify" exited with 1.',
    ]
    diagnosis, _ = diagnose(log)
    assert (
        diagnosis.category is Category.DEPENDENCY and "Could not resolve dependencies" in diagnosis.key_line
    )


def test_normalise_hides_what_changes_between_runs() -> None:
    one = "2024-05-01T10:00:00.1Z \x1b[31mError: listen EADDRINUSE 127.0.0.1:43121 in /tmp/jest_abc/x.js after 1.2s (a1b2c3d4e5)"
    two = "2024-06-02T11:11:11.9Z Error: listen EADDRINUSE 127.0.0.1:50211 in /tmp/jest_xyz/x.js after 13ms (ffee00112233)"
    assert normalise(one) == normalise(two)
    assert normalise("exit code 1") != normalise("exit code 2")


def test_lines_the_passing_run_prints_are_not_the_cause() -> None:
    failing = lines_of("travis-sass-undefined-variable.log")
    noisy = "Error: could not load optional plugin 'sass-lint' (ignored)"
    failing.insert(10, noisy)
    alone, _ = diagnose([*failing[:11], failing[-1]])
    assert alone.key_line == noisy  # without the passing run the noise looks like the failure
    passing = [line for line in failing if "Undefined variable" not in line]
    with_pass, distilled = diagnose(failing, passing=passing)
    assert with_pass.key_line.startswith("Error: Undefined variable:")
    assert distilled.passing_run_lines and "compared with the last passing run" in distilled.text()
    assert noisy not in "\n".join(distilled.other_candidates)  # the passing run's line is no candidate
    assert len(PassingRun.from_lines(passing)) >= 1


def test_confidence_is_measured_precision_and_gates_automation() -> None:
    measured = {"rule:infra.dns": (6, 1), "rule:dep.artifact-404": (30, 30), "rule:env.once": (1, 1)}
    weak = calibrate("rule:infra.dns", 85, measured)
    assert weak.measured and weak.confidence < 25 and not weak.allows_auto and weak.precision == 0.25
    strong = calibrate("rule:dep.artifact-404", 70, measured)
    assert strong.confidence >= AUTO_FLOOR and strong.allows_auto
    # nothing measured in kind or family: the rule's reviewed estimate stands, and says so
    assert calibrate("rule:env.once", 80, measured) == Calibrated(80, False, 1, 1)
    # a lower bound: the more often right, the more confident, never above the observed rate
    assert [round(100 * lower_bound(n, n)) for n in (3, 20)] == [75, 95]
    assert lower_bound(13, 15) < 13 / 15


def test_a_thinly_measured_kind_is_judged_by_its_family() -> None:
    measured = {"rule:infra.dns": (6, 1), "rule:infra.rate-limit": (5, 0), "rule:infra.pod-pending": (1, 1)}
    assert family("rule:infra.pod-pending") == family("rule:infra.dns") == "rule:infra"
    assert family("rule:infra.dns@setup") == "rule:infra@setup" and family("generic:code") == "generic:code"
    thin = calibrate("rule:infra.pod-pending", 85, measured)
    assert (thin.n, thin.right) == (12, 2) and thin.confidence < 50
    assert not calibrate("rule:infra.tls@setup", 85, measured).measured  # another role: not pooled


def test_shipped_calibration_names_known_evidence() -> None:
    data = json.loads(CALIBRATION_FILE.read_text())
    ids = {rule.id for rule in default_playbooks().rules}
    for kind, repositories in data["kinds"].items():
        assert kind.removeprefix("rule:").split("@")[0] in ids or kind.split(":")[0] in (
            "generic",
            "step-back",
        )
        for digest, (n, right) in repositories.items():  # anonymous: no project is named
            assert 0 <= right <= n and len(digest) == 8 and int(digest, 16) >= 0
    assert table() == {k: {r: tuple(c) for r, c in v.items()} for k, v in data["kinds"].items()}


def test_a_rule_measured_imprecise_never_acts_alone() -> None:
    imprecise = [
        k
        for k, repositories in table().items()
        if k.startswith("rule:") and (t := totals(repositories))[0] >= 3 and t[1] / t[0] < 0.9
    ]
    assert imprecise, "the shipped calibration measures at least one imprecise rule"
    rule = default_playbooks().rule(imprecise[0].removeprefix("rule:"))
    assert calibrate(imprecise[0], rule.confidence).confidence < AUTO_FLOOR


def test_wording_nothing_explains_is_unknown_and_human() -> None:
    diagnosis, _ = diagnose(["setting up", "the frobnicator declined to cooperate: error 7", "cleaning up"])
    assert diagnosis.category is Category.UNKNOWN and diagnosis.action is FixAction.HUMAN
    assert not diagnosis.auto_fix and diagnosis.key_line == "the frobnicator declined to cooperate: error 7"
    assert diagnosis.contract()["category"] == "unknown"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\x01\x02\xff\xfe" * 20_000,  # binary
        b"ok \xc3\x28 \xa0\xa1 invalid utf-8 error: \xff\n" * 100,
        b"x" * 3_000_000 + b" error: at the very end",  # one line, longer than the line bound
        b"\n" * 100_000,
        b"\r\r\r error: carriage returns only \r\r",
    ],
    ids=["empty", "binary", "invalid-utf8", "one-huge-line", "only-newlines", "only-cr"],
)
def test_bad_input_gets_a_clear_answer(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.log"
    path.write_bytes(content)
    diagnosis, distilled = diagnose_file(path)
    assert diagnosis.category in Category and diagnosis.action is FixAction.HUMAN
    assert len(diagnosis.key_line) <= KEY_LINE_BOUND + len(" [...]") and distilled.total_bytes == len(content)
    assert set(diagnosis.contract()) >= {"category", "action", "key_line", "confidence"}


def test_a_rule_measured_mostly_wrong_does_not_decide_a_failing_step() -> None:
    line = "curl: (60) SSL certificate problem: unable to get local issuer certificate"
    alone, _ = diagnose([line])
    assert alone.playbook == "env.certificate" and alone.category is Category.ENVIRONMENT  # no failing step
    measured = totals(table()["rule:env.certificate"])
    assert measured[0] >= 3 and measured[1] / measured[0] < 0.5
    in_step, _ = diagnose(
        ["$ ./check-links.sh README.md", line, 'The command "./check-links.sh README.md" exited with 1.']
    )
    assert in_step.category is Category.CODE and in_step.action is FixAction.HUMAN and not in_step.auto_fix
    assert in_step.playbook == "env.certificate" and any("right in only" in note for note in in_step.notes)


def test_an_unknown_failure_is_never_automated_even_when_a_model_proposes_a_retry() -> None:
    from domain.ci_healing.config import RiskConfig
    from domain.ci_healing.risk import Verdict, gate
    from domain.diagnosis.verdict import Diagnosis, Tier

    proposal = Diagnosis(
        category=Category.UNKNOWN, action=FixAction.RETRY, risk_score=1, tier=Tier.LOW, confidence=99,
        key_line="the frobnicator declined", explanation="a model's guess", auto_fix=True,
    )  # fmt: skip
    decision = gate(proposal, "acme/api", RiskConfig(threshold=10, confidence_floor=0))
    assert decision.verdict is Verdict.HUMAN


@pytest.mark.parametrize(
    "cause",
    [
        "bash: line 1: shellcheck: command not found",
        "fatal: unable to access 'https://github.com/acme/docs.git/': Could not resolve host: github.com",
    ],
)
def test_the_failing_step_decides_over_a_cause_printed_in_another_step(cause: str) -> None:
    # An error an earlier step printed and went on after is not why `npm test` failed.
    log = [
        "$ ./ci/prepare.sh",
        cause,
        "$ npm test",
        "  1) parser handles empty input:",
        "     AssertionError: expected [] to deeply equal [ 'x' ]",
        "      at Context.<anonymous> (test/parser.test.js:12:5)",
        'The command "npm test" exited with 1.',
    ]
    diagnosis, _ = diagnose(log)
    assert diagnosis.category is Category.CODE and diagnosis.action is FixAction.HUMAN
    assert "AssertionError" in diagnosis.key_line


def test_a_source_line_a_compiler_quotes_is_never_the_key_line() -> None:
    # rustc quotes the code under its message: `panic!("Out of memory")` there is code, not an OOM.
    log = [
        "$ cargo build",
        "error[E0407]: method `oom` is not a member of trait `Alloc`",
        "   --> src/lib.rs:140:5",
        "    |",
        '140 |     fn oom(&mut self, _: AllocErr) -> ! { panic!("Out of memory"); }',
        "error: Could not compile `linked_list_allocator`.",
        'The command "cargo build" exited with 101.',
    ]
    diagnosis, _ = diagnose(log)
    assert diagnosis.key_line.startswith("error[E0407]") and diagnosis.category is Category.CODE


def test_evidence_measured_mostly_wrong_earns_no_points_and_names_no_cause() -> None:
    kinds = table()
    wrong = [
        k
        for k, repositories in kinds.items()
        if k.startswith("rule:") and (t := totals(repositories))[0] >= 3 and (t[1] + 1) / (t[0] + 2) < 0.5
    ]
    assert wrong, "the shipped calibration measures at least one rule that is mostly wrong"
    rule = default_playbooks().rule(wrong[0].removeprefix("rule:").split("@")[0])
    assert distrusted(wrong[0], rule.confidence)
    assert not distrusted("rule:never.measured", 80)


def test_calibration_sets_confidence_and_the_gate_floor_decides() -> None:
    from domain.ci_healing.config import RiskConfig
    from domain.ci_healing.risk import Verdict, gate

    failure = "fatal: unable to access 'https://github.com/a/b.git/': Could not resolve host: github.com"
    diagnosis, _ = diagnose(["Run tests", failure])
    rule = default_playbooks().rule(diagnosis.playbook or "")
    measured = calibrate(diagnosis.evidence, rule.confidence)
    assert measured.measured and diagnosis.confidence == measured.confidence < AUTO_FLOOR
    assert diagnosis.auto_fix == rule.auto_fix  # calibration does not withhold it
    strict = gate(diagnosis, "o/r", RiskConfig(threshold=10, confidence_floor=AUTO_FLOOR))
    assert strict.verdict is Verdict.APPROVAL and any("below the floor" in r for r in strict.reasons)
    lenient = gate(diagnosis, "o/r", RiskConfig(threshold=10, confidence_floor=diagnosis.confidence))
    assert not any("floor" in reason for reason in lenient.reasons)


def test_a_rust_panic_outscores_the_cargo_summary_above_it() -> None:
    diagnosis, _ = diagnose_file(FIXTURES / "travis-ripgrep-build-script-panic.log")
    assert body_of(diagnosis.key_line).startswith("thread 'main' panicked at")
    assert diagnosis.category is Category.CODE and diagnosis.action is FixAction.HUMAN


def test_a_missing_build_file_is_the_environment() -> None:
    diagnosis, _ = diagnose_file(FIXTURES / "travis-leetcode-no-rakefile.log")
    assert diagnosis.key_line.startswith("No Rakefile found")
    assert (diagnosis.category, diagnosis.action) == (Category.ENVIRONMENT, FixAction.FIX_CONFIG)


def test_a_coverage_threshold_after_failing_tests_is_their_fallout() -> None:
    log = lines_of("travis-autoprefixer-jest-coverage.log")
    coverage = next(line for line in log if "coverage threshold" in line)
    diagnosis, _ = diagnose(log)
    assert diagnosis.playbook == "code.assertion" and "toEqual" in body_of(diagnosis.key_line)
    alone, _ = diagnose(["$ jest --coverage", coverage, 'The command "jest --coverage" exited with 1.'])
    assert alone.playbook == "code.coverage"  # alone, it is the failure
    assert alone.key_line == coverage.rstrip("\r")


def test_the_first_report_of_a_repeated_failure_is_the_key_line() -> None:
    # MSVC reports errors of one vendored file twice; later copies carry more quoted names (more points)
    log = (FIXTURES.parent / "ci-logs" / "051-dependency.log").read_text("utf-8").splitlines()
    diagnosis, _ = diagnose(log)
    first = next(line for line in log if "error C" in line)
    assert diagnosis.key_line == first and diagnosis.playbook == "dep.vendored-compile-error"
    assert diagnosis.category is Category.DEPENDENCY


@pytest.mark.parametrize(
    "line",
    [
        # Erlang Common Test, lines 1352-1353 of the fragment's log (see SOURCES.md)
        "Testing rabbitmq.rabbitmq-server.confirms_rejects_SUITE: *** FAILED test case 6 of 6 ***",
        "Testing rabbitmq.rabbitmq-server.confirms_rejects_SUITE: TEST COMPLETE, 5 ok, 1 failed of 6 test cases",
        "1 failures, 0 errors.",  # clojure.test (lein test)
        "Executed 9 of 9 (1 FAILED) (0.1 secs / 0.2 secs)",  # karma
        "[error] (test:test) sbt.TestsFailedException: Tests unsuccessful",  # sbt
        "Status: 1 ERROR",  # R CMD check
    ],
)
def test_test_tallies_and_epilogues_are_summaries(line: str) -> None:
    assert is_summary(line)


def test_a_failure_located_on_a_line_outscores_the_tally_after_it() -> None:
    log = [
        "$ make ct-fast",
        *lines_of("travis-rabbitmq-ct-tally.log"),
        'The command "make ct-fast" exited with 2.',
    ]
    diagnosis, _ = diagnose(log)
    assert body_of(diagnosis.key_line).strip() == (
        "confirms_rejects_SUITE:mixed_dead_alive_queues_reject failed on line 195"
    )
    assert diagnosis.category is Category.CODE and diagnosis.action is FixAction.HUMAN


def test_the_key_line_is_what_a_terminal_shows_after_a_progress_bar() -> None:
    # the end of line 617 of Rust__BurntSushi@ripgrep__524435666/fail.log (cargo redraws its progress bar)
    bar = "\x1b[0m\x1b[0m\x1b[1m\x1b[36m    Building\x1b[0m [=====> ] 82/83\r"
    message = "\x1b[K\x1b[0m\x1b[1m\x1b[38;5;9merror\x1b[0m\x1b[0m\x1b[1m: linking with `cc` failed: exit code: 1\x1b[0m"
    diagnosis, _ = diagnose(["$ ci/script.sh", bar + message, 'The command "ci/script.sh" exited with 101.'])
    assert diagnosis.key_line == message
    assert (
        displayed("travis_time:end:01485a5c\r\x1b[0K") == "travis_time:end:01485a5c"
    )  # an ANSI code shows nothing
    assert displayed("plain line") == "plain line"


def test_a_tap_failure_is_evidence_and_its_ok_is_not_a_pass() -> None:
    # lines 476-477 and 493 of Lua__luvit@luvit__164750101/fail.log (a TAP stream)
    assert score(body_of("not ok 23 \x1b[1;33;41mdns - resolveTxtTCP\x1b[0m"), [], False) >= MIN_SCORE
    assert score(body_of("ok 22 \x1b[1;33;42mdns - resolveTxtTimeout\x1b[0m"), [], False) < MIN_SCORE


def test_mavens_closing_goal_line_steps_back_to_the_compiler_error() -> None:
    log = (FIXTURES.parent / "ci-logs" / "047-dependency.log").read_text("utf-8").splitlines()
    goal = next(line for line in log if "Failed to execute goal" in line)
    assert is_summary(body_of(goal))
    assert not is_summary(
        "[ERROR] Failed to execute goal on project app: Could not resolve dependencies for project"
    )
    diagnosis, _ = diagnose(log)
    assert diagnosis.key_line == next(line for line in log if "VariableFinder.java:[107,64]" in line)
