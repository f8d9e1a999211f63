"""GitHub App authentication: the App JWT, cached installation tokens, and clients bound to them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import Any, TypeVar

import aiohttp
import gidgethub
import jwt
from cachetools import LRUCache, TTLCache

from app.errors import ConfigError, PermanentError
from app.github.http import GitHubClient, TokenProvider
from app.metrics import Metrics
from app.settings import Settings

log = logging.getLogger(__name__)

JWT_BACKDATE = 60  # GitHub's advice: iat 60 s in the past, against clock drift
JWT_LIFETIME = 540  # exp - iat = 600 s, GitHub's maximum
TOKEN_REFRESH_MARGIN = 300  # renew an installation token 5 minutes before it expires
ETAG_CACHE_SIZE = 512
INSTALLATION_LOOKUP_TTL = 600
T = TypeVar("T")


class GitHubApp:
    """Everything that needs the App's identity. One instance per process, shared by all jobs."""

    def __init__(self, settings: Settings, session: aiohttp.ClientSession, metrics: Metrics | None) -> None:
        self._settings = settings
        self._session = session
        self._metrics = metrics
        self._jwt: tuple[str, float] | None = None
        self._signing_key = 0  # index into settings.github_private_keys: the current key signs
        self._slug = ""
        self._tokens: dict[int, tuple[str, float]] = {}
        self._token_locks: dict[int, asyncio.Lock] = {}
        self._etag_caches: LRUCache[int, MutableMapping[Any, Any]] = LRUCache(maxsize=1024)
        self._repo_installations: TTLCache[str, int | None] = TTLCache(
            maxsize=4096, ttl=INSTALLATION_LOOKUP_TTL
        )

    def app_jwt(self, now: float | None = None) -> str:
        """An RS256 App JWT, reused until a minute before it expires."""
        if not self._settings.github_enabled:
            raise ConfigError("GITHUB_APP_ID and GITHUB_PRIVATE_KEY are required to talk to GitHub")
        now = time.time() if now is None else now
        if self._jwt is not None and self._jwt[1] - 60 > now:
            return self._jwt[0]
        issued = int(now) - JWT_BACKDATE
        expires = issued + JWT_BACKDATE + JWT_LIFETIME
        claims = {"iat": issued, "exp": expires, "iss": self._settings.github_app_id}
        key = self._settings.github_private_keys[self._signing_key]
        token = jwt.encode(claims, key, algorithm="RS256")
        self._jwt = (token, float(expires))
        return token

    async def with_app_jwt(self, call: Callable[[str], Awaitable[T]]) -> T:
        """Run ``call(app_jwt)``; on a 401 during a key rotation, switch to the other key and retry once.

        GitHub accepts a JWT signed by any key registered for the App. The current key signs; a 401
        means GitHub does not know it (yet, or no longer the previous one): the other key is tried and
        kept until it, too, is refused. Without a previous key a 401 is simply raised.
        """
        try:
            return await call(self.app_jwt())
        except gidgethub.BadRequest as exc:
            keys = self._settings.github_private_keys
            if exc.status_code.value != 401 or len(keys) < 2:
                raise
            self._signing_key = (self._signing_key + 1) % len(keys)
            self._jwt = None
            which = "previous" if self._signing_key else "current"
            log.warning("GitHub refused the App JWT (401): signing with the %s private key", which)
            return await call(self.app_jwt())

    def client(
        self,
        oauth_token: str | None = None,
        *,
        cache_key: int | None = None,
        token_provider: TokenProvider | None = None,
    ) -> GitHubClient:
        cache = None
        if cache_key is not None:
            cache = self._etag_caches.get(cache_key)
            if cache is None:
                cache = self._etag_caches[cache_key] = LRUCache(maxsize=ETAG_CACHE_SIZE)
        return GitHubClient(
            self._session,
            base_url=self._settings.github_api_url,
            oauth_token=oauth_token,
            cache=cache,
            timeout=self._settings.github_timeout_seconds,
            metrics=self._metrics,
            label=str(cache_key) if cache_key is not None else "",
            token_provider=token_provider,
        )

    async def installation_token(self, installation_id: int) -> str:
        """A cached installation access token, renewed shortly before expiry (one request at a time)."""
        cached = self._tokens.get(installation_id)
        if cached and cached[1] - TOKEN_REFRESH_MARGIN > time.time():
            return cached[0]
        lock = self._token_locks.setdefault(installation_id, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(installation_id)
            if cached and cached[1] - TOKEN_REFRESH_MARGIN > time.time():
                return cached[0]
            try:
                answer = await self.with_app_jwt(
                    lambda app_jwt: self.client().post(
                        "/app/installations/{installation_id}/access_tokens",
                        url_vars={"installation_id": str(installation_id)},
                        data={},
                        jwt=app_jwt,
                    )
                )
            except gidgethub.BadRequest as exc:
                raise PermanentError(f"installation {installation_id}: no token ({exc.status_code})") from exc
            expires = datetime.fromisoformat(answer["expires_at"].replace("Z", "+00:00")).timestamp()
            self._tokens[installation_id] = (answer["token"], expires)
            return str(answer["token"])

    def installation_client(self, installation_id: int) -> GitHubClient:
        """A client acting as the installation; its token is fetched (or reused) at the first request."""

        async def token() -> str:
            return await self.installation_token(installation_id)

        return self.client(cache_key=installation_id, token_provider=token)

    async def installation_for_repo(self, full_name: str) -> int | None:
        """The installation covering ``owner/repo``, or None when the App is not installed there."""
        if full_name in self._repo_installations:
            return self._repo_installations[full_name]
        owner, _, repo = full_name.partition("/")
        try:
            answer = await self.with_app_jwt(
                lambda app_jwt: self.client().getitem(
                    "/repos/{owner}/{repo}/installation",
                    url_vars={"owner": owner, "repo": repo},
                    jwt=app_jwt,
                )
            )
            found: int | None = int(answer["id"])
        except gidgethub.BadRequest as exc:
            if exc.status_code.value != 404:
                raise PermanentError(f"{full_name}: installation lookup failed ({exc.status_code})") from exc
            found = None
        self._repo_installations[full_name] = found
        return found

    async def slug(self) -> str:
        """The App's slug (it comments as ``<slug>[bot]``), from ``GET /app``, asked once per process."""
        if not self._slug:
            answer = await self.with_app_jwt(lambda app_jwt: self.client().getitem("/app", jwt=app_jwt))
            self._slug = str(answer["slug"])
        return self._slug

    def forget_installation(self, installation_id: int) -> None:
        """Drop cached state of an installation (uninstalled, suspended, or its token was refused)."""
        self._tokens.pop(installation_id, None)
        self._etag_caches.pop(installation_id, None)
        for name, found in list(self._repo_installations.items()):
            if found == installation_id:
                self._repo_installations.pop(name, None)
