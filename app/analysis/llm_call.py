"""One question to the LLM, with bounded retries, the response-format fallback and the audit trail."""

from __future__ import annotations

import asyncio
import email.utils
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import openai

from app.analysis.prompt import Prompt
from app.analysis.redact import redact
from app.analysis.verdict import VERDICT_JSON_SCHEMA
from app.errors import TransientError

if TYPE_CHECKING:
    from app.analysis.llm import LLMConfig
    from app.metrics import Metrics

_SCHEMA_WORDS_RE = re.compile(r"response_format|json_schema|structured output", re.IGNORECASE)
# Reasoning models (o-series, gpt-5 and later) refuse max_tokens and a temperature other than the default.
_PARAM_WORDS_RE = re.compile(r"max_tokens|temperature", re.IGNORECASE)


class LLMFailure(TransientError):
    """The LLM gave no usable answer (after retries): the caller answers offline."""


def _retry_after(exc: openai.APIStatusError) -> float | None:
    """Seconds the server asked to wait: ``retry-after-ms``, ``retry-after`` (seconds or HTTP date)."""
    headers = exc.response.headers
    try:
        if headers.get("retry-after-ms"):
            return float(headers["retry-after-ms"]) / 1000
        value = headers.get("retry-after")
        if not value:
            return None
        if value.strip().replace(".", "", 1).isdigit():
            return float(value)
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


def _rejects_schema(exc: openai.APIStatusError) -> bool:
    """A server that does not do json_schema: a 400, 422 or 5xx whose error names it.

    llama-cpp-python's server answers json_schema with a 500 carrying its validation error, which names
    ``response_format`` and ``json_schema``. A 5xx naming neither is a server error: retried with backoff,
    not a reason to give up strict schemas for the endpoint for the life of the process.
    """
    if exc.status_code not in (400, 422) and exc.status_code < 500:
        return False
    return bool(_SCHEMA_WORDS_RE.search(f"{exc.message} {exc.body}"))


class Call:
    def __init__(
        self,
        config: LLMConfig,
        client: openai.AsyncOpenAI,
        prompt: Prompt,
        prompt_for: Callable[[bool], Prompt],
        metrics: Metrics | None,
        *,
        json_object: bool,
    ) -> None:
        self.config, self.client, self.prompt, self._prompt_for = config, client, prompt, prompt_for
        self.metrics = metrics
        self.json_object = json_object
        self.switched_format = False
        self.classic_params = True  # max_tokens + temperature=0; else max_completion_tokens only
        self.turns: list[dict[str, str]] = []
        self.attempts = 0
        self.tokens_in = 0
        self.tokens_out = 0
        self.errors: list[str] = []
        self.invalid: list[str] = []
        self.redactions: dict[str, int] = {}
        self.started = time.monotonic()

    def count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.llm_calls.labels(outcome=outcome).inc()

    def add_turn(self, answer: str, correction: str) -> None:
        self.turns += [{"role": "assistant", "content": answer}, {"role": "user", "content": correction}]

    def response_format(self) -> dict[str, Any]:
        if self.json_object:
            return {"type": "json_object"}
        schema = {"name": "fixloop_verdict", "strict": True, "schema": VERDICT_JSON_SCHEMA}
        return {"type": "json_schema", "json_schema": schema}

    async def complete(self) -> tuple[str | None, str | None]:
        """(content, finish_reason) of one answer; LLMFailure once retries are spent or pointless."""
        for attempt in range(1, self.config.max_attempts + 1):
            self.attempts += 1
            try:
                response = await self.client.chat.completions.create(**self._request())
            except openai.APIStatusError as exc:
                if not self.json_object and _rejects_schema(exc):
                    self._switch_to_json_object(exc.status_code)
                    continue
                if (
                    self.classic_params
                    and exc.status_code == 400
                    and _PARAM_WORDS_RE.search(str(exc.message))
                ):
                    self.errors.append("max_tokens/temperature refused: using max_completion_tokens")
                    self.classic_params = False
                    continue
                delay = self._transient_or_raise(exc, attempt)
            except openai.APIConnectionError as exc:  # includes APITimeoutError
                kind = "timeout" if isinstance(exc, openai.APITimeoutError) else "connection"
                self.errors.append(kind)
                self.count(kind)
                delay = self._backoff(attempt)
            else:
                self.count("ok")
                self._record_usage(response)
                choice = response.choices[0] if response.choices else None
                return (choice.message.content, choice.finish_reason) if choice else (None, None)
            if attempt < self.config.max_attempts:
                await self._sleep(delay)
        raise LLMFailure(f"LLM gave up after {self.attempts} attempts: {self.errors[-1]}")

    def _request(self) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.config.model,
            "messages": [*self.prompt.messages(), *self.turns],
            "response_format": self.response_format(),
        }
        if self.classic_params:
            return {**request, "max_tokens": self.config.max_output_tokens, "temperature": 0}
        return {**request, "max_completion_tokens": self.config.max_output_tokens}

    def _switch_to_json_object(self, status: int) -> None:
        self.errors.append(f"json_schema rejected (http {status})")
        self.count("schema_rejected")
        self.json_object = self.switched_format = True
        self.prompt = self._prompt_for(True)

    def _transient_or_raise(self, exc: openai.APIStatusError, attempt: int) -> float:
        status = exc.status_code
        self.errors.append(f"http {status}")
        if status == 429 or status >= 500 or status in (408, 409):
            self.count("rate_limited" if status == 429 else "server_error")
            return float(_retry_after(exc) or self._backoff(attempt))
        self.count("client_error")
        raise LLMFailure(f"LLM refused the request: http {status}: {redact(str(exc.message))[:200]}")

    def _backoff(self, attempt: int) -> float:
        return min(self.config.max_backoff_seconds, self.config.backoff_seconds * 2.0 ** (attempt - 1))

    async def _sleep(self, delay: float) -> None:
        if delay > self.config.max_backoff_seconds:
            raise LLMFailure(f"LLM asked to retry after {delay:.0f} s ({self.errors[-1]}): not waiting")
        await asyncio.sleep(delay)

    def _record_usage(self, response: Any) -> None:
        usage = getattr(response, "usage", None)
        tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
        tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
        self.tokens_in += tokens_in
        self.tokens_out += tokens_out
        if self.metrics is not None:
            self.metrics.llm_tokens.labels(direction="in").inc(tokens_in)
            self.metrics.llm_tokens.labels(direction="out").inc(tokens_out)

    def audit(self) -> dict[str, Any]:
        redactions = dict(self.prompt.redactions)
        for kind, count in self.redactions.items():
            redactions[f"answer:{kind}"] = count
        return {
            "analyser": "llm",
            "model": self.config.model,
            "endpoint": urlsplit(self.config.base_url).netloc or "default",
            "response_format": "json_object" if self.json_object else "json_schema",
            "json_object_fallback": self.switched_format,
            "prompt_sha256": self.prompt.prompt_sha256,
            "evidence_sha256": self.prompt.evidence_sha256,
            "prompt_tokens_estimate": self.prompt.tokens,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "latency_ms": round((time.monotonic() - self.started) * 1000),
            "attempts": self.attempts,
            "errors": list(self.errors),
            "invalid_answers": list(self.invalid),
            "budget_notes": list(self.prompt.notes),
            "novel_errors": self.prompt.novel_errors,
            "novel_errors_in_prompt": self.prompt.novel_errors_kept,
            "redactions": redactions,
        }
