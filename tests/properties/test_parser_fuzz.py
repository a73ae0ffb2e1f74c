"""Fuzzing the parsers of outside input (issue 14, point 6): webhook bodies and payloads (GitHub, GitLab),
PR comment commands, `mender.yaml`. Whatever comes in: a result or the parser's own error with a reason,
never another exception (which the intake would answer with a 500), within a deadline (no hang), and
bounded output. Payloads are octokit's and GitLab's examples with leaves and keys replaced at random."""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from domain.config import MenderConfig
from domain.pr_healing.commands import COMMANDS, CommandRequest, malformed, parse, validate
from domain.pr_healing.lifecycle import PRState
from runtime.settings import ConfigError, Settings, load_config, set_settings
from starter.intake.github import GITHUB
from starter.intake.gitlab import GITLAB, PIPELINE_HOOK
from starter.intake.model import Delivery, Intake, PayloadError
from starter.intake.parsing import MAX_JSON_DEPTH, json_object
from tests.conftest import FIXTURES
from tests.support.stack import make_settings

FUZZ = settings(
    max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
HOSTILE = st.text(
    alphabet=st.sampled_from([*string.printable, "\x00", "\u2028", "\x1b", "é", "🙂", "/", "#", "`"]),
    max_size=60,
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    HOSTILE,
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE, inner, max_size=3),
    max_leaves=8,
)
GITHUB_EXAMPLES = {
    path.parent.name: json.loads(path.read_text())
    for path in sorted((FIXTURES / "github" / "webhooks").glob("*/*.json"))
    if path.parent.name
    in {
        "pull_request",
        "check_suite",
        "check_run",
        "status",
        "pull_request_review",
        "issue_comment",
        "workflow_run",
    }
}
GITLAB_PIPELINE = json.loads((FIXTURES / "gitlab" / "webhooks" / "pipeline.json").read_text())


@pytest.fixture(scope="module")
def intake_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    found = make_settings(tmp_path_factory.mktemp("fuzz"), repositories=[])
    yield found
    set_settings(None)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into `value` (the fields a fuzzer may replace or drop)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value[:3]):
            found.extend(paths(child, (*prefix, index)))
    return found


def mutate(data: st.DataObject, payload: dict[str, Any]) -> dict[str, Any]:
    """`payload` with a few fields (anywhere, nested ones too) replaced by hostile JSON or dropped."""
    out = json.loads(json.dumps(payload))
    for path in data.draw(st.lists(st.sampled_from(paths(payload)), min_size=1, max_size=4), label="fields"):
        parent: Any = out
        for step in path[:-1]:
            parent = _child(parent, step)
        last = path[-1]
        if isinstance(parent, dict) and data.draw(st.booleans(), label="drop?"):
            parent.pop(last, None)
        elif isinstance(parent, dict) or (isinstance(parent, list) and _child(parent, last) is not None):
            parent[last] = data.draw(JSON_VALUES, label="value")
    return out


def _child(parent: Any, step: Any) -> Any:
    """parent[step], or None when an earlier replacement changed the shape."""
    if isinstance(parent, dict):
        return parent.get(step)
    if isinstance(parent, list) and isinstance(step, int) and step < len(parent):
        return parent[step]
    return None


def translated(source: Any, event: str, payload: dict[str, Any], settings_: Settings) -> Intake | None:
    delivery = Delivery(source.name, "fuzz-1", event, payload, datetime.now(UTC))
    try:
        intake = source.translate(delivery, settings_)
    except PayloadError as exc:  # 400 with the reason
        assert str(exc) and len(str(exc)) < 2000
        return None
    assert isinstance(intake, Intake)
    assert len(intake.ignored or "") < 2000
    for event_ in intake.events:
        assert 0 < event_.pr.number < 2**31 and len(event_.key) <= 200
    return intake


@FUZZ
@given(st.data(), st.sampled_from(sorted(GITHUB_EXAMPLES)))
def test_github_payloads_give_events_or_a_reason(
    intake_settings: Settings, data: st.DataObject, event: str
) -> None:
    translated(GITHUB, event, mutate(data, GITHUB_EXAMPLES[event]), intake_settings)


@FUZZ
@given(st.data(), st.sampled_from(sorted(GITHUB_EXAMPLES)), JSON_VALUES)
def test_any_github_event_name_and_object(
    intake_settings: Settings, data: st.DataObject, event: str, value: Any
) -> None:
    name = data.draw(st.sampled_from([event, "ping", "installation", "push", "x" * 300]))
    translated(
        GITHUB,
        name,
        {"action": value, **({"repository": value} if data.draw(st.booleans()) else {})},
        intake_settings,
    )


@FUZZ
@given(st.data())
def test_gitlab_pipeline_hooks_give_a_run_or_a_reason(intake_settings: Settings, data: st.DataObject) -> None:
    translated(GITLAB, PIPELINE_HOOK, mutate(data, GITLAB_PIPELINE), intake_settings)


@FUZZ
@given(
    st.binary(max_size=300)
    | st.text(max_size=300).map(str.encode)
    | JSON_VALUES.map(lambda v: json.dumps(v).encode())
)
@example(b"[" * 100_000)
@example(b'{"a":' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1))
@example(b'{"n": 1' + b"0" * 5000 + b"}")
def test_webhook_bodies_are_a_bounded_object_or_a_reason(body: bytes) -> None:
    try:
        payload = json_object(body)
    except ValueError as exc:
        assert str(exc)
        return
    assert isinstance(payload, dict)


@FUZZ
@given(
    st.lists(
        st.one_of(HOSTILE, st.sampled_from([*COMMANDS, "```", "> /merge", " /Rebuild now"])), max_size=12
    )
)
def test_comment_commands_are_known_and_each_once(lines: list[str]) -> None:
    body = "\n".join(lines)
    found = parse(body)
    assert len(found) == len(set(found)) and set(found) <= set(COMMANDS)


@FUZZ
@given(HOSTILE, st.sampled_from([None, *PRState]), HOSTILE, st.text(max_size=500))
def test_any_command_is_judged_with_a_reason(
    command: str, state: PRState | None, login: str, key: str
) -> None:
    refusal = validate(command, state)
    assert refusal is None or (refusal and len(refusal) < 500)
    try:
        request = CommandRequest(command=command, requester=login, idempotency_key=key)
    except ValueError:
        return  # refused by the model, with the field and reason
    reason = malformed(request)
    assert reason is None or len(reason) < 1000


CONFIG_KEYS = sorted(MenderConfig.model_fields)


@settings(max_examples=40, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.text(max_size=300),
        st.dictionaries(st.sampled_from(CONFIG_KEYS) | HOSTILE, JSON_VALUES, max_size=4).map(
            lambda d: yaml.safe_dump(d, allow_unicode=True)
        ),
    )
)
@example("a: " + "[" * 5000)
@example("[" * 5000 + "]" * 5000)
@example("x: &a [1]\ny: [*a, *a, *a]\n")
@example("repositories: [{name: '" + "a" * 5000 + "/b'}]")
def test_any_mender_yaml_is_a_config_or_a_clear_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "mender.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        config = load_config(path)
    except ConfigError as exc:
        assert str(path) in str(exc)
        return
    assert isinstance(config, MenderConfig)
