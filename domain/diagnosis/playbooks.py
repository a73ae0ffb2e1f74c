"""Playbooks: the reviewed rules that recognise a CI failure in a log line, and the line matcher.

A playbook file (`playbooks/*.yaml`) holds `rules:`, each with `id`, `priority` (higher wins),
`category`, `pattern` (Python regex; named groups become `params`), optional `exclude` (a match on the
same line discards it) and `context` (must match within `context_lines` lines around it), `action`,
`risk` (low/medium/high or 0-10), `confidence`, `auto_fix`, `plan` and `explanation` (templates over the
params), `changes_code` and optional `keywords`. Files are validated strictly: an error names the file,
the rule and the field.

Speed: every rule gets required words (`domain.diagnosis.prefilter`: whole-word tokens derived from its
pattern, else literal substrings, or the `keywords` listed), one of which occurs in any line the
pattern can match. A log is first searched for them and only lines holding one are matched, each
against the rules whose words it holds.

Which match decides: the highest priority; among equal priorities the earliest line. The first
occurrence of a failure is its cause, later ones are repeats or fallout (`make: *** Error 2`, re-runs,
summaries), and priorities already put specific root causes above generic symptoms.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from domain.diagnosis.prefilter import MIN_KEYWORD, TOKEN, derive_keywords, minimal_keywords
from domain.diagnosis.verdict import Category, FixAction

DERIVED_PARAMS = frozenset({"distribution"})  # params a diagnosis adds after matching
Level = Literal["low", "medium", "high"]


class PlaybookError(ValueError):
    """A playbook file that cannot be used; the message names the file, the rule and the field."""


def _compile(value: str | None, name: str) -> re.Pattern[str] | None:
    if value is None:
        return None
    try:
        return re.compile(value)
    except re.error as exc:
        raise ValueError(f"{name}: invalid regular expression: {exc}") from None


class PlaybookRule(BaseModel):
    """One rule: how a failure shows in a log line, what it means and what to do about it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    priority: int
    category: Category
    pattern: str
    exclude: str | None = None
    context: str | None = None
    context_lines: int = Field(30, ge=1, le=200)
    action: FixAction
    risk: Level | float | None = None
    confidence: int = Field(ge=0, le=100)
    auto_fix: bool = False
    plan: list[str] = Field(default_factory=list)
    changes_code: bool = False
    explanation: str = Field(min_length=1)
    keywords: list[str] | None = None

    _regex: re.Pattern[str] = PrivateAttr()
    _exclude: re.Pattern[str] | None = PrivateAttr(default=None)
    _context: re.Pattern[str] | None = PrivateAttr(default=None)
    _keywords: tuple[str, ...] = PrivateAttr(default=())  # literal substrings, when no tokens
    _tokens: frozenset[str] | None = PrivateAttr(default=None)  # whole words, one of which is required

    @model_validator(mode="after")
    def _check(self) -> PlaybookRule:
        regex = _compile(self.pattern, "pattern")
        assert regex is not None
        self._regex = regex
        self._exclude = _compile(self.exclude, "exclude")
        self._context = _compile(self.context, "context")
        if isinstance(self.risk, float) and not 0 <= self.risk <= 10:
            raise ValueError(f"risk: must be low, medium, high or a number from 0 to 10, got {self.risk}")
        if self.category is Category.CODE and (self.action is not FixAction.HUMAN or self.auto_fix):
            raise ValueError("action: a code failure is fixed by a human (action human, auto_fix false)")
        if self.action is FixAction.HUMAN and self.auto_fix:
            raise ValueError("auto_fix: a human action cannot be automatic")
        known = set(regex.groupindex) | DERIVED_PARAMS
        for name, template in [("explanation", self.explanation), *(("plan", step) for step in self.plan)]:
            for _, placeholder, _, _ in string.Formatter().parse(template):
                if placeholder and placeholder not in known:
                    raise ValueError(f"{name}: unknown placeholder {{{placeholder}}} (not a named group)")
        if self.keywords is not None:
            words = [w.lower() for w in self.keywords]
            if not words or any(len(w) < MIN_KEYWORD or not w.isascii() for w in words):
                raise ValueError("keywords: give ASCII literals of at least 3 characters")
        else:
            tokens = derive_keywords(self.pattern, tokens=True)
            self._tokens = frozenset(tokens) if tokens else None
            words = [] if tokens else derive_keywords(self.pattern) or []
            if not tokens and not words:
                raise ValueError("keywords: no literal of 3+ characters is required by `pattern`; list them")
        self._keywords = tuple(words)
        return self

    @property
    def regex(self) -> re.Pattern[str]:
        return self._regex

    @property
    def exclude_regex(self) -> re.Pattern[str] | None:
        return self._exclude

    @property
    def context_regex(self) -> re.Pattern[str] | None:
        return self._context

    @property
    def rule_keywords(self) -> tuple[str, ...]:
        return self._keywords

    @property
    def rule_tokens(self) -> frozenset[str]:
        return self._tokens or frozenset()


def params_of(hit: re.Match[str]) -> dict[str, str]:
    """A rule's params from its pattern's named groups in one line (stripped, at most 200 characters)."""
    return {k: v.strip()[:200] for k, v in hit.groupdict().items() if v and v.strip()}


@dataclass(frozen=True)
class Match:
    """A rule that matched one line, with the params taken from its named groups."""

    rule: PlaybookRule
    params: dict[str, str] = field(default_factory=dict)
    priority: int = 0
    context: re.Pattern[str] | None = None
    context_lines: int = 0


@dataclass(frozen=True)
class _Entry:
    """A rule's compiled parts, in plain attributes (pydantic private attributes are slow to read)."""

    order: int
    rule: PlaybookRule
    regex: re.Pattern[str]
    exclude: re.Pattern[str] | None
    context: re.Pattern[str] | None
    tokens: frozenset[str]
    keywords: tuple[str, ...]


class Playbooks:
    """A validated set of rules and the fast line matcher over them."""

    def __init__(self, rules: Iterable[PlaybookRule]) -> None:
        self.rules: tuple[PlaybookRule, ...] = tuple(sorted(rules, key=lambda r: -r.priority))
        ids = [rule.id for rule in self.rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise PlaybookError(f"duplicate rule ids: {', '.join(duplicates)}")
        self.keywords = minimal_keywords(w for rule in self.rules for w in rule.rule_keywords)
        self.tokens = frozenset(t.encode() for rule in self.rules for t in rule.rule_tokens)
        self._entries = [
            _Entry(i, r, r.regex, r.exclude_regex, r.context_regex, r.rule_tokens, r.rule_keywords)
            for i, r in enumerate(self.rules)
        ]
        self._by_token: dict[str, list[_Entry]] = {}
        for entry in self._entries:
            for token in entry.tokens:
                self._by_token.setdefault(token, []).append(entry)
        self._by_keyword = [entry for entry in self._entries if not entry.tokens]

    def __len__(self) -> int:
        return len(self.rules)

    def rule(self, rule_id: str) -> PlaybookRule:
        """The rule with this id."""
        return next(rule for rule in self.rules if rule.id == rule_id)

    def with_rules(self, extra: Iterable[PlaybookRule]) -> Playbooks:
        """These rules and `extra` together."""
        return Playbooks([*self.rules, *extra])

    def match(self, body: str) -> list[Match]:
        """Every rule that matches `body` (one log line without ANSI codes and timestamp prefix), highest
        priority first. Only rules whose required words occur in the line run their regex."""
        lowered = body.lower()
        candidates = {e.order: e for t in TOKEN.findall(lowered) for e in self._by_token.get(t, ())}
        for entry in self._by_keyword:
            if any(word in lowered for word in entry.keywords):
                candidates[entry.order] = entry
        found: list[Match] = []
        for order in sorted(candidates):
            entry = candidates[order]
            hit = entry.regex.search(body)
            if hit is None or (entry.exclude is not None and entry.exclude.search(body)):
                continue
            params = params_of(hit)
            rule = entry.rule
            found.append(Match(rule, params, rule.priority, entry.context, rule.context_lines))
        return found

    def scan(self, lines: Iterable[str]) -> tuple[Match, int] | None:
        """The decisive match over `lines` and its 1-based line number (one streaming pass), or None."""
        from domain.diagnosis.distill import LogScanner, blocks_from_lines
        from domain.shared.redaction import Redactor

        scanner = LogScanner(self, Redactor())
        for block, size in blocks_from_lines(lines):
            scanner.feed(block, size)
        best = scanner.finish().best
        return (best.found, best.line_number) if best else None


def _validated(source: str, index: int, raw: object) -> tuple[PlaybookRule | None, list[str]]:
    """One raw rule validated: the rule, or the errors naming file, rule and field."""
    rule_id = raw.get("id") if isinstance(raw, dict) else None
    where = f"{source}: rule {rule_id!r}" if rule_id else f"{source}: rule #{index + 1}"
    if not isinstance(raw, dict):
        return None, [f"{where}: a rule must be a mapping"]
    try:
        return PlaybookRule.model_validate(raw), []
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            loc = ".".join(str(part) for part in error["loc"]) or "rule"
            message = error["msg"].removeprefix("Value error, ")
            errors.append(f"{where}: {message}" if message.startswith(loc) else f"{where}: {loc}: {message}")
        return None, errors


def parse_playbook(text: str, source: str = "<playbook>") -> list[PlaybookRule]:
    """The rules of one playbook file's text; PlaybookError naming file, rule and field if invalid."""
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # a safe loader
    except yaml.YAMLError as exc:
        raise PlaybookError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or set(data) != {"rules"} or not isinstance(data["rules"], list):
        raise PlaybookError(f"{source}: expected a mapping with exactly one key, `rules:` (a list)")
    results = [_validated(source, index, raw) for index, raw in enumerate(data["rules"])]
    errors = [error for _, found in results for error in found]
    if errors:
        raise PlaybookError("\n".join(errors))
    return [rule for rule, _ in results if rule is not None]


def load_playbooks(directory: str | Path) -> Playbooks:
    """Every `*.yaml` / `*.yml` playbook of `directory`, validated."""
    folder = Path(directory)
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    if not files:
        raise PlaybookError(f"{folder}: no playbook files (*.yaml)")
    rules = [rule for path in files for rule in parse_playbook(path.read_text("utf-8"), str(path))]
    return Playbooks(rules)


_default: Playbooks | None = None


def default_playbooks() -> Playbooks:
    """The playbooks shipped with Mender (`playbooks/` at the repository root), loaded once."""
    global _default
    if _default is None:
        _default = load_playbooks(Path(__file__).parents[2] / "playbooks")
    return _default
