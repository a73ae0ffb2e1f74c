"""gitleaks' default rule set (`secret_rules/gitleaks.toml`, MIT, data only) as Python regexes.

Each rule has lower-case `keywords` (one must occur in the text for the rule to be tried), a regex whose
group `secretGroup` (else 1, else the whole match) is the secret, an optional Shannon-entropy floor, and
allowlists (`regexes` against the secret, the match or the line; `stopwords` in the secret). `paths` and
`commits` allowlists cannot apply to log lines and are ignored. Go's RE2 syntax is translated: a flag group
such as `(?i)` in the middle of a pattern becomes a scoped `(?i:...)` up to the end of its group, `\\z`
becomes `\\Z`. Pure: the TOML is read once, from the path given (default beside this module).
"""

from __future__ import annotations

import math
import re
import tomllib
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

RULES_FILE = Path(__file__).with_name("secret_rules") / "gitleaks.toml"
_FLAGS = re.compile(r"\(\?([a-zA-Z]*-?[a-zA-Z]+)\)")
_LITERAL_PREFIX = re.compile(r"(?:\\b)?([A-Za-z0-9_]+(?:[_.-]|\\[.-]))")


def go_to_python(pattern: str) -> str:
    """A Go (RE2) regex as one Python's `re` accepts with the same meaning."""
    out: list[str] = []
    opened: list[list[str]] = [[]]  # per group level: flag scopes opened by a mid-pattern `(?flags)`
    i, in_class = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            pair = pattern[i : i + 2]
            out.append("\\Z" if pair == "\\z" else pair)
            i += 2
            continue
        if in_class:
            if char == "[" and pattern.startswith("[:", i):
                end = pattern.index(":]", i) + 2
                out.append(pattern[i:end])
                i = end
                continue
            in_class = char != "]"
            out.append("\\[" if char == "[" else char)
        elif char == "[":
            in_class = True
            out.append(char)
            if pattern[i + 1 : i + 2] == "^":
                out.append("^")
                i += 1
            if pattern[i + 1 : i + 2] == "]":
                out.append("\\]")
                i += 1
        elif (flags := _FLAGS.match(pattern, i)) and i > 0:
            out.append(f"(?{flags.group(1)}:")
            opened[-1].append(flags.group(1))
            i = flags.end()
            continue
        elif char == "(":
            opened.append([])
            out.append(char)
        elif char == ")":
            out.append(")" * len(opened.pop()) + ")")
        elif char == "|":
            scopes = opened[-1]
            out.append(")" * len(scopes) + "|" + "".join(f"(?{f}:" for f in scopes))
        else:
            out.append(char)
        i += 1
    out.append(")" * len(opened[0]))
    return "".join(out)


def entropy(text: str) -> float:
    """Shannon entropy of `text` in bits per character (as gitleaks computes it)."""
    if not text:
        return 0.0
    size = len(text)
    return -sum(n / size * math.log2(n / size) for n in Counter(text).values())


@dataclass(frozen=True)
class Allowlist:
    """Findings it matches are not secrets: any criterion (OR) or all of them (AND)."""

    regexes: tuple[re.Pattern[str], ...]
    target: str  # secret, match or line
    stopwords: tuple[str, ...]
    all_needed: bool

    def allows(self, secret: str, match: str, line: str) -> bool:
        subject = {"match": match, "line": line}.get(self.target, secret)
        checks = []
        if self.regexes:
            checks.append(any(r.search(subject) for r in self.regexes))
        if self.stopwords:
            lowered = secret.lower()
            checks.append(any(word in lowered for word in self.stopwords))
        return bool(checks) and (all(checks) if self.all_needed else any(checks))


@dataclass(frozen=True)
class ScannerRule:
    """One gitleaks rule, compiled."""

    id: str
    keywords: tuple[str, ...]
    pattern: re.Pattern[str]
    group: int
    min_entropy: float
    keep: int  # characters of a group-less match kept readable: its literal prefix (`ghp_`)
    allowlists: tuple[Allowlist, ...]
    lead: bool = False  # the leading identifier prefix was cut from the regex: restore it for allowlists

    def spans(self, text: str, allowed: Allowlist | None = None) -> Iterator[tuple[int, int]]:
        """The (start, end) of each secret this rule finds in `text`."""
        for match in self.pattern.finditer(text):
            group = self.group if self.group <= (self.pattern.groups or 0) else 0
            start, end = match.span(group)
            if group == 0:
                start += self.keep
            secret = text[start:end]
            if start >= end or entropy(secret) < self.min_entropy:
                continue
            line = _line_around(text, start)
            whole = text[_identifier_start(text, match.start()) if self.lead else match.start() : match.end()]
            if allowed and allowed.allows(secret, whole, line):
                continue
            if any(a.allows(secret, whole, line) for a in self.allowlists):
                continue
            yield start, end


def _identifier_start(text: str, position: int) -> int:
    """Where the identifier ending at `position` starts (at most 50 `[\\w.-]` characters back): what the
    cut prefix `[\\w.-]{0,50}?` of gitleaks' rules would have matched."""
    start = position
    while start > 0 and position - start < 50 and (text[start - 1].isalnum() or text[start - 1] in "_.-"):
        start -= 1
    return start


def _line_around(text: str, position: int) -> str:
    begin = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    return text[begin : end if end >= 0 else len(text)]


def _compile(pattern: str) -> re.Pattern[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # `[[` in a class: literal in Go and in Python
        return re.compile(go_to_python(pattern))


def _allowlist(raw: dict[str, Any]) -> Allowlist | None:
    all_needed = raw.get("condition", "OR").upper() == "AND"
    if (raw.get("paths") or raw.get("commits")) and all_needed:
        return None  # needs a file path or commit: never met by a log line
    regexes = tuple(_compile(r) for r in raw.get("regexes", ()))
    stopwords = tuple(w.lower() for w in raw.get("stopwords", ()))
    if not regexes and not stopwords:
        return None
    return Allowlist(regexes, raw.get("regexTarget", "secret"), stopwords, all_needed)


_LEAD = r"(?i)[\w.-]{0,50}?"  # the identifier before a keyword: context for gitleaks' report, not the secret


def _without_lead(pattern: str) -> str:
    """`pattern` without a leading lazy identifier prefix: same secrets, found in linear time (the prefix
    makes every start position try 50 lengths before the keyword)."""
    return "(?i)" + pattern[len(_LEAD) :] if pattern.startswith(_LEAD) else pattern


def _keep(pattern: str, group: int) -> int:
    if group:
        return 0
    prefix = _LITERAL_PREFIX.match(pattern)
    return len(prefix.group(1).replace("\\", "")) if prefix else 0


@cache
def load(path: Path = RULES_FILE) -> tuple[tuple[ScannerRule, ...], Allowlist | None]:
    """The rules of a gitleaks TOML file that apply to text, and its global allowlist."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    rules = []
    for raw in data.get("rules", ()):
        if "regex" not in raw:
            continue  # path-only rules (file names) never match log text
        lead = raw["regex"].startswith(_LEAD)
        pattern = _compile(_without_lead(raw["regex"]))
        group = int(raw.get("secretGroup", 1 if pattern.groups else 0))
        allowlists = tuple(a for a in map(_allowlist, raw.get("allowlists", ())) if a)
        rules.append(
            ScannerRule(
                id=raw["id"],
                keywords=tuple(k.lower() for k in raw.get("keywords", ())),
                pattern=pattern,
                group=group,
                min_entropy=float(raw.get("entropy", 0.0)),
                keep=_keep(raw["regex"], group),
                allowlists=allowlists,
                lead=lead,
            )
        )
    return tuple(rules), _allowlist(data.get("allowlist", {}))
