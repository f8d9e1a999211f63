"""Sessions of the fleet page: a signed cookie naming a server-side session that holds the user's token.

The cookie carries only a random session id and its HMAC (key derived from ``FIXLOOP_SECRET_KEY``); it is
HttpOnly, SameSite=Lax, and Secure when ``FIXLOOP_PUBLIC_URL`` is https. The session itself (login, user
id, the user-to-server token sealed with the same AES-GCM vault as stored user tokens) lives in the store
with a TTL, so signing out, or the token's expiry, ends it on every replica.

The sign-in ``state`` is bound to the browser: ``/ui/login`` sets a short-lived random cookie and stores
only its hash with the state; the callback refuses a state that comes back in another browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from aiohttp import web

from app.github.user_tokens import TokenUnreadable, TokenVault
from app.settings import Settings
from app.store import Store

SESSION_COOKIE = "fixloop_session"
LOGIN_COOKIE = "fixloop_login"
SESSIONS = "ui-session"  # kv namespace: session id -> {"user_id", "login", "token"}
SESSION_TTL = 8 * 3600.0  # GitHub's user-to-server tokens last 8 hours
LOGIN_TTL = 600
_SIGNING_INFO = b"fixloop fleet page session cookie"


@dataclass(frozen=True)
class Session:
    id: str
    user_id: int
    login: str
    token: str = field(repr=False)


def browser_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


class Sessions:
    def __init__(self, settings: Settings, store: Store) -> None:
        secret = settings.secret_key.get()
        self._key = hmac.new(secret.encode(), _SIGNING_INFO, hashlib.sha256).digest() if secret else b""
        self._vault = TokenVault(secret)
        self._store = store
        self.secure = settings.public_url.startswith("https://")

    @property
    def ready(self) -> bool:
        return bool(self._key)

    def _sign(self, session_id: str) -> str:
        mac = hmac.new(self._key, session_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def _unsigned(self, cookie: str) -> str | None:
        session_id, _, signature = cookie.partition(".")
        if not session_id or not signature or not self._key:
            return None
        return session_id if hmac.compare_digest(signature, self._sign(session_id)) else None

    async def create(self, response: web.StreamResponse, *, user_id: int, login: str, token: str) -> None:
        session_id = secrets.token_urlsafe(32)
        sealed = self._vault.seal(user_id, {"access": token}).hex()
        record = {"user_id": user_id, "login": login, "token": sealed}
        await self._store.kv_set(SESSIONS, session_id, record, SESSION_TTL)
        value = f"{session_id}.{self._sign(session_id)}"
        self._set_cookie(response, SESSION_COOKIE, value, int(SESSION_TTL), path="/")

    async def current(self, request: web.Request) -> Session | None:
        session_id = self._unsigned(request.cookies.get(SESSION_COOKIE, ""))
        if session_id is None:
            return None
        record = await self._store.kv_get(SESSIONS, session_id)
        if record is None:
            return None
        try:
            user_id = int(record["user_id"])
            token = self._vault.open(user_id, bytes.fromhex(str(record["token"])))["access"]
        except (TokenUnreadable, KeyError, ValueError):  # FIXLOOP_SECRET_KEY changed: sign in again
            return None
        return Session(session_id, user_id, str(record["login"]), token)

    async def end(self, request: web.Request, response: web.StreamResponse) -> None:
        session_id = self._unsigned(request.cookies.get(SESSION_COOKIE, ""))
        if session_id is not None:
            await self._store.kv_delete(SESSIONS, session_id)
        response.del_cookie(SESSION_COOKIE, path="/")

    def bind_browser(self, response: web.StreamResponse) -> str:
        """Set the sign-in cookie; the hash to store with the OAuth state."""
        nonce = secrets.token_urlsafe(32)
        self._set_cookie(response, LOGIN_COOKIE, nonce, LOGIN_TTL, path="/ui")
        return browser_hash(nonce)

    @staticmethod
    def same_browser(request: web.Request, stored_hash: object) -> bool:
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not nonce or not isinstance(stored_hash, str):
            return False
        return hmac.compare_digest(browser_hash(nonce), stored_hash)

    def _set_cookie(self, response: web.StreamResponse, name: str, value: str, age: int, path: str) -> None:
        response.set_cookie(
            name, value, max_age=age, path=path, httponly=True, secure=self.secure, samesite="Lax"
        )
