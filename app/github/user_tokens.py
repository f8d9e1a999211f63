"""User-to-server tokens: stored encrypted, refreshed before expiry, dropped when revoked.

Copilot's coding agent is assigned, and Jules' label counts, only when a user does it: users authorise
Fixloop once (``/github/oauth/start``) and their tokens are kept here.

Encryption: AES-256-GCM (``cryptography``) with a key derived from ``FIXLOOP_SECRET_KEY`` by HKDF-SHA256
(salt ``HKDF_SALT``, info ``HKDF_INFO``: fixed, so the same secret always gives the same key). A stored
blob is ``version (1 byte) | nonce (12 random bytes) | ciphertext+tag``; the associated data names the
user id, so a blob copied to another user's row does not decrypt. The store only sees the blob.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time

import aiohttp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.errors import ConfigError, PermanentError, TransientError
from app.github.oauth import BAD_REFRESH_TOKEN, Grant, OAuthRefused, TokenEndpoint, start_url
from app.settings import Settings
from app.store import Store
from app.store.records import UserToken

__all__ = ["Grant", "TokenUnreadable", "TokenVault", "UserTokenRevoked", "UserTokens"]

log = logging.getLogger(__name__)

HKDF_SALT = b"fixloop"
HKDF_INFO = b"fixloop user-token encryption v1"
BLOB_VERSION = b"\x01"
NONCE_SIZE = 12
REFRESH_MARGIN = 300.0  # refresh an access token that expires within 5 minutes
INSTALLATION_USERS = "installation-users"  # kv: installation id -> ids of users who authorised there
MAX_LINKED_USERS = 20
NO_KEY = "FIXLOOP_SECRET_KEY: required to store user tokens"


class UserTokenRevoked(PermanentError):
    """The stored grant no longer works; the user must authorise again (the message says where)."""

    def __init__(self, message: str, *, login: str = "", start_url: str = "") -> None:
        super().__init__(message)
        self.login = login
        self.start_url = start_url


class TokenUnreadable(UserTokenRevoked):
    """A stored blob that does not decrypt: tampered, moved to another user, or the key changed."""


class TokenVault:
    """Authenticated encryption of a user's token pair, bound to the user id."""

    def __init__(self, secret_key: str) -> None:
        self._aead: AESGCM | None = None
        if secret_key:
            hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT, info=HKDF_INFO)
            self._aead = AESGCM(hkdf.derive(secret_key.encode()))

    @property
    def ready(self) -> bool:
        return self._aead is not None

    def _cipher(self) -> AESGCM:
        if self._aead is None:
            raise ConfigError(NO_KEY)
        return self._aead

    @staticmethod
    def _aad(user_id: int) -> bytes:
        return f"fixloop user token; user {user_id}".encode()

    def seal(self, user_id: int, secrets: dict[str, str]) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        sealed = self._cipher().encrypt(nonce, json.dumps(secrets).encode(), self._aad(user_id))
        return BLOB_VERSION + nonce + sealed

    def open(self, user_id: int, blob: bytes) -> dict[str, str]:
        cipher = self._cipher()
        if len(blob) < 1 + NONCE_SIZE + 16 or blob[:1] != BLOB_VERSION:
            raise TokenUnreadable(f"the stored token of user {user_id} is not a Fixloop token blob")
        nonce, sealed = blob[1 : 1 + NONCE_SIZE], blob[1 + NONCE_SIZE :]
        try:
            plain = cipher.decrypt(nonce, sealed, self._aad(user_id))
        except InvalidTag as exc:
            raise TokenUnreadable(
                f"the stored token of user {user_id} does not decrypt (FIXLOOP_SECRET_KEY changed?)"
            ) from exc
        value: dict[str, str] = json.loads(plain)
        return value


class UserTokens:
    """The users' grants: save after OAuth, hand out a fresh access token, forget revoked ones."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        session: aiohttp.ClientSession,
        *,
        vault: TokenVault | None = None,
        endpoint: TokenEndpoint | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._vault = vault or TokenVault(settings.secret_key.get())
        self._endpoint = endpoint or TokenEndpoint(settings, session)
        self._locks: dict[int, asyncio.Lock] = {}

    @property
    def can_store(self) -> bool:
        return self._vault.ready

    async def exchange(self, code: str) -> Grant:
        """Trade an OAuth code for a grant (``OAuthRefused``, ``TransientError`` on failure)."""
        return await self._endpoint.exchange_code(code)

    async def save(self, user_id: int, login: str, grant: Grant, installation_id: int | None = None) -> None:
        """Store the pair encrypted (``ConfigError`` without FIXLOOP_SECRET_KEY), expiries as times."""
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
        value = {"users": users[-MAX_LINKED_USERS:]}
        await self._store.kv_set(INSTALLATION_USERS, str(installation_id), value, None)

    async def token_for(self, who: int | str) -> str | None:
        """A usable access token of a user (id or login), refreshed when it expires within 5 minutes.

        None when the user never authorised; ``UserTokenRevoked`` (with the link to authorise again)
        when GitHub no longer accepts the grant, whose row is then deleted.
        """
        stored = await self._find(who)
        if stored is None:
            return None
        async with self._locks.setdefault(stored.user_id, asyncio.Lock()):
            stored = await self._store.get_user_token(stored.user_id)  # another task may have refreshed
            if stored is None:
                return None
            secrets = self._open(stored)
            if stored.expires_at is None or stored.expires_at - REFRESH_MARGIN > time.time():
                return secrets["access"]
            return await self._refresh(stored, secrets["refresh"])

    async def any_authorised(self, logins: list[str]) -> str | None:
        """The first of ``logins`` with a usable token; a refresh that failed transiently is re-raised
        when nobody else qualifies, so the caller retries instead of concluding "nobody authorised"."""
        delayed: TransientError | None = None
        for login in logins:
            try:
                if await self.token_for(login):
                    return login
            except UserTokenRevoked:
                continue
            except TransientError as exc:
                delayed = delayed or exc
        if delayed is not None:
            raise delayed
        return None

    async def linked_logins(self, installation_id: int) -> list[str]:
        """Logins that authorised Fixloop for this installation, most recent first (tokens still stored)."""
        known = await self._store.kv_get(INSTALLATION_USERS, str(installation_id)) or {"users": []}
        logins = []
        for user_id in reversed(known["users"]):
            stored = await self._store.get_user_token(int(user_id))
            if stored is not None:
                logins.append(stored.login)
        return logins

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

    async def mark_revoked(self, user_id: int) -> None:
        """GitHub answered 401 to this user's token: forget it (they authorise again to come back)."""
        stored = await self._store.get_user_token(user_id)
        if await self._store.delete_user_token(user_id):
            login = stored.login if stored else str(user_id)
            log.warning("GitHub refused the token of user %s (401); it is deleted", login)

    def revoked(self, login: str, why: str) -> UserTokenRevoked:
        """The error to raise for a user whose grant is gone: it says where to authorise again."""
        link = start_url(self._settings)
        return UserTokenRevoked(
            f"GitHub no longer accepts the authorisation of @{login} ({why}); "
            f"@{login} can authorise Fixloop again at {link}",
            login=login,
            start_url=link,
        )

    async def _find(self, who: int | str) -> UserToken | None:
        if isinstance(who, int):
            return await self._store.get_user_token(who)
        return await self._store.get_user_token_by_login(who.removeprefix("@"))

    def _open(self, stored: UserToken) -> dict[str, str]:
        try:
            return self._vault.open(stored.user_id, stored.ciphertext)
        except TokenUnreadable as exc:
            log.warning("stored token of user %s is unreadable: %s", stored.login, exc)
            error = self.revoked(stored.login, "the stored token cannot be decrypted")
            raise TokenUnreadable(str(error), login=stored.login, start_url=error.start_url) from exc

    async def _refresh(self, stored: UserToken, refresh_token: str) -> str:
        if not refresh_token or (stored.refresh_expires_at or float("inf")) <= time.time():
            await self._store.delete_user_token(stored.user_id)
            raise self.revoked(stored.login, "the access and refresh tokens have expired")
        try:
            grant = await self._endpoint.refresh(refresh_token)
        except OAuthRefused as exc:
            if exc.error != BAD_REFRESH_TOKEN:
                raise PermanentError(f"refreshing the token of @{stored.login} failed: {exc}") from exc
            return await self._refresh_refused(stored, exc)
        await self.save(stored.user_id, stored.login, grant)
        return grant.access_token

    async def _refresh_refused(self, stored: UserToken, exc: OAuthRefused) -> str:
        # Refresh tokens are single use: another Fixloop process may have refreshed this one just now.
        current = await self._store.get_user_token(stored.user_id)
        if current is not None and current.ciphertext != stored.ciphertext:
            return self._open(current)["access"]
        await self._store.delete_user_token(stored.user_id)
        log.warning("the GitHub grant of user %s was revoked or expired; it is deleted", stored.login)
        raise self.revoked(stored.login, "the refresh token was revoked or has expired") from exc
