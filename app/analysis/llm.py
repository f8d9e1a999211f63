"""The LLM analyser: one structured-output chat completion per incident, offline verdict as the fallback.

- Client: ``openai.AsyncOpenAI`` with the SDK's own retries off; ours are bounded, back off, honour
  ``Retry-After`` and give up (offline verdict) rather than wait longer than ``max_backoff_seconds``.
- Output: ``json_schema`` (strict) first. A server that rejects it (400/422/5xx naming response_format
  or json_schema: llama-cpp-python's server answers 500) is asked again with ``json_object`` and the
  schema in the system prompt, and is remembered (per base URL, for the life of the process) as needing
  that.
- An answer that is not a valid verdict is retried once, telling the model what was wrong; then offline.
- The per-incident token cap is checked before calling: over it, the offline analyser answers.
"""

from __future__ import annotations

import asyncio
import secrets
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import openai

from app.analysis.answer import InvalidAnswer, parse_answer, verdict_from_answer
from app.analysis.compact import CompactedLogs, compact
from app.analysis.evidence import Evidence
from app.analysis.llm_call import Call, LLMFailure
from app.analysis.offline import analyse_offline
from app.analysis.prompt import Prompt, build_prompt
from app.analysis.redact import Redactor
from app.analysis.verdict import Verdict

if TYPE_CHECKING:
    from app.metrics import Metrics
    from app.settings import Settings

_JSON_OBJECT_ONLY: set[str] = set()  # base URLs known to reject json_schema response formats
RETRY_NOTE = (
    "Your previous answer was not usable: {error}. Answer again with one JSON object that matches the "
    "schema, and nothing else."
)


@dataclass(frozen=True)
class LLMConfig:
    api_key: str = field(default="", repr=False)
    base_url: str = ""
    model: str = "gpt-4o-mini"
    timeout_seconds: float = 60.0
    token_budget: int = 12000
    incident_token_cap: int = 60000
    max_output_tokens: int = 1500
    max_attempts: int = 3  # HTTP attempts per question, on 429, 5xx, timeouts, lost connections
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 20.0

    @property
    def enabled(self) -> bool:
        return bool(self.api_key)

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMConfig:
        return cls(
            api_key=settings.openai_api_key.get(),
            base_url=settings.openai_base_url,
            model=settings.llm_model,
            timeout_seconds=settings.llm_timeout_seconds,
            token_budget=settings.llm_token_budget,
            incident_token_cap=settings.llm_incident_token_cap,
        )


ClientFactory = Callable[[LLMConfig], openai.AsyncOpenAI]


def default_client(config: LLMConfig) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key=config.api_key,
        base_url=config.base_url or None,
        timeout=config.timeout_seconds,
        max_retries=0,
    )


# Per event loop (a client's connection pool belongs to the loop it first ran on), then per configuration.
_SHARED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[LLMConfig, openai.AsyncOpenAI]] = (
    weakref.WeakKeyDictionary()
)


def shared_client(config: LLMConfig) -> openai.AsyncOpenAI:
    """One client per configuration, kept: building one costs ~50 ms (its fresh TLS context loads the
    CA store) and a kept client reuses its connections to the LLM."""
    clients = _SHARED.setdefault(asyncio.get_running_loop(), {})
    if config not in clients:
        clients[config] = default_client(config)
    return clients[config]


def needs_json_object(base_url: str) -> bool:
    return (base_url or "default") in _JSON_OBJECT_ONLY


def forget_formats() -> None:
    """Forget which servers need the json_object fallback (tests)."""
    _JSON_OBJECT_ONLY.clear()


async def analyse(
    evidence: Evidence,
    *,
    settings_like: LLMConfig,
    extra_prompt: str = "",
    tokens_used: int = 0,
    client_factory: ClientFactory | None = None,
    metrics: Metrics | None = None,
) -> Verdict:
    """A Verdict for the evidence: from the LLM when configured and within the cap, else offline.

    ``Verdict.source`` says which; ``Verdict.audit`` holds model, hashes, tokens, latency, attempts and,
    for an offline answer, ``fallback`` (why) and ``llm_failed`` (true when the LLM was tried and failed).
    """
    config = settings_like
    compacted = compact(evidence.logs)

    def offline(reason: str, failed: bool, audit: dict[str, Any] | None = None) -> Verdict:
        verdict = analyse_offline(evidence, extra_prompt=extra_prompt, compacted=compacted)
        return replace(
            verdict, audit={**verdict.audit, **(audit or {}), "fallback": reason, "llm_failed": failed}
        )

    if not config.enabled:
        return offline("no LLM configured", False)
    room = config.incident_token_cap - tokens_used - config.max_output_tokens
    if room <= 0:
        return offline("incident token cap reached", False, {"tokens_used": tokens_used})

    prompt_for = _prompt_builder(
        evidence, compacted, budget=min(config.token_budget, room), extra_prompt=extra_prompt
    )
    first = prompt_for(needs_json_object(config.base_url))
    if first.tokens > room:
        return offline("incident token cap reached", False, {"tokens_used": tokens_used})
    client = client_factory(config) if client_factory else shared_client(config)
    call = Call(config, client, first, prompt_for, metrics, json_object=needs_json_object(config.base_url))
    try:
        return await _ask_and_remember(call, config, client, close_client=client_factory is not None)
    except LLMFailure as exc:
        return offline(str(exc), True, call.audit())


def _prompt_builder(
    evidence: Evidence, compacted: CompactedLogs, *, budget: int, extra_prompt: str
) -> Callable[[bool], Prompt]:
    """Builds the prompt with or without the schema in it (a json_object server needs it there)."""
    boundary = secrets.token_hex(8)  # one per request, kept if the prompt is rebuilt for json_object

    def prompt_for(schema_in_prompt: bool) -> Prompt:
        return build_prompt(
            evidence,
            compacted,
            budget=budget,
            extra_prompt=extra_prompt,
            schema_in_prompt=schema_in_prompt,
            boundary=boundary,
        )

    return prompt_for


async def _ask_and_remember(
    call: Call, config: LLMConfig, client: openai.AsyncOpenAI, *, close_client: bool
) -> Verdict:
    """The LLM's verdict with the call's audit; remembers a server that needed json_object either way."""
    try:
        verdict = await _ask(call, config)
        return replace(verdict, audit=call.audit())
    finally:
        if call.switched_format:  # remembered even when the answers that followed were unusable
            _JSON_OBJECT_ONLY.add(config.base_url or "default")
        if close_client:  # a client built for this call is closed after it; the shared one stays open
            await client.close()


async def _ask(call: Call, config: LLMConfig) -> Verdict:
    """Ask, validate, and ask once more with the validation error when the answer is unusable."""
    redactor = Redactor()
    for round_ in range(2):
        content, finish_reason = await call.complete()
        try:
            data = parse_answer(content, finish_reason)
        except InvalidAnswer as exc:
            call.invalid.append(str(exc))
            call.count("invalid")
            if round_ == 0:
                call.add_turn(redactor.redact((content or "")[:2000]), RETRY_NOTE.format(error=exc))
            continue
        verdict = verdict_from_answer(data, model=config.model, redactor=redactor)
        call.redactions = dict(redactor.counts)
        return verdict
    raise LLMFailure(f"invalid answer twice: {call.invalid[-1]}")
