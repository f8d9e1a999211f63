"""User-to-server tokens: stored encrypted, refreshed before expiry, dropped when revoked.

Copilot's coding agent is assigned, and Jules' label counts, only when a user does it: users authorise
Fixloop once (``/github/oauth/start``) and their tokens are kept here. Encryption is AES-256-GCM from
``cryptography`` with a key derived from ``FIXLOOP_SECRET_KEY`` by HKDF-SHA256; the user id is the
associated data, so a ciphertext copied to another user's row does not decrypt.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.errors import ConfigError, PermanentError, TransientError
from app.settings import Settings
from app.store import Store

log = logging.getLogger(__name__)

HKDF_INFO = b"fixloop user-token encryption v1"
HKDF_SALT = b"fixloop"
REFRESH_MARGIN = 300.0
INSTALLATION_USERS = "installation-users"  # kv: installation id -> user ids who authorised
OAUTH_TIMEOUT = aiohttp.ClientTimeout(total=15)


class UserTokenRevoked(PermanentError):
    """The stored grant no longer works; the user must authorise again."""


class TokenVault:
    def __init__(self, secret_key: str) -> None:
        self._key = (
            HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT, info=HKDF_INFO).derive(
                secret_key.encode()
            )
            if secret_key
            else None
        )

    def _aead(self) -> AESGCM:
        if self._key is None:
            raise ConfigError("FIXLOOP_SECRET_KEY: required to store user tokens")
        return AESGCM(self._key)

    def seal(self, user_id: int, secrets: dict[str, str]) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead().encrypt(nonce, json.dumps(secrets).encode(), str(user_id).encode())

    def open(self, user_id: int, blob: bytes) -> dict[str, str]:
        try:
            plain = self._aead().decrypt(blob[:12], blob[12:], str(user_id).encode())
        except InvalidTag as exc:
            raise UserTokenRevoked(f"stored token of user {user_id} does not decrypt (key changed?)") from exc
        value: dict[str, str] = json.loads(plain)
        return value


@dataclass(frozen=True)
class Grant:
    access_token: str
    refresh_token: str
    expires_in: float | None
    refresh_expires_in: float | None

    @classmethod
    def from_answer(cls, answer: dict[str, Any]) -> Grant:
        if "error" in answer or "access_token" not in answer:
            raise UserTokenRevoked(str(answer.get("error_description") or answer.get("error") or "no token"))
        return cls(
            access_token=str(answer["access_token"]),
            refresh_token=str(answer.get("refresh_token") or ""),
            expires_in=float(answer["expires_in"]) if answer.get("expires_in") else None,
            refresh_expires_in=float(answer["refresh_token_expires_in"])
            if answer.get("refresh_token_expires_in")
            else None,
        )


class UserTokens:
    def __init__(self, store: Store, settings: Settings, session: aiohttp.ClientSession) -> None:
        self._store = store
        self._settings = settings
        self._session = session
        self._vault = TokenVault(settings.secret_key.get())
        self._locks: dict[int, asyncio.Lock] = {}

    async def exchange(self, params: dict[str, str]) -> Grant:
        """POST the OAuth token endpoint (code or refresh grant); bounded retries on transport errors."""
        body = {
            "client_id": self._settings.github_client_id,
            "client_secret": self._settings.github_client_secret.get(),
            **params,
        }
        url = f"{self._settings.github_web_url}/login/oauth/access_token"
        for attempt in range(1, 4):
            try:
                async with self._session.post(
                    url, json=body, headers={"Accept": "application/json"}, timeout=OAUTH_TIMEOUT
                ) as answer:
                    if answer.status >= 500:
                        raise TransientError(f"OAuth token endpoint answered {answer.status}")
                    return Grant.from_answer(await answer.json(content_type=None))
            except (aiohttp.ClientError, TimeoutError, TransientError) as exc:
                if attempt == 3:
                    raise TransientError(f"OAuth token endpoint unreachable: {type(exc).__name__}") from exc
                await asyncio.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def save(self, user_id: int, login: str, grant: Grant, installation_id: int | None = None) -> None:
        now = time.time()
        blob = self._vault.seal(user_id, {"access": grant.access_token, "refresh": grant.refresh_token})
        await self._store.save_user_token(
            user_id,
            login,
            blob,
            now + grant.expires_in if grant.expires_in else None,
            now + grant.refresh_expires_in if grant.refresh_expires_in else None,
        )
        if installation_id is not None:
            await self.link_installation(installation_id, user_id)

    async def link_installation(self, installation_id: int, user_id: int) -> None:
        known = await self._store.kv_get(INSTALLATION_USERS, str(installation_id)) or {"users": []}
        users = [u for u in known["users"] if u != user_id] + [user_id]
        await self._store.kv_set(INSTALLATION_USERS, str(installation_id), {"users": users[-20:]}, None)

    async def token_for(self, user_id: int) -> str | None:
        """A usable access token of the user, refreshed when it expires within 5 minutes; None if none."""
        async with self._locks.setdefault(user_id, asyncio.Lock()):
            stored = await self._store.get_user_token(user_id)
            if stored is None:
                return None
            secrets = self._vault.open(user_id, stored.ciphertext)
            if stored.expires_at is None or stored.expires_at - REFRESH_MARGIN > time.time():
                return secrets["access"]
            try:
                grant = await self.exchange(
                    {"grant_type": "refresh_token", "refresh_token": secrets["refresh"]}
                )
            except UserTokenRevoked:
                await self._store.delete_user_token(user_id)
                log.warning(
                    "user %s's GitHub grant was revoked or expired; they must authorise again", stored.login
                )
                raise
            await self.save(user_id, stored.login, grant)
            return grant.access_token

    async def token_for_installation(self, installation_id: int) -> str | None:
        """The token of the most recent user who authorised Fixloop for this installation and still can."""
        known = await self._store.kv_get(INSTALLATION_USERS, str(installation_id)) or {"users": []}
        for user_id in reversed(known["users"]):
            try:
                token = await self.token_for(int(user_id))
            except UserTokenRevoked:
                continue
            if token:
                return token
        return None
