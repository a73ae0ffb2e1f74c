"""Which lines of a block may need a closer look: one RE2 (DFA) pass over the block's bytes.

The scanner (`domain.diagnosis.distill`) examines a line only if it holds a required word
(`domain.diagnosis.prefilter`) and, even then, drops it at once unless a rule matches it, it holds an
error-like word, it starts a step or it concerns a secret. `Triggers` finds, in one pass of a compiled
RE2 automaton over the bytes, a superset of the lines that can pass that second test, so Python looks at
a handful of lines per block instead of every line holding a common word (`py`, `404`, `requests`).

The automaton is the union of
- every rule's pattern, relaxed to a sound superset on ASCII text (`relax`): `^` becomes "at the start of
  the line body" (after any timestamp prefix), `$`, `\\b`, look-arounds and the like are dropped,
  counted repeats become open ones, no part can cross a newline;
- the step header pattern (`domain.diagnosis.structure`), relaxed the same way;
- the error-like words of `domain.diagnosis.evidence`, `PRIVATE KEY` and `::add-mask::`;
- any byte outside ASCII: Python's Unicode case folding and character classes are not worth mirroring,
  such a line is simply looked at.
A rule whose pattern cannot be relaxed (a conditional group) contributes its required words instead.
"""

from __future__ import annotations

import re._constants as sc
import re._parser as sre
from collections.abc import Iterable

import re2

from domain.diagnosis.evidence import EVIDENCE_SUBSTRINGS, EVIDENCE_TOKENS
from domain.diagnosis.reading import _PREFIX
from domain.diagnosis.structure import _HEADER

_ASCII = frozenset(range(128))
_NEWLINE = 10
_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_LETTERS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGIT = frozenset(b"0123456789")
_SPACE = frozenset(b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f ")  # str.isspace() over ASCII
_CATEGORIES = {
    sc.CATEGORY_DIGIT: _DIGIT,
    sc.CATEGORY_NOT_DIGIT: _ASCII - _DIGIT,
    sc.CATEGORY_SPACE: _SPACE,
    sc.CATEGORY_NOT_SPACE: _ASCII - _SPACE,
    sc.CATEGORY_WORD: _WORD,
    sc.CATEGORY_NOT_WORD: _ASCII - _WORD,
    sc.CATEGORY_LINEBREAK: frozenset({_NEWLINE}),
    sc.CATEGORY_NOT_LINEBREAK: _ASCII - {_NEWLINE},
}
_REPEATS = (sc.MAX_REPEAT, sc.MIN_REPEAT, sc.POSSESSIVE_REPEAT)
_DROPPED_AT = {sc.AT_BOUNDARY, sc.AT_NON_BOUNDARY, sc.AT_END, sc.AT_END_LINE, sc.AT_END_STRING}
_START_AT = {sc.AT_BEGINNING, sc.AT_BEGINNING_LINE, sc.AT_BEGINNING_STRING}
NEVER = "[^\\x00-\\xff]"  # matches nothing


class Unsupported(ValueError):
    """A construct the relaxation does not handle."""


def _cased(codes: Iterable[int]) -> set[int]:
    out = set()
    for code in codes:
        out.add(code)
        if 65 <= code <= 90 or 97 <= code <= 122:
            out.add(code ^ 32)
    return out


def _byte_class(codes: Iterable[int]) -> str:
    """An RE2 class of exactly these ASCII bytes (never a newline), or NEVER."""
    codes = sorted(set(codes) - {_NEWLINE})
    if not codes:
        return NEVER
    parts, index = [], 0
    while index < len(codes):
        end = index
        while end + 1 < len(codes) and codes[end + 1] == codes[end] + 1:
            end += 1
        low, high = codes[index], codes[end]
        parts.append(f"\\x{low:02x}" if low == high else f"\\x{low:02x}-\\x{high:02x}")
        index = end + 1
    return "[" + "".join(parts) + "]"


def _literal(code: int, fold: bool) -> str:
    if code >= 128:  # a line holding it is not ASCII (a trigger anyway), but it may fold to ASCII letters
        utf8 = "".join(f"\\x{b:02x}" for b in chr(code).encode("utf-8"))
        return f"(?:{utf8}|{_byte_class(_LETTERS)})" if fold else utf8
    if code == _NEWLINE:
        return NEVER
    if fold and chr(code).isalpha():
        return _byte_class(_cased([code]))
    return f"\\x{code:02x}"


def _members(items: list, fold: bool) -> set[int]:
    """ASCII bytes including every one a parsed character class matches on ASCII text. With case
    folding, a member outside ASCII may fold to an ASCII letter: all letters are counted in (a negated
    class excludes only its ASCII members)."""
    negate, codes, beyond = False, set(), False
    for op, av in items:
        if op is sc.NEGATE:
            negate = True
        elif op is sc.LITERAL:
            codes.add(av)
            beyond |= av >= 128
        elif op is sc.RANGE:
            codes.update(range(av[0], min(av[1], 127) + 1))
            beyond |= av[1] >= 128
        elif op is sc.CATEGORY:
            codes |= _CATEGORIES[av]
        else:
            raise Unsupported(str(op))
    codes = {code for code in (_cased(codes) if fold else codes) if code < 128}
    if negate:
        return _ASCII - codes
    return codes | (_LETTERS if fold and beyond else set())


def _relax(items: list, fold: bool, start: str) -> str:
    out = []
    for op, av in items:
        if op is sc.LITERAL:
            out.append(_literal(av, fold))
        elif op is sc.NOT_LITERAL:
            out.append(_byte_class(_ASCII - ((_cased([av]) if fold else {av}) if av < 128 else set())))
        elif op is sc.ANY:
            out.append(_byte_class(_ASCII))
        elif op is sc.IN:
            out.append(_byte_class(_members(av, fold)))
        elif op is sc.BRANCH:
            out.append("(?:" + "|".join(_relax(branch, fold, start) for branch in av[1]) + ")")
        elif op is sc.SUBPATTERN:
            _, add, remove, inner = av
            inner_fold = (fold or bool(add & sc.SRE_FLAG_IGNORECASE)) and not remove & sc.SRE_FLAG_IGNORECASE
            out.append("(?:" + _relax(inner, inner_fold, start) + ")")
        elif op is sc.ATOMIC_GROUP:
            out.append("(?:" + _relax(av, fold, start) + ")")
        elif op in _REPEATS:
            low, high, inner = av
            body = "(?:" + _relax(inner, fold, start) + ")"
            if high == 1:
                out.append(body if low else body + "?")
            else:
                out.append(body + ("+" if low else "*"))
        elif op is sc.AT:
            if av in _START_AT:
                out.append(start)
            elif av not in _DROPPED_AT:
                raise Unsupported(str(av))
        elif op in (sc.ASSERT, sc.ASSERT_NOT):
            continue  # a look-around only narrows a match
        elif op is sc.GROUPREF:
            out.append("[^\\n]*")
        else:
            raise Unsupported(str(op))
    return "".join(out)


def relax(pattern: str, start: str) -> str:
    """An RE2 (Latin-1) pattern that matches, on an ASCII line, wherever `pattern` can match the line's
    body (or a prefix of it); `start`: what `^` becomes. Raises Unsupported."""
    parsed = sre.parse(pattern)
    return _relax(list(parsed), bool(parsed.state.flags & sc.SRE_FLAG_IGNORECASE), start)


def _words_trigger(words: Iterable[str | bytes], whole: bool, word_bytes: frozenset[int]) -> str:
    """Any of `words` (ASCII case folded); `whole`: not inside a longer run of `word_bytes`."""
    outside = _byte_class(_ASCII - word_bytes)[:-1] + "\\x80-\\xff]"
    found = []
    for word in words:
        data = word.encode() if isinstance(word, str) else word
        text = "".join(_literal(b, True) if b < 128 else f"\\x{b:02x}" for b in data)
        found.append(f"(?:(?m:^)|{outside}){text}(?:{outside}|(?m:$))" if whole else text)
    return "|".join(found)


def _body_start() -> str:
    """Where a line's body starts: the line start, then any timestamp prefixes (`reading.body_of`)."""
    items = list(sre.parse(_PREFIX.pattern))
    assert items[0][0] is sc.AT and items[1][0] in _REPEATS
    return "(?m:^)(?:" + _relax(items[1][1][2], False, NEVER) + ")*"


def _options() -> re2.Options:
    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1
    options.max_mem = 64 << 20  # the DFA's cache (RE2 falls back to its NFA past it): RSS stays bounded
    options.never_capture = True
    return options


class Triggers:
    """One automaton over the rules, the step headers and the error-like words; see the module docstring."""

    def __init__(self, rules: Iterable[object]) -> None:
        start = _body_start()
        parts = [
            "[\\x80-\\xff]",
            _words_trigger(EVIDENCE_SUBSTRINGS, False, frozenset()),
            _words_trigger(["not ok", "PRIVATE KEY", "::add-mask::"], False, frozenset()),
            _words_trigger(EVIDENCE_TOKENS, True, _LETTERS),
            relax(_HEADER.pattern, f"(?:{start}|\\x0d)"),
        ]
        self.relaxed: dict[str, str] = {}
        for rule in rules:
            pattern = getattr(rule, "pattern", None)
            try:
                relaxed = relax(pattern, start) if isinstance(pattern, str) else None
                if relaxed is not None and re2.compile(relaxed.encode("latin-1"), _options()).search(b""):
                    relaxed = None  # it would match any line: its required words say more
            except (Unsupported, re2.error):
                relaxed = None
            if relaxed is None:
                tokens = getattr(rule, "rule_tokens", frozenset())
                relaxed = _words_trigger(tokens, True, _WORD) if tokens else None
                relaxed = relaxed or _words_trigger(getattr(rule, "rule_keywords", ()), False, frozenset())
            self.relaxed[getattr(rule, "id", str(len(self.relaxed)))] = relaxed or NEVER
            parts.append(relaxed or NEVER)
        self.pattern = "|".join(f"(?:{part})" for part in parts if part)
        self.regex = re2.compile(self.pattern.encode("latin-1"), _options())

    def line_starts(self, block: bytes, limit: int | None = None) -> list[int] | None:
        """Offsets of the lines of `block` where the automaton matches (each line found once), or None
        once more than `limit` lines are found (the plain prefilter is then quicker)."""
        starts, position, end, search = [], 0, len(block), self.regex.search
        while position <= end:
            found = search(block, position)
            if found is None:
                break
            line = block.rfind(b"\n", 0, found.start()) + 1
            starts.append(line)
            if limit is not None and len(starts) > limit:
                return None
            newline = block.find(b"\n", found.start())
            if newline < 0:
                break
            position = newline + 1
        return starts


_BUILT: dict[tuple, Triggers] = {}


def triggers_for(rules: Iterable[object]) -> Triggers:
    """The `Triggers` of these rules, built once per distinct set of patterns (a build takes ~0.1 s)."""
    rules = tuple(rules)
    key = tuple(
        (getattr(r, "pattern", None), getattr(r, "rule_tokens", None), getattr(r, "rule_keywords", None))
        for r in rules
    )
    if key not in _BUILT:
        if len(_BUILT) >= 8:
            _BUILT.pop(next(iter(_BUILT)))
        _BUILT[key] = Triggers(rules)
    return _BUILT[key]
