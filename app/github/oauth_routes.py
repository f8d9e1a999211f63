"""``GET /github/oauth/start`` and ``GET /github/oauth/callback``: a user authorises Fixloop once.

Start stores a random single-use ``state`` (10 minutes), binds it to the browser with a short-lived
HttpOnly, SameSite=Lax cookie holding a random nonce (the state's record keeps only the nonce's SHA-256),
and sends the browser to GitHub; the callback pops the state, refuses it when the cookie is missing or
differs (a forged link completing someone else's flow in the victim's browser: login CSRF), trades
the code for a token pair, asks ``GET /user`` who it belongs to, and stores the pair encrypted.
Pages are small, escaped HTML; no token is ever put in a URL, a page or a log. A browser has one sign-in
in flight at a time: a second ``/start`` replaces the cookie, and the first tab's callback is refused.

The grant is linked to installations: the one named by ``/start?installation_id=`` or GitHub's
post-install redirect; for a plain sign-in (no query), every installation of the App the user reaches
(``GET /user/installations`` with the new token). Whether the user may write to a repository is checked
at each hand-off, as for any grant. A ``user-grant`` job then resumes the hand-offs of those
installations that wait in ``needs_human`` for a user token (``app.loop.steps.grants``).

The post-install redirect of ``request_oauth_on_install`` comes back with ``code``, ``installation_id``
and ``setup_action`` but no state of ours. CSRF trade-off: without a state, a forged link could make a
victim's browser complete a flow started by someone else. It is accepted only when ``setup_action`` is
set and the installation belongs to the App; the code is single use and only redeemable with our client
secret; and the identity comes from ``GET /user`` with the token received, never from the request. So
the worst case is storing the attacker's own token under the attacker's own login, and the page names
that login. Users who did not just install the App are sent through ``/start`` (with a state) instead.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import secrets
from collections.abc import Callable, Mapping

import gidgethub
from aiohttp import web

from app.errors import ConfigError, FixloopError, TransientError
from app.github.app import GitHubApp
from app.github.http import GitHubClient
from app.github.oauth import (
    CALLBACK_PATH,
    START_PATH,
    OAuthRefused,
    authorize_url,
    oauth_configured,
    start_url,
)
from app.github.user_tokens import NO_KEY, UserTokens
from app.settings import Settings
from app.store import Store
from app.web import JobSink

log = logging.getLogger(__name__)

STATE_TTL = 600.0
STATE_BYTES = 32
BROWSER_COOKIE = "fixloop_oauth"
COOKIE_PATH = "/github/oauth"  # sent to /callback only; Lax: GitHub's redirect back is a top-level GET
SETUP_ACTIONS = ("install", "update")
GRANT_JOB = "user-grant"  # a user authorised Fixloop: app.loop.steps.grants resumes what waited for a token
PER_PAGE = 100
MAX_REACHABLE = 1000
NOT_CONFIGURED = "GitHub sign-in is not configured: GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are not set."
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the callback URL carries a code
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'",
}


def _page(status: int, title: str, text: str, link: str = "") -> web.Response:
    again = f'<p><a href="{html.escape(link)}">Start again</a></p>' if link else ""
    body = (
        "<!doctype html><meta charset=utf-8><title>Fixloop</title>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{again}"
    )
    return web.Response(status=status, text=body, content_type="text/html", headers=HEADERS)


class OAuthEndpoints:
    def __init__(
        self, settings: Settings, store: Store, github: GitHubApp, tokens: UserTokens, sink: JobSink
    ) -> None:
        self._settings = settings
        self._sink = sink
        self._store = store
        self._github = github
        self._tokens = tokens
        self._again = start_url(settings)

    def _not_ready(self) -> web.Response | None:
        if not oauth_configured(self._settings):
            return _page(503, "Not configured", NOT_CONFIGURED)
        if not self._tokens.can_store:
            return _page(503, "Not configured", f"Fixloop cannot keep tokens safe yet: {NO_KEY}.")
        return None

    async def start(self, request: web.Request) -> web.Response:
        refused = self._not_ready()
        if refused is not None:
            return refused
        raw = request.query.get("installation_id", "")
        installation = _installation_id(raw)
        if raw and installation is None:
            return _page(400, "Bad request", "installation_id must be a number.", self._again)
        state = secrets.token_urlsafe(STATE_BYTES)
        nonce = secrets.token_urlsafe(STATE_BYTES)
        data: dict[str, object] = {"browser": _digest(nonce)}
        if installation is not None:
            data["installation_id"] = installation
        await self._store.save_oauth_state(state, data, STATE_TTL)
        location = authorize_url(self._settings, state)
        response = web.Response(status=302, headers={**HEADERS, "Location": location})
        response.set_cookie(
            BROWSER_COOKIE,
            nonce,
            max_age=int(STATE_TTL),
            path=COOKIE_PATH,
            httponly=True,
            samesite="Lax",
            secure=self._settings.public_url.startswith("https://"),
        )
        return response

    async def callback(self, request: web.Request) -> web.Response:
        refused = self._not_ready()
        if refused is not None:
            return refused
        response = await self._callback(request)
        response.del_cookie(BROWSER_COOKIE, path=COOKIE_PATH)  # single use, as the state
        return response

    async def _callback(self, request: web.Request) -> web.Response:
        try:
            origin = await self._origin(request.query, request.cookies.get(BROWSER_COOKIE, ""))
            if isinstance(origin, web.Response):
                return origin
            login = await self._authorise(request.query["code"], origin)
        except OAuthRefused as exc:
            text = f"GitHub did not accept the authorisation: {exc.description or exc.error}."
            return _page(400, "Not authorised", text, self._again)
        except ConfigError as exc:
            return _page(503, "Not configured", str(exc))
        except (FixloopError, gidgethub.HTTPException) as exc:
            log.warning("OAuth callback failed: %s", type(exc).__name__)
            text = "GitHub could not be reached or answered with an error. Please try again."
            return _page(503 if isinstance(exc, TransientError) else 502, "Try again", text, self._again)
        return _page(200, "Done", f"Fixloop can now act for @{login}. You can close this page.")

    async def _origin(self, query: Mapping[str, str], cookie: str) -> int | web.Response | None:
        """The installation to link the user to (None: none), or the page that refuses the request."""
        state = query.get("state", "")
        data = await self._store.pop_oauth_state(state) if state else None  # single use, even on error
        if "error" in query:
            said = query.get("error_description") or query["error"]
            return _page(400, "Not authorised", f"GitHub said: {said}", self._again)
        if not query.get("code"):
            return _page(400, "Missing code", "GitHub sent no authorisation code.", self._again)
        if state and data is None:
            text = "This sign-in link was already used or is too old."
            return _page(400, "Expired or unknown request", text, self._again)
        if state and not _same_browser(cookie, (data or {}).get("browser")):
            text = (
                "This sign-in was started in another browser (or its cookie was blocked or has expired): "
                "finish it in the browser that started it, with cookies allowed."
            )
            return _page(400, "Not the browser that started", text, self._again)
        if state:
            found = (data or {}).get("installation_id")
            installation = int(found) if isinstance(found, int) else None
        else:
            installation = self._setup_installation(query)
            if installation is None:
                return _page(
                    400, "Unknown request", "No state: this request did not start here.", self._again
                )
        if installation is not None and not await self._app_has_installation(installation):
            return _page(400, "Unknown installation", "This installation does not belong to Fixloop.")
        return installation

    @staticmethod
    def _setup_installation(query: Mapping[str, str]) -> int | None:
        """The installation of GitHub's post-install redirect, or None when this is not one."""
        if query.get("setup_action") not in SETUP_ACTIONS:
            return None
        return _installation_id(query.get("installation_id", ""))

    async def _authorise(self, code: str, installation: int | None) -> str:
        grant = await self._tokens.exchange(code)
        as_user = self._github.client(grant.access_token)
        me = await as_user.getitem("/user")
        login, user_id = str(me["login"]), int(me["id"])
        # A plain sign-in names no installation: the grant serves every one the user can reach.
        reached = [installation] if installation is not None else await reachable_installations(as_user)
        await self._tokens.save(user_id, login, grant)
        for installation_id in reached:
            await self._tokens.link_installation(installation_id, user_id)
        log.info("user %s authorised Fixloop (installations %s)", login, reached or "none reachable")
        if reached:  # hand-offs that waited for a user token resume in a job, not in this request
            payload = {"login": login, "user_id": user_id, "installations": reached}
            await self._sink.submit(GRANT_JOB, f"grant:{user_id}:{secrets.token_hex(8)}", payload)
        return login

    async def _app_has_installation(self, installation_id: int) -> bool:
        client = self._github.client()
        async for item in client.getiter("/app/installations?per_page=100", jwt=self._github.app_jwt()):
            if int(item["id"]) == installation_id:
                return True
        return False


async def reachable_installations(as_user: GitHubClient) -> list[int]:
    """Ids of the App's installations the user's token reaches (``GET /user/installations``: GitHub lists
    those where the user has explicit permission), at most MAX_REACHABLE of them."""
    found: list[int] = []
    url = f"/user/installations?per_page={PER_PAGE}"
    async for item in as_user.getiter(url, iterable_key="installations"):
        found.append(int(item["id"]))
        if len(found) >= MAX_REACHABLE:
            log.warning(
                "the user reaches more than %d installations; only the first are linked", MAX_REACHABLE
            )
            break
    return found


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def _same_browser(cookie: str, expected: object) -> bool:
    """Whether the callback's cookie is the nonce ``/start`` set; a state saved without one never is."""
    if not cookie or not isinstance(expected, str) or not expected:
        return False
    return hmac.compare_digest(_digest(cookie), expected)


def _installation_id(raw: str) -> int | None:
    """An installation id from a query string, or None: ASCII digits that fit the store's 64-bit integers.

    ``str.isdigit`` alone also accepts "²" (int() refuses it) and numbers too large to store.
    """
    if not (raw.isascii() and raw.isdigit()) or int(raw) >= 2**63:
        return None
    return int(raw)


def oauth_routes(endpoints: Callable[[web.Request], OAuthEndpoints]) -> list[web.RouteDef]:
    """The two routes; ``endpoints`` builds the handler object from the request's app (its services).

    No HEAD: a link prefetcher must not consume a state or redeem a code.
    """

    async def start(request: web.Request) -> web.Response:
        return await endpoints(request).start(request)

    async def callback(request: web.Request) -> web.Response:
        return await endpoints(request).callback(request)

    return [
        web.get(START_PATH, start, allow_head=False),
        web.get(CALLBACK_PATH, callback, allow_head=False),
    ]
