"""Hypothesis: the keyword index picks exactly the rules one of whose keywords occurs in the text."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from domain.shared.keyword_index import KeywordIndex

ALPHABET = "abc-_."
keywords = st.text(st.sampled_from(ALPHABET), min_size=1, max_size=4)


@dataclass(frozen=True)
class Rule:
    keywords: tuple[str, ...]


@given(
    st.lists(st.lists(keywords, min_size=1, max_size=3), min_size=1, max_size=12),
    st.text(ALPHABET, max_size=40),
)
def test_candidates_are_the_rules_whose_keyword_occurs(rule_keywords: list[list[str]], text: str) -> None:
    rules = [Rule(tuple(words)) for words in rule_keywords]
    expected = [rule for rule in rules if any(word in text for word in rule.keywords)]
    assert KeywordIndex(rules).candidates(text) == expected
