"""LLM activity: ask an OpenAI-compatible model to diagnose a distilled CI log, through the `openai` client.

Optional and fail-soft: every failure (disabled, unreachable, timeout, HTTP error, refusal, empty or
invalid answer) becomes an `LLMOutcome` without analysis and with a reason; the diagnosis then stays the
rule's, with the reason in its notes. Nothing here raises. The log text is never logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import openai
from pydantic import BaseModel, Field

from activities.definition import defn
from contracts.ci import LLMRequest
from domain.ci_healing.llm_analysis import (
    InvalidAnswer,
    LLMAnalysis,
    build_messages,
    combine,
    parse_answer,
    response_format,
)
from domain.diagnosis.verdict import Diagnosis
from domain.shared.redaction import redact
from runtime import metrics
from runtime.settings import Settings, get_settings

log = logging.getLogger("mender.activities.llm")
MAX_REASON = 300


class LLMOutcome(BaseModel):
    """The model's validated analysis, or None and why not."""

    analysis: LLMAnalysis | None = None
    reason: str | None = None
    latency_ms: int = Field(0, ge=0)


def _short(text: str) -> str:
    """A reason safe to store and show: redacted, one line, bounded."""
    line = " ".join(redact(str(text)).split())
    return line if len(line) <= MAX_REASON else line[: MAX_REASON - 3] + "..."


def _answer_text(response: Any) -> str:
    """The message content of a completion; InvalidAnswer when there is none to parse."""
    choices = getattr(response, "choices", None)
    if not choices:
        raise InvalidAnswer("the reply has no choices")
    choice = choices[0]
    message = getattr(choice, "message", None)
    refusal = getattr(message, "refusal", None)
    if refusal:
        raise InvalidAnswer(f"the model refused: {refusal}")
    finish = getattr(choice, "finish_reason", None)
    if finish in ("length", "content_filter"):
        raise InvalidAnswer(f"the answer was cut short (finish_reason={finish})")
    content = getattr(message, "content", None)
    if not isinstance(content, str) or not content.strip():
        raise InvalidAnswer("the reply has no content")
    return content


def _call(request: LLMRequest, settings: Settings, base_url: str) -> LLMAnalysis:
    """One chat completion, validated; raises openai errors or InvalidAnswer."""
    llm = settings.config.ci.llm
    client = openai.OpenAI(
        base_url=base_url, api_key=settings.llm_api_key, max_retries=0, timeout=llm.timeout_seconds
    )
    with client:
        response = client.chat.completions.create(
            model=llm.model,
            messages=build_messages(  # type: ignore[arg-type]
                request.distilled,
                project=request.project,
                provider=request.provider,
                failed_step=request.failed_step,
                passing_diff=request.passing_diff,
            ),
            response_format=response_format(),  # type: ignore[arg-type]
            temperature=0,
        )
    metrics.llm_tokens(getattr(response, "usage", None), settings.config.metrics.llm_usd_per_1k_tokens)
    return parse_answer(_answer_text(response))


def ask_model(request: LLMRequest, settings: Settings) -> LLMOutcome:
    """Ask the configured model about `request`; never raises."""
    base_url = settings.llm_base_url
    if base_url is None:
        return LLMOutcome(reason="LLM disabled (ci.llm.enabled is false)")
    timeout = settings.config.ci.llm.timeout_seconds
    started = time.monotonic()
    analysis: LLMAnalysis | None = None
    reason: str | None = None
    try:
        analysis = _call(request, settings, base_url)
    except InvalidAnswer as exc:
        reason = f"invalid answer: {exc.reason}"
    except openai.APITimeoutError:
        reason = f"timed out after {timeout:g}s"
    except openai.APIConnectionError as exc:
        reason = f"connection failed: {exc.__cause__ or exc}"
    except openai.APIStatusError as exc:
        reason = f"HTTP {exc.status_code}: {exc.message.removeprefix(f'Error code: {exc.status_code} - ')}"
    except openai.OpenAIError as exc:
        reason = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # fail soft on anything unforeseen: the rules still answer
        reason = f"unexpected {type(exc).__name__}: {exc}"
    latency_ms = int((time.monotonic() - started) * 1000)
    metrics.llm_call(analysis is not None)
    if analysis is not None:
        log.info(
            "llm answered for %s in %d ms: %s/%s confidence %d",
            request.project,
            latency_ms,
            analysis.category.value,
            analysis.action.value,
            analysis.confidence,
        )
        return LLMOutcome(analysis=analysis, latency_ms=latency_ms)
    reason = _short(reason or "no answer")
    log.warning("llm not used for %s after %d ms: %s", request.project, latency_ms, reason)
    return LLMOutcome(reason=reason, latency_ms=latency_ms)


def consult(request: LLMRequest, settings: Settings | None = None) -> Diagnosis:
    """The diagnosis to act on, asking the model (CLI use, no Temporal): the model's or the rule's."""
    outcome = ask_model(request, settings or get_settings())
    return combine(request.rule, outcome.analysis, reason=outcome.reason, distilled=request.distilled)


@defn(name="llm.analyse")
async def analyse(request: LLMRequest) -> Diagnosis:
    """Temporal activity: consult the model in a thread and combine its answer with the rule's."""
    outcome = await asyncio.to_thread(ask_model, request, get_settings())
    return combine(request.rule, outcome.analysis, reason=outcome.reason, distilled=request.distilled)
