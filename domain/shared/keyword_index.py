"""Which rules to try on a text: one regex pass finds every rule keyword that occurs in it.

Hundreds of rules each name lower-case keywords, one of which must occur for the rule to match (a cheap
necessary condition). The keywords are compiled into one trie-shaped regex, searched at every position of
the lowered text (a look-ahead, so overlapping keywords are all seen), and only the rules of the keywords
found are tried: the cost per line is one regex scan, whatever the number of rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any


def _trie_pattern(words: Iterable[str]) -> str:
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


class KeywordIndex:
    """Rules (anything with a `keywords` tuple) indexed by their keywords."""

    def __init__(self, rules: Sequence[Any]) -> None:
        self.rules = tuple(rules)
        by_keyword: dict[str, set[int]] = {}
        for position, rule in enumerate(self.rules):
            for keyword in rule.keywords:
                by_keyword.setdefault(keyword.lower(), set()).add(position)
        # The regex reports the longest keyword at each position: it stands for its prefixes too.
        self._rules_of = {
            word: frozenset().union(*(ids for other, ids in by_keyword.items() if word.startswith(other)))
            for word in by_keyword
        }
        self._find = re.compile("(?=(" + _trie_pattern(by_keyword) + "))")

    def candidates(self, lowered: str) -> list[Any]:
        """The rules one of whose keywords occurs in `lowered` (the text in lower case), in rule order."""
        found: set[int] = set()
        for keyword in set(self._find.findall(lowered)):
            found |= self._rules_of[keyword]
        return [self.rules[i] for i in sorted(found)]
