"""The fleet page over HTTP: cookies, the browser-bound state, sessions, escaping and headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web

from app.settings import Settings
from app.ui.routes import FleetUI
from app.ui.session import LOGIN_COOKIE, SESSION_COOKIE, Sessions
from tests.ui.conftest import HOSTILE, OTHER_REPO, Fleet


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    # unsafe: the app is reached at 127.0.0.1, and aiohttp's jar drops cookies of IP hosts by default
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def start(fleet: Fleet, browser: aiohttp.ClientSession) -> tuple[str, aiohttp.ClientResponse]:
    """GET /ui/login; the authorize URL and the answer (with its cookies)."""
    answer = await browser.get(f"{fleet.public_url}/ui/login", allow_redirects=False)
    assert answer.status == 302
    return answer.headers["Location"], answer


async def authorise(fleet: Fleet, browser: aiohttp.ClientSession, authorize: str, login: str) -> str:
    """The user signs in on GitHub's authorize page; the callback URL GitHub sends the browser to."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    async with browser.post(
        f"{fleet.github.web_url}/login/oauth/authorize", data={**query, "login": login}, allow_redirects=False
    ) as answer:
        assert answer.status == 302
        return answer.headers["Location"]


async def sign_in(fleet: Fleet, browser: aiohttp.ClientSession, login: str) -> None:
    authorize, _ = await start(fleet, browser)
    back = await authorise(fleet, browser, authorize, login)
    answer = await browser.get(back, allow_redirects=False)
    assert answer.status == 302 and answer.headers["Location"] == "/ui", await answer.text()


async def test_cookies_are_httponly_lax_and_the_state_is_bound_to_the_browser(
    fleet: Fleet, browser: aiohttp.ClientSession
) -> None:
    authorize, answer = await start(fleet, browser)
    query = parse_qs(urlsplit(authorize).query)
    assert query["redirect_uri"] == [f"{fleet.public_url}/ui/callback"]
    login = SimpleCookie(answer.headers["Set-Cookie"])[LOGIN_COOKIE]
    assert login["httponly"] and login["samesite"] == "Lax" and login["path"] == "/ui"
    assert not login["secure"], "the app is served over http here"
    back = await authorise(fleet, browser, authorize, "alice")

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        refused = await other.get(back, allow_redirects=False)  # same state and code, another browser
        assert refused.status == 400 and "did not start in this browser" in await refused.text()
        assert SESSION_COOKIE not in refused.cookies
    again = await browser.get(back, allow_redirects=False)
    assert again.status == 400, "the state was used once, even by the refused request"


async def test_session_cookie_signed_and_logout_ends_the_session(
    fleet: Fleet, browser: aiohttp.ClientSession
) -> None:
    await sign_in(fleet, browser, "alice")
    cookie = next(c for c in browser.cookie_jar if c.key == SESSION_COOKIE)
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    page = await browser.get(f"{fleet.public_url}/ui")
    assert page.status == 200 and "acme/rollouts-demo" in await page.text()

    session_id, _, signature = cookie.value.partition(".")
    forged = {SESSION_COOKIE: f"{session_id}.{signature[:-2]}xx"}
    async with aiohttp.ClientSession(cookies=forged) as attacker:
        answer = await attacker.get(f"{fleet.public_url}/ui", allow_redirects=False)
        assert answer.status == 302 and answer.headers["Location"] == "/ui/login?next=/ui"

    out = await browser.post(f"{fleet.public_url}/ui/logout", allow_redirects=False)
    assert out.status == 303
    async with aiohttp.ClientSession(cookies={SESSION_COOKIE: cookie.value}) as replay:
        answer = await replay.get(f"{fleet.public_url}/ui", allow_redirects=False)
        assert answer.status == 302, "the session is gone server-side, not only the cookie"


async def test_sign_in_returns_to_the_page_asked_for_and_never_off_site(
    fleet: Fleet, browser: aiohttp.ClientSession
) -> None:
    deep = f"/ui/incidents/{fleet.demo.id}"
    first = await browser.get(f"{fleet.public_url}{deep}", allow_redirects=False)
    assert first.headers["Location"] == f"/ui/login?next=/ui/incidents/{fleet.demo.id}"
    for asked, lands in ((deep, deep), ("//evil.example/ui", "/ui"), ("https://evil.example", "/ui")):
        authorize = (
            await browser.get(f"{fleet.public_url}/ui/login", params={"next": asked}, allow_redirects=False)
        ).headers["Location"]
        back = await authorise(fleet, browser, authorize, "alice")
        answer = await browser.get(back, allow_redirects=False)
        assert answer.status == 302 and answer.headers["Location"] == lands


async def test_untrusted_text_is_escaped_under_a_strict_csp(
    fleet: Fleet, browser: aiohttp.ClientSession
) -> None:
    await sign_in(fleet, browser, "carol")
    answer = await browser.get(f"{fleet.public_url}/ui/incidents/{fleet.secret.id}")
    body = await answer.text()
    assert answer.status == 200 and OTHER_REPO in body
    assert HOSTILE not in body and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert "<script" not in body and "<img" not in body
    csp = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "script-src" not in csp
    assert answer.headers["X-Frame-Options"] == "DENY" and answer.headers["Cache-Control"] == "no-store"
    for bad in ("abc", "0", "99999", "1" * 30):
        missing = await browser.get(f"{fleet.public_url}/ui/incidents/{bad}")
        assert missing.status == 404


async def test_access_is_checked_with_the_users_token_and_cached_briefly(
    fleet: Fleet, browser: aiohttp.ClientSession
) -> None:
    await sign_in(fleet, browser, "alice")
    before = len(fleet.github.requests_to("GET", "/repos/{owner}/{repo}"))
    for _ in range(3):
        assert (await browser.get(f"{fleet.public_url}/ui")).status == 200
    checks = fleet.github.requests_to("GET", "/repos/{owner}/{repo}")[before:]
    assert len(checks) == 4, "one per repository (three of alice's, globex's), then the cache"
    assert {c.caller for c in checks} == {"user:alice"}

    ui = fleet.app.services.ui
    assert isinstance(ui, FleetUI)
    fleet.github.add_collaborator(OTHER_REPO, "alice", "read")  # alice is given access
    ui.access.forget()  # the minute of caching has passed
    assert OTHER_REPO in await (await browser.get(f"{fleet.public_url}/ui")).text()

    for token, value in fleet.github.auth.tokens.items():
        if value.login == "alice":
            fleet.github.revoke_token(token)
    ui.access.forget()
    answer = await browser.get(f"{fleet.public_url}/ui", allow_redirects=False)
    assert answer.status == 302 and answer.headers["Location"] == "/ui/login?next=/ui", "signed out"


async def test_scorecard_page_lists_agents_of_readable_repositories(
    fleet: Fleet, browser: aiohttp.ClientSession
) -> None:
    await sign_in(fleet, browser, "alice")
    page = await (await browser.get(f"{fleet.public_url}/ui/scorecard")).text()
    assert "<td>copilot</td>" in page and "<td>acme/rollouts-demo</td>" in page
    assert "jules" not in page and OTHER_REPO not in page


def test_cookies_are_secure_behind_https() -> None:
    for url, secure in (("https://fixloop.example", True), ("http://127.0.0.1:8080", False)):
        settings = Settings.from_env({"FIXLOOP_PUBLIC_URL": url, "FIXLOOP_SECRET_KEY": "k" * 32})
        sessions = Sessions(settings, store=None)  # type: ignore[arg-type]  # binding needs no store
        response = web.Response()
        sessions.bind_browser(response)
        morsel = response.cookies[LOGIN_COOKIE]
        assert bool(morsel["secure"]) is secure and morsel["httponly"] and morsel["samesite"] == "Lax"
