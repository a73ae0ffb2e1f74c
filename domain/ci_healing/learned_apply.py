"""Replaying a learned fix on another repository (its edits as a `FixPlan`), and exporting it as a playbook.

Each edit is applied to the file as it is on the base branch: a requirement line added or its pin
replaced, a package.json entry set, a pom.xml dependency added or its version set, an env var set at
the workflow's top level, every timeout raised to at least the learned minutes. An edit whose file is
missing or that is already in place changes nothing; a plan with no change is `FixPlan.none(reason)`.
"""

from __future__ import annotations

import json
import re

import yaml

from domain.ci_healing.fixes import FileEdit, FixPlan, Reader, _insert_env
from domain.ci_healing.gitlab_ci_fixes import GITLAB_CI_FILE, with_timeout_of_at_least, with_variable
from domain.ci_healing.learn_changes import requirement_lines
from domain.ci_healing.learned import EditKind, EditTemplate, LearnedFix


def plan_learned(
    fix: LearnedFix, read: Reader, workflow_files: list[str], preferred: str | None = None
) -> FixPlan:
    """The edits of `fix` on the files `read` returns; workflow edits go to `preferred` (the failed run's
    workflow) or else the first workflow file they apply to."""
    contents: dict[str, str] = {}
    skipped: list[str] = []

    def current(path: str) -> str | None:
        return contents[path] if path in contents else read(path)

    for edit in fix.edits:
        targets = [edit.path] if edit.path else ([preferred] if preferred else []) + sorted(workflow_files)
        for path in targets:
            text = current(path)
            changed = _apply(edit, text) if text is not None else None
            if changed is not None and changed != text:
                contents[path] = changed
                break
        else:
            skipped.append(edit.describe())
    if not contents:
        return FixPlan.none(
            f"no further fix: learned fix #{fix.id} changes nothing here ({'; '.join(skipped)})"
        )
    described = "; ".join(e.describe() for e in fix.edits)
    return FixPlan(
        edits=[FileEdit(path=p, content=c) for p, c in contents.items()],
        title=f"Apply learned fix #{fix.id}: {fix.edits[0].describe()}"[:120],
        description=f"Replays a human's fix of the same failure (learned fix #{fix.id} v{fix.version}, "
        f"from {fix.source_url or fix.learned_from}): {described}.",
    )


def _apply(edit: EditTemplate, text: str) -> str | None:
    if edit.path == GITLAB_CI_FILE and edit.kind is EditKind.WORKFLOW_ENV:
        return with_variable(text, edit.name, edit.value)
    if edit.path == GITLAB_CI_FILE and edit.kind is EditKind.TIMEOUT:
        return with_timeout_of_at_least(text, int(edit.value))
    match edit.kind:
        case EditKind.REQUIREMENT:
            return _requirement(text, edit)
        case EditKind.NPM_DEPENDENCY:
            return _npm(text, edit)
        case EditKind.MAVEN_DEPENDENCY:
            return _maven(text, edit)
        case EditKind.WORKFLOW_ENV:
            return _env(text, edit)
    return _timeout(text, edit)


def _requirement(text: str, edit: EditTemplate) -> str:
    if edit.name not in requirement_lines(text):
        return text + ("" if text.endswith("\n") or not text else "\n") + edit.value + "\n"
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if requirement_lines(line).get(edit.name) is not None:
            lines[i] = edit.value + ("\n" if line.endswith("\n") else "")
    return "".join(lines)


def _npm(text: str, edit: EditTemplate) -> str | None:
    try:
        manifest = json.loads(text)
    except ValueError:
        return None
    if not isinstance(manifest, dict) or manifest.get(edit.section, {}).get(edit.name) == edit.value:
        return None
    manifest.setdefault(edit.section, {})[edit.name] = edit.value
    return json.dumps(manifest, indent=2) + "\n"


def _maven(text: str, edit: EditTemplate) -> str | None:
    block = re.compile(
        rf"<dependency>(?:(?!</dependency>).)*?<artifactId>\s*{re.escape(edit.name)}\s*</artifactId>.*?</dependency>",
        re.S,
    )
    found = block.search(text)
    if found:
        dependency = found[0]
        if f"<version>{edit.value}</version>" in dependency:
            return None
        updated = re.sub(r"<version>[^<]*</version>", f"<version>{edit.value}</version>", dependency)
        return text[: found.start()] + updated + text[found.end() :]
    closing = text.rfind("</dependencies>")
    if closing < 0:
        return None
    entry = (
        f"  <dependency>\n      <groupId>{edit.section}</groupId>\n      <artifactId>{edit.name}</artifactId>\n"
        f"      <version>{edit.value}</version>\n    </dependency>\n  "
    )
    return text[:closing] + entry + text[closing:]


def _env(text: str, edit: EditTemplate) -> str | None:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", edit.name):
        return None
    line = f"  {edit.name}: {json.dumps(edit.value)}\n"
    if re.search(rf"(?m)^\s+{edit.name}:\s*{re.escape(json.dumps(edit.value))}\s*$", text):
        return None
    text = re.sub(rf"(?m)^  {edit.name}:.*\n", "", text)
    return _insert_env(text, line)


def _timeout(text: str, edit: EditTemplate) -> str | None:
    minutes = int(edit.value)
    if re.search(r"(?m)^\s+timeout-minutes:", text):
        return re.sub(
            r"(?m)^(\s+timeout-minutes:\s*)(\d+)\s*$", lambda m: f"{m[1]}{max(int(m[2]), minutes)}", text
        )
    return re.sub(r"(?m)^(  [\w-]+:\s*\n)(    runs-on:)", rf"\1    timeout-minutes: {minutes}\n\2", text)


def export_yaml(fix: LearnedFix, promote_after: int, is_promoted: bool) -> str:
    """`fix` as a playbook file (`rules:` with one rule, valid for `parse_playbook`) for review in Git; the
    edit templates, which playbook rules do not hold, are in the header comment."""
    rule = {
        "id": f"learned.{fix.id}-v{fix.version}",
        "priority": 55,
        "category": fix.signature.category.value,
        "pattern": fix.signature.pattern,
        "action": fix.action.value,
        "confidence": 75,
        "auto_fix": is_promoted,
        "plan": [e.describe() for e in fix.edits] + ["Re-run the job"],
        "explanation": f"Learned from a human fix of: {fix.signature.template}".replace("{", "(").replace(
            "}", ")"
        ),
    }
    edits = json.dumps([e.model_dump(mode="json", exclude_defaults=True) for e in fix.edits])
    header = [
        f"# Learned fix #{fix.id} v{fix.version} ({fix.signature.ecosystem.value}), "
        f"{'promoted' if is_promoted else f'in the review queue until merged successfully {promote_after} times'}",
        f"# learned from {fix.learned_from} ({fix.source_url})",
        f"# signature: {fix.signature.template}",
        f"# edits: {edits}",
    ]
    return "\n".join(header) + "\n" + yaml.safe_dump({"rules": [rule]}, sort_keys=False, allow_unicode=True)
