"""FakeLLM: the one fake OpenAI-compatible chat completions server every test uses (aiohttp, 127.0.0.1).

    async with FakeLLM() as fake:                  # or the `fake_llm` pytest fixture
        fake.script({"title": ...}, "not json")    # answers, in order: a dict is sent as JSON content
        fake.fail_next(429, {"retry-after": "0"})  # errors before the next scripted answers
        fake.delay = 2.0                           # seconds before every answer
        fake.reject_json_schema = True             # llama.cpp's server: json_schema → HTTP 500
        config = LLMConfig(api_key=fake.api_key, base_url=fake.base_url)
        ...
        fake.requests[0].body["messages"]          # what the SDK sent, for assertions

Requests are checked as OpenAI checks them: bearer key (else 401 in OpenAI's error shape), a model,
a non-empty list of {role, content} messages, a valid response_format (json_object needs the word
"json" in the messages). A bad request gets 400 and lands in ``fake.violations``; the fixture asserts
it empty at teardown. Answers carry a usage block.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

ROLES = frozenset({"system", "user", "assistant", "developer", "tool"})
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Reply:
    content: str | None
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Failure:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def text(self) -> str:
        """Everything the request carried, as one string (to look for secrets in)."""
        return json.dumps(self.body, ensure_ascii=False) + json.dumps(self.headers)


def demo_verdict(**changes: Any) -> dict[str, Any]:
    """A schema-valid verdict on the bundled demo (the canary panics in pickColor), with ``changes``:
    the one canned answer the fake LLM and the fake A2A agent are scripted with."""
    verdict: dict[str, Any] = {
        "title": "Canary panics in pickColor on an empty palette",
        "summary": "The new version indexes an empty slice.",
        "root_cause": "pickColor reads colors[0] when the list is empty",
        "evidence": ["panic: runtime error: index out of range [0] with length 0"],
        "suspected_files": ["main.go"],
        "fix_hint": "Return a default colour when the list is empty.",
        "classification": "code",
        "promote": False,
        "confidence": 90,
    }
    return {**verdict, **changes}


# The end-to-end tests' wording of the same answer, which their issues are checked against.
PALETTE_WORDING: dict[str, Any] = {
    "title": "Colour picker panics on an empty palette",
    "summary": "pickColor indexes an empty slice.",
    "root_cause": "main.pickColor reads colors[0] when the palette is empty.",
    "fix_hint": "Guard the empty palette.",
    "confidence": 92,
}


def palette_verdict(**changes: Any) -> dict[str, Any]:
    """``demo_verdict`` in the end-to-end tests' wording (PALETTE_WORDING), with ``changes``."""
    return demo_verdict(**{**PALETTE_WORDING, **changes})


def openai_error(
    message: str, type_: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class FakeLLM:
    def __init__(self, api_key: str = "sk-fake-test-key-0000", model: str = "fake-model") -> None:
        self.api_key = api_key
        self.model = model
        self.delay = 0.0
        self.reject_json_schema = False
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self._replies: list[Reply] = []
        self._failures: list[Failure] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> FakeLLM:
        app = web.Application()
        for path in ("/v1/chat/completions", "/chat/completions"):
            app.router.add_post(path, self._completions)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeLLM:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def script(self, *replies: dict[str, Any] | str | Reply | None) -> None:
        """Queue answers: a dict is sent as its JSON, a str as is (garbage too), a Reply as given."""
        for reply in replies:
            if isinstance(reply, Reply):
                self._replies.append(reply)
            else:
                self._replies.append(Reply(json.dumps(reply) if isinstance(reply, dict) else reply))

    def fail_next(
        self, status: int, headers: dict[str, str] | None = None, body: Any = None, *, times: int = 1
    ) -> None:
        self._failures += [Failure(status, dict(headers or {}), body)] * times

    @property
    def pending(self) -> int:
        return len(self._replies)

    def _check(self, request: web.Request, body: Any) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            message = "Incorrect API key provided. You can find your API key at https://platform.openai.com."
            return web.json_response(
                openai_error(message, "invalid_request_error", "invalid_api_key"), status=401
            )
        problem = _shape_problem(body)
        if problem:
            self.violations.append(problem)
            return web.json_response(openai_error(problem, "invalid_request_error"), status=400)
        return None

    async def _completions(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        self.requests.append(RecordedRequest(request.path, dict(request.headers), body))
        if self.delay:
            await asyncio.sleep(self.delay)
        rejected = self._check(request, body)
        if rejected is not None:
            return rejected
        if self._failures:
            failure = self._failures.pop(0)
            payload = (
                failure.body if failure.body is not None else openai_error("fake failure", "server_error")
            )
            return web.json_response(payload, status=failure.status, headers=failure.headers)
        if self.reject_json_schema and body.get("response_format", {}).get("type") == "json_schema":
            message = "Unsupported response_format type json_schema"  # what llama-cpp-python's server does
            return web.json_response(openai_error(message, "server_error"), status=500)
        if not self._replies:
            self.violations.append("no scripted reply left")
            return web.json_response(openai_error("fake: no scripted reply", "server_error"), status=500)
        return web.json_response(self._answer(body, self._replies.pop(0)))

    def _answer(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        prompt_chars = sum(len(str(m.get("content", ""))) for m in body["messages"])
        completion = len(reply.content or "") // 4 + 1
        return {
            "id": f"chatcmpl-fake{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": reply.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_chars // 4 + 1,
                "completion_tokens": completion,
                "total_tokens": prompt_chars // 4 + 1 + completion,
            },
        }


def _shape_problem(body: Any) -> str:
    """What OpenAI would reject in this request body, or ''."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array"
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            return f"messages[{index}]: invalid role"
        if not isinstance(message.get("content"), str | list):
            return f"messages[{index}].content must be a string or an array"
    return _format_problem(body.get("response_format"), messages)


def _format_problem(response_format: Any, messages: list[dict[str, Any]]) -> str:
    if response_format is None:
        return ""
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return ""
    if kind == "json_object":
        said_json = any("json" in str(m.get("content", "")).lower() for m in messages)
        return (
            "" if said_json else "'messages' must contain the word 'json' to use response_format json_object"
        )
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, dict) or not _NAME_RE.match(str(spec.get("name", ""))):
            return "response_format.json_schema.name is missing or invalid"
        if not isinstance(spec.get("schema"), dict) or not isinstance(spec.get("strict", False), bool):
            return "response_format.json_schema.schema must be an object, strict a boolean"
        return ""
    return f"invalid response_format type: {kind!r}"


@pytest.fixture
async def fake_llm() -> AsyncIterator[FakeLLM]:
    async with FakeLLM() as fake:
        yield fake
        assert not fake.violations, fake.violations
