"""Which words must occur in any line a regular expression can match: the playbooks' prefilter.

A log is searched for these words before any rule runs, so they must be sound: every match of the
pattern contains one. Two kinds are derived from the parsed pattern (`re._parser`, the stdlib parser):

- tokens: whole words (maximal runs of [a-z0-9_], any case) whose boundaries the pattern guarantees
  (`\\b`, a space, a colon, a line end...). A block of log is split into its words once and intersected
  with the set of all tokens; only lines holding one are matched further. Best when it exists.
- substrings: literal stretches of 3+ characters, looked for with `bytes.find`; the fallback.

Short literal-only alternatives are expanded (`fail(?:ed|ure)` gives `failed` and `failure`). Among the
candidates, words typical of failures are preferred over ordinary ones, and words frequent in passing
builds (`passed`, `module`) are taken only when nothing better is required; stop words never.
"""

from __future__ import annotations

import re
import re._parser as sre
import string
from collections.abc import Iterable

MIN_KEYWORD = 3
COMMON_WORDS = frozenset({"status", "code", "line", "file"})  # too frequent as substrings

TOKEN = re.compile(r"[a-z0-9_]+")
_WORD_CHARS = frozenset(string.ascii_lowercase + string.digits + "_")
_BOUNDARY_AT = {sre.AT_BEGINNING, sre.AT_BEGINNING_LINE, sre.AT_BEGINNING_STRING, sre.AT_BOUNDARY}
_BOUNDARY_AT |= {sre.AT_END, sre.AT_END_LINE, sre.AT_END_STRING}
_NONWORD_CATEGORIES = {sre.CATEGORY_SPACE, sre.CATEGORY_NOT_WORD, sre.CATEGORY_LINEBREAK}
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
_STOP_WORDS_TEXT = """
the and for with from not are was has have been this that into of is to on as in at by be or if it
an no do we up ok http https www com org
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
# Words frequent in the output of passing builds: chosen only when nothing better is required.
_COMMON_TOKENS_TEXT = """
pass passed passing success successful successfully done finished finish complete completed start
started starting run runs running build building built compile compiling compiled link linking
linked install installing installed download downloading downloaded upload uploading uploaded fetch
fetching fetched resolve resolving resolved resolution dependency dependencies package packages
module modules version versions config configuration configure configured server client service host
artifact artifacts cache cached restore restored save saved using use used found check checking
checked test tests testing file files line lines code status info debug notice warning warn note
step job task target source object library lib src main master branch commit time took seconds total
true false none null name path type value default project repository repo image container docker
node npm yarn pip python java maven gradle cargo go rust ruby gem bundle collecting requirement
already satisfied wheel setup environment variable process command output input report summary
result results github building coverage condition requirements warn longer supported search json get
all request name expected found directory lock date out would size limit system signal received
should required location symbol data then load find matching matches registry import imported field
many long took due port already resource create usage left new old read write open close key keys
text value values list any but out too due low bad
"""
COMMON_TOKENS = frozenset(_COMMON_TOKENS_TEXT.split())
# Words that mostly appear when something went wrong: preferred as required words.
_FAILURE_TOKENS_TEXT = """
error errors fail failed failure failures failing fatal refused denied timeout timed exception
unable cannot could missing invalid unknown unexpected killed abort aborted panic unreachable
unresolved conflict conflicting exceeded forbidden unauthorized expired mismatch incompatible
unsupported undefined rejected disconnected lost interrupted violation deadline unbound offline
traceback couldn
"""
FAILURE_TOKENS = frozenset(_FAILURE_TOKENS_TEXT.split())


def _tier(word: str) -> int:
    if word in STOP_WORDS or word in COMMON_WORDS:
        return 0
    if word in COMMON_TOKENS or len(word) < 3:
        return 1
    return 3 if word in FAILURE_TOKENS else 2


def _char(op: object, av: object) -> str | None:
    """The (lower-case) character a parsed item matches, if it matches exactly one (up to case)."""
    if op is sre.LITERAL:
        return chr(av).lower()  # type: ignore[arg-type]
    if op is sre.IN and all(o is sre.LITERAL for o, _ in av):  # type: ignore[union-attr]
        letters = {chr(a).lower() for _, a in av}  # type: ignore[union-attr]
        return letters.pop() if len(letters) == 1 else None
    return None


def _edge(op: object, av: object, start: bool) -> str:
    """What an item guarantees at its start (or end) about token boundaries: B(oundary), T(ransparent), N."""
    if op is sre.AT:
        return "B" if av in _BOUNDARY_AT else "N"
    char = _char(op, av)
    if char is not None:
        return "N" if char in _WORD_CHARS else "B"
    if op is sre.IN:
        for o, a in av:  # type: ignore[union-attr]
            if o is sre.LITERAL and chr(a).lower() in _WORD_CHARS:
                return "N"
            if o is sre.CATEGORY and a not in _NONWORD_CATEGORIES:
                return "N"
            if o is sre.RANGE and any(chr(c).lower() in _WORD_CHARS for c in range(a[0], a[1] + 1)):
                return "N"
            if o not in (sre.LITERAL, sre.CATEGORY, sre.RANGE):
                return "N"
        return "B"
    if op in _REPEATS:
        inner = _seq_edge(av[2], start)  # type: ignore[index]
        return "T" if inner != "N" and av[0] == 0 else inner  # type: ignore[index]
    if op is sre.SUBPATTERN:
        return _seq_edge(av[3], start)  # type: ignore[index]
    if op is sre.BRANCH:
        edges = {_seq_edge(branch, start) for branch in av[1]}  # type: ignore[index]
        return "N" if "N" in edges else ("T" if "T" in edges else "B")
    return "N"


def _seq_edge(items: list, start: bool) -> str:
    for op, av in items if start else reversed(items):
        edge = _edge(op, av, start)
        if edge != "T":
            return edge
    return "T"


def _rank(words: set[str]) -> tuple[int, int, int]:
    """How selective a set of words is: failure words over ordinary over common ones (stop words never),
    then longer (up to 8), then fewer."""
    return (min(map(_tier, words)), min(min(map(len, words)), 8), -len(words))


def _options(op: object, av: object) -> list[str] | None:
    """The few strings a literal-only item matches (a character, a class, a branch, an optional)."""
    char = _char(op, av)
    if char is not None:
        return [char]
    if op is sre.IN and len(av) <= 8 and all(o is sre.LITERAL for o, _ in av):  # type: ignore[arg-type]
        return sorted({chr(a).lower() for _, a in av})  # type: ignore[union-attr]
    if op is sre.BRANCH:
        found: list[str] = []
        for branch in av[1]:  # type: ignore[index]
            strings = _strings(branch)
            if strings is None:
                return None
            found += strings
        return found
    if op is sre.SUBPATTERN:
        return _strings(av[3])  # type: ignore[index]
    if op in _REPEATS and av[0] == 0 and av[1] == 1:  # type: ignore[index]
        strings = _strings(av[2])  # type: ignore[index]
        return None if strings is None else ["", *strings]
    return None


def _strings(items: list) -> list[str] | None:
    """Every string a literal-only sequence matches (at most 16, lower case), else None."""
    results = [""]
    for op, av in items:
        options = _options(op, av)
        if options is None or len(results) * len(options) > 16:
            return None
        results = [done + option for done in results for option in options]
    return results


def _pieces(text: str, left: bool, right: bool, tokens: bool) -> set[str]:
    """The words of `text` that are whole tokens (tokens=True), or its ASCII stretches."""
    if not tokens:
        return {piece for piece in re.split(r"[^\x00-\x7f]+", text) if piece}
    return {
        found.group()
        for found in re.finditer(r"[a-z0-9_]+", text)
        if (found.start() > 0 or left) and (found.end() < len(text) or right)
    }


def _required(items: list, left: bool = False, right: bool = False, tokens: bool = True) -> set[str] | None:
    """Strings one of which occurs in every match of the parsed `items` (lower case), or None.

    With `tokens`, whole tokens (maximal [a-z0-9_] runs whose boundaries the pattern guarantees);
    otherwise literal substrings. `left` / `right`: a token boundary is guaranteed just before / after
    the sequence. Literal-only stretches (`env(?:ironment)?`, `fail(?:ed|ure)`) are expanded first.
    """
    best: set[str] | None = None

    def better(candidate: set[str] | None) -> None:
        nonlocal best
        if candidate and (best is None or _rank(candidate) > _rank(best)):
            best = candidate

    before, state = [], left
    for op, av in items:
        before.append(state)
        edge = _edge(op, av, start=False)
        state = True if edge == "B" else (state if edge == "T" else False)
    after, state = [False] * len(items), right
    for index in range(len(items) - 1, -1, -1):
        after[index] = state
        edge = _edge(*items[index], start=True)
        state = True if edge == "B" else (state if edge == "T" else False)
    index = 0
    while index < len(items):
        end = index
        while end < len(items) and _options(*items[end]) is not None:
            end += 1
        strings = _strings(items[index:end]) if end > index else None
        if strings is None and end > index:  # too many combinations: the plain characters alone
            end = index
            while end < len(items) and _char(*items[end]) is not None:
                end += 1
            strings = _strings(items[index:end]) if end > index else None
        if strings is not None:
            chosen: set[str] = set()
            for text in strings:
                pieces = _pieces(text, before[index], after[end - 1], tokens)
                if not pieces:
                    chosen = set()
                    break
                chosen.add(max(sorted(pieces), key=lambda p: _rank({p})))
            better(chosen or None)
            index = end
            continue
        op, av = items[index]
        if op is sre.SUBPATTERN:
            better(_required(av[3], before[index], after[index], tokens))
        elif op is sre.ATOMIC_GROUP:
            better(_required(av, before[index], after[index], tokens))
        elif op in _REPEATS and av[0] >= 1:
            better(_required(av[2], before[index], after[index] and av[1] == 1, tokens))
        elif op is sre.BRANCH:
            options = [_required(branch, before[index], after[index], tokens) for branch in av[1]]
            if all(options):
                better(set().union(*options))  # type: ignore[arg-type]
        index += 1
    return best


def derive_keywords(pattern: str, tokens: bool = False) -> list[str] | None:
    """Lower-case strings of which every match of `pattern` contains one, or None if none is selective.

    `tokens=False`: literal substrings of 3+ characters. `tokens=True`: whole words (maximal runs of
    [a-z0-9_], bounded by the pattern), for the word-set prefilter.
    """
    found = _required(list(sre.parse(pattern)), tokens=tokens)
    if not found or min(map(len, found)) < (2 if tokens else MIN_KEYWORD) or _rank(found)[0] == 0:
        return None
    return sorted(found)


def minimal_keywords(words: Iterable[str]) -> tuple[bytes, ...]:
    """The keywords as bytes, without those containing a shorter one (a line with it is already a hit)."""
    kept: list[str] = []
    for word in sorted(set(words), key=len):
        if not any(shorter in word for shorter in kept):
            kept.append(word)
    return tuple(word.encode() for word in kept)


_TOKEN_TABLE = bytes(  # lower case; [a-z0-9_] kept; everything else (newlines, non-ASCII) a separator
    c + 32 if 65 <= c <= 90 else (c if 97 <= c <= 122 or 48 <= c <= 57 or c == 95 else 32) for c in range(256)
)


class Prefilter:
    """Finds the lines of a block that hold one of `tokens` (whole words) or `keywords` (substrings, lower
    case; one starting with a newline is looked for at line starts)."""

    def __init__(self, tokens: Iterable[bytes], keywords: Iterable[bytes]) -> None:
        self.tokens = frozenset(tokens)
        words = set(keywords)
        self.keywords = tuple(w for w in sorted(words, key=len) if not any(s in w for s in words if s != w))

    def line_starts(self, block: bytes) -> list[int]:
        """Offsets of the lines of `block` holding a token or keyword: one set intersection over the
        block's words, then a `find` per word present (none, in most blocks of a long log)."""
        starts: set[int] = set()
        flat = block.translate(_TOKEN_TABLE)
        present = self.tokens.intersection(flat.split())
        if present:
            padded = b" " + flat + b" "
            for token in present:
                needle = b" " + token + b" "
                position = padded.find(needle)
                while position >= 0:  # the token starts at block[position]
                    starts.add(block.rfind(b"\n", 0, position) + 1)
                    newline = block.find(b"\n", position)
                    if newline < 0:
                        break
                    position = padded.find(needle, newline + 1)
        if self.keywords:
            low = b"\n" + block.lower()  # low[i + 1] is block[i]
            for word in self.keywords:
                position = low.find(word)
                while position >= 0:
                    starts.add(position if word[0] == 10 else low.rfind(b"\n", 0, position))
                    newline = low.find(b"\n", position + 1)
                    if newline < 0:
                        break
                    position = low.find(word, newline)
        return sorted(starts)
