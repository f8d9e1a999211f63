"""The GitHub REST client: gidgethub over aiohttp, with timeouts, bounded retries and metrics.

Every request goes through ``_request``: a per-request timeout, capped exponential backoff on 5xx and
connection errors, and GitHub's rate-limit rules (``retry-after`` first, then ``x-ratelimit-reset``).
When waiting inline would take too long, it raises ``TransientError(retry_after=...)`` so the job is
rescheduled in the store instead of holding a worker. A POST is never repeated inline once GitHub may have
carried it out (no answer, or a 5xx): the job is retried, and its steps look for what they made first.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import aiohttp
from gidgethub import aiohttp as gh_aiohttp

from app.errors import TransientError
from app.github.errors import GitHubRateLimited, rate_limit_delay
from app.metrics import Metrics

log = logging.getLogger(__name__)

USER_AGENT = "fixloop"
MAX_ATTEMPTS = 4
MAX_INLINE_WAIT = 20.0  # seconds; a longer wait goes back to the job queue
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0

Sleep = Callable[[float], Awaitable[None]]
TokenProvider = Callable[[], Awaitable[str]]


def backoff_delay(attempt: int) -> float:
    """Capped exponential backoff with full jitter (attempt starts at 1)."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def _maybe_done_answered(method: str, status: int) -> bool:
    """A POST answered 5xx may still have been carried out: GitHub's 502 and 504 come from a proxy that
    stopped waiting, not from the work failing. Only a rate limit (403, 429) says it was not done."""
    return method.upper() == "POST" and status >= 500


def _maybe_done(method: str, exc: BaseException) -> bool:
    """A POST that was sent but got no answer (timeout, dropped connection) may have been carried out:
    a blind retry could open a second issue or post a second comment. The job is retried instead, and
    its steps look for what they made before making it again (the issue by its hidden marker)."""
    return method.upper() == "POST" and not isinstance(exc, aiohttp.ClientConnectorError)


class GitHubClient(gh_aiohttp.GitHubAPI):
    """A gidgethub client bound to one credential (installation token, user token or none)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        oauth_token: str | None = None,
        cache: MutableMapping[Any, Any] | None = None,
        timeout: float = 10.0,
        metrics: Metrics | None = None,
        label: str = "",
        sleep: Sleep = asyncio.sleep,
        token_provider: TokenProvider | None = None,
    ) -> None:
        super().__init__(session, USER_AGENT, oauth_token=oauth_token, cache=cache, base_url=base_url)
        self._token_provider = token_provider
        self._timeout = timeout
        self._metrics = metrics
        self._label = label
        self._sleep_fn = sleep

    async def _make_request(self, *args: Any, **kwargs: Any) -> tuple[bytes, str | None, int]:
        # Installation tokens are fetched on the first request, not when the client is made: most
        # deliveries need no GitHub call at all, and a deleted installation has no token to give.
        explicit = kwargs.get("jwt") is not None or kwargs.get("oauth_token") is not None
        if self._token_provider is not None and not explicit:
            self.oauth_token = await self._token_provider()
        return await super()._make_request(*args, **kwargs)

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                async with asyncio.timeout(self._timeout):
                    status, resp_headers, data = await super()._request(method, url, headers, body)
            except (aiohttp.ClientError, TimeoutError) as exc:
                self._record(method, "error")
                if attempt == MAX_ATTEMPTS or _maybe_done(method, exc):
                    raise TransientError(f"GitHub {method} {url}: {type(exc).__name__}") from exc
                await self._sleep_fn(backoff_delay(attempt))
                continue
            self._record(method, str(status), resp_headers)
            delay = self._retry_delay(status, resp_headers, attempt, data)
            if delay is None:
                return status, resp_headers, data
            if attempt == MAX_ATTEMPTS or delay > MAX_INLINE_WAIT or _maybe_done_answered(method, status):
                text = f"GitHub {method} {url}: HTTP {status} after {attempt} attempt(s)"
                if status < 500:  # only a rate limit asks a 4xx to wait
                    raise GitHubRateLimited(text, retry_after=delay, status=status)
                raise TransientError(text, retry_after=delay)
            log.warning("GitHub %s %s answered %s; retrying in %.1fs", method, url, status, delay)
            await self._sleep_fn(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _retry_delay(status: int, headers: Mapping[str, str], attempt: int, body: bytes) -> float | None:
        limited = rate_limit_delay(status, headers, time.time(), body)
        if limited is not None:
            return limited
        if status >= 500:
            return backoff_delay(attempt)
        return None

    def _record(self, method: str, status: str, headers: Mapping[str, str] | None = None) -> None:
        if self._metrics is None:
            return
        self._metrics.github_calls.labels(method, status).inc()
        remaining = (headers or {}).get("x-ratelimit-remaining")
        if remaining is not None and remaining.isdigit() and self._label:
            self._metrics.github_rate_remaining.labels(self._label).set(int(remaining))
