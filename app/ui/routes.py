"""The fleet page's routes: ``/ui`` (incidents), ``/ui/incidents/{id}``, ``/ui/scorecard``, and sign-in.

Sign-in is GitHub's OAuth web flow for the App (the client of ``app.github.oauth``), with its own
callback ``/ui/callback`` (register it among the App's callback URLs): the user's token is kept in the
server-side session only, never stored as an agent-assignment token. Every page shows only incidents of
repositories the signed-in user can read (``app.ui.access``); another repository's incident is a 404,
the same answer as one that does not exist.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

import gidgethub
from aiohttp import web

from app.errors import FixloopError
from app.github.oauth import Grant, OAuthRefused, TokenEndpoint, oauth_configured
from app.loop.incident.scorecard import scorecard
from app.services import SERVICES, Services
from app.store import Incident
from app.ui.access import RepoAccess, SignedOut
from app.ui.render import message, page
from app.ui.session import LOGIN_COOKIE, Session, Sessions
from app.ui.views import incident_detail, incident_list, scorecard_view

log = logging.getLogger(__name__)

CALLBACK_PATH = "/ui/callback"
LIST_LIMIT = 200
STATE_TTL = 600.0
NEXT_PAGE = re.compile(r"/ui(/incidents/[0-9]{1,18}|/scorecard)?")
UI = "ui"  # the stored sign-in state's key of the browser that started it


class UITokenEndpoint(TokenEndpoint):
    """The App's token endpoint (timeouts, retries) with the fleet page's ``redirect_uri``: GitHub wants the
    one the authorisation was asked with, and ``exchange_code`` sends the agent sign-in's."""

    async def exchange_for_ui(self, code: str, redirect_uri: str) -> Grant:
        return Grant.from_answer(await self._post({"code": code, "redirect_uri": redirect_uri}))


class FleetUI:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.sessions = Sessions(services.settings, services.store)
        self.access = RepoAccess(services.github)
        self.tokens = UITokenEndpoint(services.settings, services.session)
        self.callback_url = services.settings.public_url + CALLBACK_PATH

    @property
    def web_url(self) -> str:
        return self.services.settings.github_web_url

    def not_ready(self) -> web.Response | None:
        if not oauth_configured(self.services.settings):
            return message(503, "Not configured", "GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are not set.")
        if not self.sessions.ready:
            return message(503, "Not configured", "FIXLOOP_SECRET_KEY is not set: sessions cannot be signed.")
        return None

    async def login(self, request: web.Request) -> web.Response:
        refused = self.not_ready()
        if refused is not None:
            return refused
        state = secrets.token_urlsafe(32)
        response = web.Response(status=302, headers={"Cache-Control": "no-store"})
        bound = {UI: self.sessions.bind_browser(response), "next": _next_page(request.query.get("next", ""))}
        await self.services.store.save_oauth_state(state, bound, STATE_TTL)
        query = urlencode(
            {
                "client_id": self.services.settings.github_client_id,
                "redirect_uri": self.callback_url,
                "state": state,
            }
        )
        response.headers["Location"] = f"{self.web_url}/login/oauth/authorize?{query}"
        return response

    async def callback(self, request: web.Request) -> web.Response:
        refused = self.not_ready()
        if refused is not None:
            return refused
        state, code = request.query.get("state", ""), request.query.get("code", "")
        data = await self.services.store.pop_oauth_state(state) if state else None
        if data is None or not self.sessions.same_browser(request, data.get(UI)):
            return message(
                400, "Sign-in expired", "This sign-in did not start in this browser, or is too old."
            )
        if not code:
            return message(400, "Not signed in", "GitHub sent no authorisation code.")
        try:
            grant = await self.tokens.exchange_for_ui(code, self.callback_url)
            me = await self.services.github.client(grant.access_token).getitem("/user")
        except OAuthRefused as exc:
            return message(400, "Not signed in", f"GitHub refused: {exc.description or exc.error}.")
        except (FixloopError, gidgethub.GitHubException) as exc:
            log.warning("fleet page sign-in failed: %s", type(exc).__name__)
            return message(502, "Try again", "GitHub could not be reached or answered with an error.")
        back = _next_page(str(data.get("next", "")))
        response = web.Response(status=302, headers={"Location": back, "Cache-Control": "no-store"})
        await self.sessions.create(
            response, user_id=int(me["id"]), login=str(me["login"]), token=grant.access_token
        )
        response.del_cookie(LOGIN_COOKIE, path="/ui")
        return response

    async def logout(self, request: web.Request) -> web.Response:
        response = web.Response(status=303, headers={"Location": "/ui/signed-out"})
        await self.sessions.end(request, response)
        return response

    async def signed_out(self, request: web.Request) -> web.Response:
        return page("Signed out", '<p><a href="/ui/login">Sign in with GitHub</a></p>', login=None)

    async def _session(self, request: web.Request) -> Session:
        session = await self.sessions.current(request)
        if session is None:
            target = "/ui/login?" + urlencode({"next": request.path})
            raise web.HTTPFound(target, headers={"Cache-Control": "no-store"})
        return session

    async def _visible(self, session: Session, incidents: list[Incident]) -> list[Incident]:
        readable = await self.access.readable(session.user_id, session.token, {i.repo for i in incidents})
        return [i for i in incidents if i.repo in readable]

    async def fleet(self, request: web.Request) -> web.Response:
        session = await self._session(request)
        incidents = await self.services.store.recent_incidents(LIST_LIMIT)
        shown = await self._visible(session, incidents)
        note = (
            f"Showing the {LIST_LIMIT} most recently changed incidents."
            if len(incidents) == LIST_LIMIT
            else ""
        )
        return page("Incidents", incident_list(shown, self.web_url, note), login=session.login)

    async def incident(self, request: web.Request) -> web.Response:
        session = await self._session(request)
        raw = request.match_info["incident_id"]
        number = raw.isascii() and raw.isdigit() and len(raw) < 19  # str.isdigit alone takes "²"
        found = await self.services.store.get_incident(int(raw)) if number else None
        if found is None or not await self.access.can_read(session.user_id, session.token, found.repo):
            return message(
                404, "Not found", "No such incident in the repositories you can read.", login=session.login
            )
        transitions = await self.services.store.list_transitions(found.id)
        audit = await self.services.store.list_audit(found.id)
        body = incident_detail(found, transitions, audit, self.web_url)
        return page(f"Incident #{found.id}", body, login=session.login)

    async def scorecard(self, request: web.Request) -> web.Response:
        session = await self._session(request)
        card = await scorecard(self.services)
        readable = await self.access.readable(session.user_id, session.token, {repo for repo, _ in card.rows})
        return page("Agent scorecard", scorecard_view(card.only(readable)), login=session.login)


def _next_page(path: str) -> str:
    """Where to go after sign-in: a fleet page path, never another site (an open redirect)."""
    return path if NEXT_PAGE.fullmatch(path) else "/ui"


def _ui(request: web.Request) -> FleetUI:
    services = request.app[SERVICES]
    if services.ui is None:
        services.ui = FleetUI(services)  # one per process: it holds the sessions and the access cache
    return services.ui


async def _guard(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.Response]]
) -> web.StreamResponse:
    """A token GitHub no longer accepts ends the session; the browser goes through sign-in again."""
    try:
        return await handler(request)
    except SignedOut:
        target = "/ui/login?" + urlencode({"next": request.path})
        response = web.HTTPFound(target, headers={"Cache-Control": "no-store"})
        await _ui(request).sessions.end(request, response)
        raise response from None


def ui_routes() -> list[web.RouteDef]:
    async def fleet(request: web.Request) -> web.StreamResponse:
        return await _guard(request, _ui(request).fleet)

    async def incident(request: web.Request) -> web.StreamResponse:
        return await _guard(request, _ui(request).incident)

    async def card(request: web.Request) -> web.StreamResponse:
        return await _guard(request, _ui(request).scorecard)

    async def login(request: web.Request) -> web.StreamResponse:
        return await _ui(request).login(request)

    async def callback(request: web.Request) -> web.StreamResponse:
        return await _ui(request).callback(request)

    async def logout(request: web.Request) -> web.StreamResponse:
        return await _ui(request).logout(request)

    async def signed_out(request: web.Request) -> web.StreamResponse:
        return await _ui(request).signed_out(request)

    return [
        web.get("/ui", fleet, allow_head=False),
        web.get("/ui/incidents/{incident_id}", incident, allow_head=False),
        web.get("/ui/scorecard", card, allow_head=False),
        web.get("/ui/login", login, allow_head=False),
        web.get(CALLBACK_PATH, callback, allow_head=False),
        web.post("/ui/logout", logout),
        web.get("/ui/signed-out", signed_out, allow_head=False),
    ]
