"""GitHub's OAuth web flow for a GitHub App, as a client: the authorize URL and the token endpoint.

A GitHub App asks for no ``scope``: a user-to-server token carries the App's permissions, limited to
what the user may do. With expiring user tokens (GitHub's default) the token lasts 8 hours and comes
with a refresh token (6 months) that is single use: refreshing returns a new pair and kills the old.

The token endpoint answers HTTP 200 even when it refuses, with ``{"error": ...}`` in the body; a dead
refresh token is ``bad_refresh_token``. That one error means "the user must authorise again"; other
errors (wrong client secret, bad code) say nothing about the user's grant and are reported as such.

The HTTP side (``/github/oauth/start`` and ``/callback``) is in ``app.github.oauth_routes``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp

from app.errors import ConfigError, PermanentError, TransientError
from app.settings import Settings

if TYPE_CHECKING:  # the shim at the bottom of this module
    from app.github.oauth_routes import OAuthEndpoints as OAuthEndpoints  # noqa: PLC0414 (re-export)

START_PATH = "/github/oauth/start"
CALLBACK_PATH = "/github/oauth/callback"
TOKEN_TIMEOUT = aiohttp.ClientTimeout(total=15, connect=5)
TOKEN_ATTEMPTS = 3
BACKOFF_BASE = 0.5
MAX_RETRY_AFTER = 10.0
BAD_REFRESH_TOKEN = "bad_refresh_token"  # noqa: S105 (an error code, not a secret)

Sleep = Callable[[float], Awaitable[None]]


class OAuthRefused(PermanentError):
    """The token endpoint refused; ``error`` is GitHub's code (``bad_verification_code``, ...)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"GitHub refused the OAuth request: {description or error}")
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Grant:
    """A token pair as the token endpoint gave it; the tokens never show in ``repr``."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: float | None = None  # seconds; None: the token does not expire
    refresh_expires_in: float | None = None

    @classmethod
    def from_answer(cls, answer: dict[str, Any]) -> Grant:
        """Parse the token endpoint's JSON; ``OAuthRefused`` when it carries an error or no token."""
        if answer.get("error") or not answer.get("access_token"):
            error = str(answer.get("error") or "no_token")
            raise OAuthRefused(error, str(answer.get("error_description") or ""))
        return cls(
            access_token=str(answer["access_token"]),
            refresh_token=str(answer.get("refresh_token") or ""),
            expires_in=_seconds(answer.get("expires_in")),
            refresh_expires_in=_seconds(answer.get("refresh_token_expires_in")),
        )


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


def oauth_configured(settings: Settings) -> bool:
    return bool(settings.github_client_id and settings.github_client_secret)


def callback_url(settings: Settings) -> str:
    return settings.public_url + CALLBACK_PATH


def start_url(settings: Settings) -> str:
    """Where a user goes to authorise Fixloop (linked from errors and status comments)."""
    return settings.public_url + START_PATH


def authorize_url(settings: Settings, state: str) -> str:
    query = urlencode(
        {"client_id": settings.github_client_id, "redirect_uri": callback_url(settings), "state": state}
    )
    return f"{settings.github_web_url}/login/oauth/authorize?{query}"


class TokenEndpoint:
    """``POST {GITHUB_WEB_URL}/login/oauth/access_token``: timeout, bounded retries on 5xx and transport."""

    def __init__(
        self, settings: Settings, session: aiohttp.ClientSession, sleep: Sleep = asyncio.sleep
    ) -> None:
        self._settings = settings
        self._session = session
        self._sleep = sleep

    async def exchange_code(self, code: str) -> Grant:
        return Grant.from_answer(
            await self._post({"code": code, "redirect_uri": callback_url(self._settings)})
        )

    async def refresh(self, refresh_token: str) -> Grant:
        """A new pair; ``OAuthRefused`` with ``error == BAD_REFRESH_TOKEN`` when the grant is gone."""
        return Grant.from_answer(
            await self._post({"grant_type": "refresh_token", "refresh_token": refresh_token})
        )

    async def _post(self, params: dict[str, str]) -> dict[str, Any]:
        if not oauth_configured(self._settings):
            raise ConfigError("GITHUB_CLIENT_ID / GITHUB_CLIENT_SECRET: required for user authorisation")
        body = {
            "client_id": self._settings.github_client_id,
            "client_secret": self._settings.github_client_secret.get(),
            **params,
        }
        for attempt in range(1, TOKEN_ATTEMPTS + 1):
            try:
                return await self._post_once(body)
            except TransientError as exc:
                if attempt == TOKEN_ATTEMPTS:
                    raise
                await self._sleep(min(exc.retry_after or BACKOFF_BASE * 2 ** (attempt - 1), MAX_RETRY_AFTER))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _post_once(self, body: dict[str, str]) -> dict[str, Any]:
        url = f"{self._settings.github_web_url}/login/oauth/access_token"
        try:
            async with self._session.post(
                url, data=body, headers={"Accept": "application/json"}, timeout=TOKEN_TIMEOUT
            ) as answer:
                if answer.status >= 500 or answer.status == 429:
                    retry_after = answer.headers.get("Retry-After", "")
                    raise TransientError(
                        f"GitHub's OAuth token endpoint answered HTTP {answer.status}",
                        retry_after=float(retry_after) if retry_after.isdigit() else None,
                    )
                text = await answer.text()
                status = answer.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"GitHub's OAuth token endpoint unreachable: {type(exc).__name__}") from exc
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise PermanentError(f"GitHub's OAuth token endpoint answered HTTP {status} without JSON")
        return parsed
