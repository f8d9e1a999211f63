"""``/github/oauth/start`` and ``/github/oauth/callback``: a user authorises Fixloop to act in their name.

The post-install redirect of ``request_oauth_on_install`` arrives at the callback with ``code``,
``installation_id`` and ``setup_action`` but no ``state`` of ours. It is accepted only with
``setup_action`` set and an installation id that belongs to the App. Trade-off: without a state, a
forged link could make a victim's browser store a token; but the code is single-use and bound to our
client secret, and the identity comes from ``GET /user`` with the token we received, so the worst case
is storing the attacker's own token for the attacker's own login, which the page names.
"""

from __future__ import annotations

import html
import logging
import secrets
from collections.abc import Mapping
from urllib.parse import urlencode

import gidgethub
from aiohttp import web

from app.errors import FixloopError
from app.github.app import GitHubApp
from app.github.user_tokens import UserTokens
from app.settings import Settings
from app.store import Store

log = logging.getLogger(__name__)

STATE_TTL = 600.0
CALLBACK = "/github/oauth/callback"


def _page(status: int, title: str, text: str) -> web.Response:
    body = (
        "<!doctype html><meta charset=utf-8><title>Fixloop</title>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
    )
    return web.Response(status=status, text=body, content_type="text/html")


class OAuthEndpoints:
    def __init__(self, settings: Settings, store: Store, github: GitHubApp, tokens: UserTokens) -> None:
        self._settings = settings
        self._store = store
        self._github = github
        self._tokens = tokens

    def _configured(self) -> bool:
        return bool(self._settings.github_client_id and self._settings.github_client_secret)

    async def start(self, request: web.Request) -> web.Response:
        if not self._configured():
            return _page(503, "Not configured", "GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are not set.")
        state = secrets.token_urlsafe(32)
        installation = request.query.get("installation_id", "")
        data = {"installation_id": int(installation)} if installation.isdigit() else {}
        await self._store.save_oauth_state(state, data, STATE_TTL)
        query = urlencode(
            {
                "client_id": self._settings.github_client_id,
                "redirect_uri": self._settings.public_url + CALLBACK,
                "state": state,
            }
        )
        raise web.HTTPFound(f"{self._settings.github_web_url}/login/oauth/authorize?{query}")

    async def callback(self, request: web.Request) -> web.Response:
        if not self._configured():
            return _page(503, "Not configured", "GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are not set.")
        query = request.query
        if "error" in query:
            return _page(
                400, "Not authorised", f"GitHub said: {query.get('error_description', query['error'])}"
            )
        code = query.get("code", "")
        if not code:
            return _page(400, "Missing code", "Start again at /github/oauth/start.")
        installation_id = await self._installation_of(query)
        if isinstance(installation_id, web.Response):
            return installation_id
        try:
            grant = await self._tokens.exchange(
                {"code": code, "redirect_uri": self._settings.public_url + CALLBACK}
            )
            me = await self._github.client(grant.access_token).getitem("/user")
            await self._tokens.save(int(me["id"]), str(me["login"]), grant, installation_id)
        except (FixloopError, gidgethub.HTTPException) as exc:
            log.warning("OAuth callback failed: %s", type(exc).__name__)
            return _page(
                400, "Not authorised", f"GitHub did not accept the authorisation ({exc}). Start again."
            )
        log.info("user %s authorised Fixloop (installation %s)", me["login"], installation_id)
        return _page(200, "Done", f"Fixloop can now act for @{me['login']}. You can close this page.")

    async def _installation_of(self, query: Mapping[str, str]) -> int | web.Response | None:
        """The installation to link the user to, from our state or GitHub's post-install redirect."""
        state = query.get("state", "")
        if state:
            data = await self._store.pop_oauth_state(state)
            if data is None:
                return _page(
                    400,
                    "Expired or unknown request",
                    "This link was already used or is too old. Start again.",
                )
            found = data.get("installation_id")
            return int(found) if found is not None else None
        raw = str(query.get("installation_id", ""))
        if not query.get("setup_action") or not raw.isdigit():
            return _page(400, "Unknown request", "No state: start again at /github/oauth/start.")
        if not await self._app_has_installation(int(raw)):
            return _page(400, "Unknown installation", "This installation does not belong to Fixloop.")
        return int(raw)

    async def _app_has_installation(self, installation_id: int) -> bool:
        client = self._github.client()
        async for item in client.getiter("/app/installations", jwt=self._github.app_jwt()):
            if int(item["id"]) == installation_id:
                return True
        return False
