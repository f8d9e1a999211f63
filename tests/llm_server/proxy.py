"""A recording proxy in front of the real llama.cpp server: what Fixloop sent, what the server answered.

It forwards every request unchanged (method, path, body, the headers that matter) and records each
exchange, so a test can assert on the wire protocol itself: which response_format went out, which
status came back, what the model wrote, how long the completion took.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

FORWARDED_HEADERS = ("Authorization", "Content-Type", "Accept")


@dataclass(frozen=True)
class Exchange:
    path: str
    request: Any  # the JSON body Fixloop sent (None when not JSON)
    status: int
    response: Any  # the JSON body the server answered (the raw text when not JSON)
    seconds: float

    @property
    def response_format(self) -> str | None:
        fmt = self.request.get("response_format") if isinstance(self.request, dict) else None
        return fmt.get("type") if isinstance(fmt, dict) else None

    @property
    def answer(self) -> tuple[str | None, str | None]:
        """(content, finish_reason) of a 200 chat completion."""
        choice = self.response["choices"][0]
        return choice["message"]["content"], choice["finish_reason"]


class RecordingProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")  # ends with /v1, like the proxy's own base URL
        self.exchanges: list[Exchange] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def completions(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.path.endswith("/chat/completions")]

    async def start(self) -> RecordingProxy:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600))
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/v1/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        raw = await request.read()
        headers = {k: request.headers[k] for k in FORWARDED_HEADERS if k in request.headers}
        url = f"{self.upstream}/{request.match_info['tail']}"
        started = time.monotonic()
        async with self._session.request(request.method, url, data=raw, headers=headers) as upstream:
            body = await upstream.read()
            status, content_type = upstream.status, upstream.headers.get("Content-Type", "")
        self.exchanges.append(
            Exchange(request.path, _json(raw), status, _json(body), time.monotonic() - started)
        )
        return web.Response(body=body, status=status, headers={"Content-Type": content_type})


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")
