"""Agent mode: the analysis delegated to an Agent2Agent (A2A) agent, through the official ``a2a-sdk``.

Fixloop reads the agent's card (``/.well-known/agent-card.json``), sends the same redacted, compacted,
fenced prompt the inline LLM gets (with the verdict schema in it) as one user message, and validates the
answer with the LLM's schema and checks (``app.analysis.answer``). The card is untrusted: only its
JSON-RPC interfaces on the configured origin are used (a card cannot send the evidence elsewhere), and
its name is reduced to a short plain label. Each exchange runs under one deadline; connection failures,
timeouts and 5xx are retried with backoff, an unusable answer is asked again once with the reason, then
``AgentFailure`` tells the caller to fall back (inline LLM, then the offline analyser).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import httpx
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.client.errors import AgentCardResolutionError
from a2a.helpers import get_data_parts, get_text_parts
from a2a.types.a2a_pb2 import AgentCard, Message, Part, Role, SendMessageRequest, StreamResponse, TaskState
from a2a.utils.errors import A2AError
from google.protobuf.json_format import ParseError

from app.analysis.answer import InvalidAnswer, parse_answer, verdict_from_answer
from app.analysis.compact import CompactedLogs, compact
from app.analysis.evidence import Evidence
from app.analysis.llm import RETRY_NOTE
from app.analysis.prompt import Prompt, build_prompt
from app.analysis.redact import Redactor, redact
from app.analysis.verdict import Verdict
from app.errors import TransientError

JSONRPC = "JSONRPC"
NAME_MAX = 60
_NAME_RE = re.compile(r"[^A-Za-z0-9 ._()-]")
_TERMINAL_FAILURES = {
    TaskState.TASK_STATE_FAILED: "failed",
    TaskState.TASK_STATE_CANCELED: "canceled",
    TaskState.TASK_STATE_REJECTED: "rejected",
    TaskState.TASK_STATE_INPUT_REQUIRED: "asked for input",
    TaskState.TASK_STATE_AUTH_REQUIRED: "asked for authentication",
}


class AgentFailure(TransientError):
    """The A2A agent gave no usable verdict (after retries); ``audit`` says what was tried."""

    def __init__(self, message: str, audit: dict[str, Any]) -> None:
        super().__init__(message)
        self.audit = audit


class _Retry(Exception):
    """One exchange failed in a way another try may fix."""


@dataclass(frozen=True)
class A2AConfig:
    url: str
    timeout_seconds: float = 120.0  # one exchange: card, message, answer
    max_attempts: int = 3
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 10.0
    token_budget: int = 12000


@dataclass
class _Exchange:
    config: A2AConfig
    prompt: Prompt
    attempts: int = 0
    errors: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    agent: str = ""
    started: float = field(default_factory=time.monotonic)

    def audit(self) -> dict[str, Any]:
        return {
            "analyser": "a2a",
            "agent": self.agent,
            "endpoint": urlsplit(self.config.url).netloc,
            "attempts": self.attempts,
            "errors": list(self.errors),
            "invalid_answers": list(self.invalid),
            "latency_ms": round((time.monotonic() - self.started) * 1000),
            "prompt_sha256": self.prompt.prompt_sha256,
            "evidence_sha256": self.prompt.evidence_sha256,
            "prompt_tokens_estimate": self.prompt.tokens,
            "redactions": dict(self.prompt.redactions),
        }


def agent_label(card: AgentCard) -> str:
    """The card's name as a short plain label (the card is the agent's own, untrusted, text)."""
    name = " ".join(_NAME_RE.sub("", card.name).split())[:NAME_MAX]
    return name or "unnamed agent"


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port made explicit: ``https://a`` is ``https://a:443``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number: matches nothing
        return scheme, "", -1
    return scheme, (parts.hostname or "").lower(), port


def pin_interfaces(card: AgentCard, url: str) -> None:
    """Keep only the card's JSON-RPC interfaces on the configured origin; none left: refuse the card."""
    kept = [
        i
        for i in card.supported_interfaces
        if i.protocol_binding == JSONRPC and _origin(i.url) == _origin(url)
    ]
    if not kept:
        raise AgentFailure("the agent card offers no JSON-RPC interface on its own origin", {})
    del card.supported_interfaces[:]
    card.supported_interfaces.extend(kept)


def _message(prompt: Prompt, correction: str | None) -> SendMessageRequest:
    parts = [Part(text=prompt.system), Part(text=prompt.user)]
    if correction:
        parts.append(Part(text=correction))
    metadata = {"fixloop": {"kind": "canary-analysis", "answer": "fixloop_verdict JSON object"}}
    message = Message(role=Role.ROLE_USER, message_id=uuid.uuid4().hex, parts=parts, metadata=metadata)
    return SendMessageRequest(message=message)


def answer_text(event: StreamResponse) -> str:
    """The answer in the agent's last event: a data part as JSON, else its text parts joined."""
    if event.HasField("message"):
        parts = list(event.message.parts)
    elif event.HasField("task"):
        task = event.task
        state = task.status.state
        if state in _TERMINAL_FAILURES:
            reason = " ".join(get_text_parts(task.status.message.parts))[:200]
            raise AgentFailure(f"the agent's task {_TERMINAL_FAILURES[state]}: {redact(reason)}", {})
        if state != TaskState.TASK_STATE_COMPLETED:
            raise _Retry(f"the agent's task ended in state {TaskState.Name(state)}")
        parts = [p for artifact in task.artifacts for p in artifact.parts] or list(task.status.message.parts)
    else:
        raise _Retry("the agent answered neither a message nor a task")
    data = [d for d in get_data_parts(parts) if isinstance(d, dict)]
    return json.dumps(data[-1]) if data else "\n".join(get_text_parts(parts))


async def read_agent_card(url: str, timeout_seconds: float = 10.0) -> str:
    """The agent's label, from its card pinned to its origin (``check-config``); AgentFailure if unusable."""
    try:
        async with (
            asyncio.timeout(timeout_seconds),
            httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False) as http,
        ):
            card = await A2ACardResolver(http, url).get_agent_card()
    except (TimeoutError, A2AError, httpx.HTTPError) as exc:
        raise AgentFailure(f"agent card unreadable: {redact(str(exc))[:200]}", {}) from None
    pin_interfaces(card, url)
    return agent_label(card)


async def _exchange_once(config: A2AConfig, request: SendMessageRequest, exchange: _Exchange) -> str:
    timeout = httpx.Timeout(config.timeout_seconds, connect=min(10.0, config.timeout_seconds))
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as http:
        card = await A2ACardResolver(http, config.url).get_agent_card()
        exchange.agent = agent_label(card)
        pin_interfaces(card, config.url)
        client = ClientFactory(ClientConfig(streaming=False, httpx_client=http)).create(card)
        last: StreamResponse | None = None
        async for event in client.send_message(request):
            last = event
        if last is None:
            raise _Retry("the agent sent no answer")
        return answer_text(last)


async def _one_try(config: A2AConfig, request: SendMessageRequest, exchange: _Exchange) -> str:
    """The answer text of one exchange; _Retry for what is worth another try; AgentFailure for the rest."""
    try:
        async with asyncio.timeout(config.timeout_seconds):
            return await _exchange_once(config, request, exchange)
    except TimeoutError:
        raise _Retry(f"no answer within {config.timeout_seconds:.0f} s") from None
    except AgentCardResolutionError as exc:
        if exc.status_code is not None and exc.status_code < 500 and exc.status_code not in (408, 429):
            raise AgentFailure(f"agent card refused: http {exc.status_code}", {}) from None
        raise _Retry(f"agent card unreachable: {redact(str(exc.message))[:200]}") from None
    except (A2AError, httpx.HTTPError, ParseError, ValueError) as exc:
        raise _Retry(f"{type(exc).__name__}: {redact(str(exc))[:200]}") from None


async def analyse_with_agent(
    evidence: Evidence,
    *,
    config: A2AConfig,
    extra_prompt: str = "",
    compacted: CompactedLogs | None = None,
) -> Verdict:
    """The A2A agent's verdict on the evidence; AgentFailure when it gives none that is usable."""
    compacted = compacted if compacted is not None else compact(evidence.logs)
    prompt = build_prompt(
        evidence, compacted, budget=config.token_budget, extra_prompt=extra_prompt, schema_in_prompt=True
    )
    exchange = _Exchange(config, prompt)
    correction: str | None = None
    while exchange.attempts < config.max_attempts:
        exchange.attempts += 1
        try:
            content = await _one_try(config, _message(prompt, correction), exchange)
            data = parse_answer(content)
        except _Retry as exc:
            exchange.errors.append(str(exc))
            if exchange.attempts < config.max_attempts:
                backoff = config.backoff_seconds * 2.0 ** (exchange.attempts - 1)
                await asyncio.sleep(min(config.max_backoff_seconds, backoff))
            continue
        except InvalidAnswer as exc:
            exchange.invalid.append(str(exc))
            if len(exchange.invalid) > 1:
                break
            correction = RETRY_NOTE.format(error=exc)
            continue
        except AgentFailure as exc:
            exchange.errors.append(str(exc))
            raise AgentFailure(str(exc), exchange.audit()) from None
        verdict = verdict_from_answer(data, model=exchange.agent, redactor=Redactor())
        return replace(verdict, source=f"a2a:{exchange.agent}", audit=exchange.audit())
    last = (exchange.invalid or exchange.errors or ["no answer"])[-1]
    raise AgentFailure(f"A2A agent gave up after {exchange.attempts} attempts: {last}", exchange.audit())
