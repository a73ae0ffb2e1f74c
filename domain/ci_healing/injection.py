"""Signs that a CI log addresses the model (prompt injection). Pure.

A log is data; text in it that gives the model instructions, forges Mender's log markers, carries an
answer in Mender's schema, claims an approval or asks for a risk, confidence or category is a sign that
someone tries to steer the diagnosis. When a sign is found the model's answer is not used at all
(`llm_analysis.combine` keeps the rule's diagnosis, fail closed): a steered answer could otherwise
turn a failure that needs a human into an automatic re-run. Over-eager by design: a false sign only
costs the model's help on that run.
"""

from __future__ import annotations

import re

_SCHEMA_KEY = r'"(?:category|action|confidence|risk|root_cause|key_line|auto_fix|approved)"\s*:'
SIGNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "instructions to the model",
        re.compile(
            r"(?i)\b(?:ignore|disregard|forget|override|bypass)\b[^\n]{0,20}?"
            r"\b(?:previous|prior|above|earlier|all|any|your|these|those|the)\b[^\n]{0,20}?"
            r"\b(?:instructions?|prompts?|rules|directions|guidelines|guardrails)\b"
        ),
    ),
    (
        "a role or system prompt",
        re.compile(
            r"(?im)^\W{0,12}(?:system|assistant|developer)\s*(?:prompt|message)?\s*[:>\]]"
            r"|\byou are now\b|\bnew instructions?\b|\bsystem prompt\b|\[/?INST\]|<\|im_start\|>"
        ),
    ),
    ("an answer in Mender's schema", re.compile(rf"(?s){_SCHEMA_KEY}.{{0,400}}?{_SCHEMA_KEY}")),
    ("a forged log marker", re.compile(r"<<<\s*MENDER_CI_LOG", re.IGNORECASE)),
    (
        "a claimed approval",
        re.compile(
            r"(?i)\bmender[_ ]approve\b|(?:^|\s)/approve\b|\bapproval (?:granted|given)\b"
            r"|\b(?:pre-?)?approved (?:by|for auto|automatically|this fix)\b|\bauto[_ -]?fix\s*[:=]\s*(?:true|yes|on)\b"
        ),
    ),
    (
        "a request about the answer",
        re.compile(
            r"(?i)\b(?:respond|reply|answer|output|classify|report|set|rate|mark)\b[^\n]{0,40}?"
            r"\b(?:risk|confidence|category|action|severity)\b[^\n]{0,24}?"
            r"\b(?:to|as|of|at|is)\b\s*[\"']?(?:0|100|none|low|infrastructure|retry|safe)\b"
        ),
    ),
)


def injection_signs(text: str) -> list[str]:
    """What in `text` addresses the model rather than describing a failure, one label per kind found."""
    return [label for label, pattern in SIGNS if pattern.search(text)]
