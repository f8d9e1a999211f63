"""The browser's side: /github/oauth/start and /callback against the fake GitHub, through real HTTP."""

from __future__ import annotations

import hashlib
import logging
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.harness import AppHarness
from tests.oauth.conftest import PUBLIC_URL, OAuthApp

CALLBACK = f"{PUBLIC_URL}/github/oauth/callback"
START = f"{PUBLIC_URL}/github/oauth/start"


def state_of(authorize: str) -> str:
    return parse_qs(urlsplit(authorize).query)["state"][0]


def tokens_of(app: OAuthApp) -> list[str]:
    """Every user token and refresh token the fake GitHub ever minted."""
    return [t for t, v in app.github.auth.tokens.items() if v.kind == "user"] + list(
        app.github.auth.refresh_tokens
    )


async def test_start_redirects_to_github_with_a_stored_state(oauth_app: OAuthApp) -> None:
    inst = oauth_app.github.add_installation("acme", ["web"])
    authorize = await oauth_app.start(f"?installation_id={inst.id}")
    parts = urlsplit(authorize)
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{oauth_app.github.web_url}/login/oauth/authorize"
    )
    query = parse_qs(parts.query)
    assert set(query) == {"client_id", "redirect_uri", "state"}  # a GitHub App asks for no scope
    assert query["client_id"] == [oauth_app.github.client_id]
    assert query["redirect_uri"] == [CALLBACK]
    state = query["state"][0]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", state)  # 32 random bytes, urlsafe base64
    nonce = oauth_app.cookies["fixloop_oauth"]
    assert await oauth_app.services.store.pop_oauth_state(state) == {
        "installation_id": inst.id,
        "browser": hashlib.sha256(nonce.encode()).hexdigest(),  # the record never holds the cookie itself
    }


async def test_the_state_cookie_is_short_lived_httponly_lax_and_secure_on_https(oauth_app: OAuthApp) -> None:
    answer = await oauth_app.client.get("/github/oauth/start", allow_redirects=False)
    cookie = answer.cookies["fixloop_oauth"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie.value)
    assert cookie["httponly"] and cookie["secure"]  # PUBLIC_URL is https
    assert (cookie["samesite"], cookie["path"], cookie["max-age"]) == ("Lax", "/github/oauth", "600")
    assert cookie.value not in answer.headers["Location"]


@pytest.mark.parametrize("cookies", [{}, {"fixloop_oauth": "another-browsers-nonce"}], ids=["none", "other"])
async def test_a_callback_in_another_browser_is_refused_and_spends_the_state(
    oauth_app: OAuthApp, cookies: dict[str, str]
) -> None:
    """Login CSRF: the attacker starts a flow, then lures the victim's browser to its callback link."""
    oauth_app.github.add_user("mallory")
    state = state_of(await oauth_app.start())
    code = oauth_app.github.oauth_code("mallory", CALLBACK)
    answer = await oauth_app.callback(f"code={code}&state={state}", cookies=cookies)
    assert answer.status == 400
    text = await answer.text()
    assert "Not the browser that started" in text and "cookies allowed" in text
    assert oauth_app.github.auth.codes, "the code is not redeemed"
    assert await oauth_app.services.store.get_user_token_by_login("mallory") is None
    again = await oauth_app.callback(f"code={code}&state={state}")  # now with the right cookie: spent
    assert again.status == 400 and "already used" in await again.text()


async def test_the_cookie_is_cleared_by_the_callback(oauth_app: OAuthApp) -> None:
    page = await oauth_app.authorise("alice")
    assert page.status == 200
    cleared = page.cookies["fixloop_oauth"]
    assert cleared.value == "" and cleared["path"] == "/github/oauth"


async def test_a_second_start_in_the_same_browser_replaces_the_first(oauth_app: OAuthApp) -> None:
    oauth_app.github.add_user("alice")
    first = state_of(await oauth_app.start())
    first_cookie = dict(oauth_app.cookies)
    second = state_of(await oauth_app.start())
    answer = await oauth_app.callback(f"code={oauth_app.github.oauth_code('alice', CALLBACK)}&state={first}")
    assert answer.status == 400  # the browser now carries the second nonce
    assert first_cookie != oauth_app.cookies
    done = await oauth_app.callback(f"code={oauth_app.github.oauth_code('alice', CALLBACK)}&state={second}")
    assert done.status == 200


async def test_states_are_random_and_pages_not_cached(oauth_app: OAuthApp) -> None:
    answer = await oauth_app.client.get("/github/oauth/start", allow_redirects=False)
    assert answer.headers["Cache-Control"] == "no-store"
    assert state_of(answer.headers["Location"]) != state_of(await oauth_app.start())


async def test_start_refuses_a_bad_installation_id(oauth_app: OAuthApp) -> None:
    answer = await oauth_app.client.get("/github/oauth/start?installation_id=1;drop", allow_redirects=False)
    assert answer.status == 400 and "must be a number" in await answer.text()


async def test_full_flow_stores_an_encrypted_token_that_works(
    oauth_app: OAuthApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    inst = oauth_app.github.add_installation("acme", ["web"])
    page = await oauth_app.authorise("alice", f"?installation_id={inst.id}")
    body = await page.text()
    assert page.status == 200 and "Fixloop can now act for @alice" in body
    stored = await oauth_app.services.store.get_user_token_by_login("alice")
    assert stored is not None and stored.user_id == oauth_app.github.users["alice"].id
    minted = tokens_of(oauth_app)
    assert len(minted) == 2
    for secret in minted:
        assert secret.encode() not in stored.ciphertext
        assert secret not in body and secret not in caplog.text
    token = await oauth_app.services.user_tokens.token_for("alice")
    assert token in minted
    me = await oauth_app.services.github.client(token).getitem("/user")
    assert me["login"] == "alice"
    assert await oauth_app.services.user_tokens.token_for_installation(inst.id) == token


async def test_a_plain_sign_in_serves_every_installation_the_user_reaches(oauth_app: OAuthApp) -> None:
    acme = oauth_app.github.add_installation("acme", ["web"])
    globex = oauth_app.github.add_installation("globex", ["shop"])
    initech = oauth_app.github.add_installation("initech", ["tps"])
    oauth_app.github.add_collaborator("acme/web", "alice", "write")
    oauth_app.github.add_collaborator("globex/shop", "alice", "read")
    page = await oauth_app.authorise("alice")  # /github/oauth/start with no query, as the README says
    assert page.status == 200
    tokens = oauth_app.services.user_tokens
    token = await tokens.token_for("alice")
    assert token is not None
    assert await tokens.token_for_installation(acme.id) == token
    assert await tokens.token_for_installation(globex.id) == token
    assert await tokens.token_for_installation(initech.id) is None, "alice cannot reach initech"
    jobs = [j for j in await oauth_app.services.store.list_jobs() if j.kind == "user-grant"]
    assert len(jobs) == 1 and sorted(jobs[0].payload["installations"]) == sorted([acme.id, globex.id])
    assert token not in str(jobs[0].payload)


async def test_listing_the_installations_failing_is_a_page_that_says_try_again(oauth_app: OAuthApp) -> None:
    oauth_app.github.fail_next("GET", "/user/installations", 401, body={"message": "Bad credentials"})
    page = await oauth_app.authorise("alice")
    assert page.status == 502 and "Please try again" in await page.text()
    assert f'href="{START}"' in await page.text()
    assert await oauth_app.services.store.get_user_token_by_login("alice") is None, "nothing half-stored"


async def test_a_state_is_single_use(oauth_app: OAuthApp) -> None:
    oauth_app.github.add_user("alice")
    state = state_of(await oauth_app.start())
    first = await oauth_app.callback(f"code={oauth_app.github.oauth_code('alice', CALLBACK)}&state={state}")
    replay = await oauth_app.callback(f"code={oauth_app.github.oauth_code('alice', CALLBACK)}&state={state}")
    assert first.status == 200
    assert replay.status == 400 and "already used or is too old" in await replay.text()
    assert f'href="{START}"' in await replay.text()


async def test_an_unknown_state_is_refused_before_the_code_is_redeemed(oauth_app: OAuthApp) -> None:
    answer = await oauth_app.callback(f"code={oauth_app.github.oauth_code('mallory')}&state=forged")
    assert answer.status == 400 and "start again" in (await answer.text()).lower()
    assert oauth_app.github.auth.codes  # still unredeemed
    assert await oauth_app.services.store.get_user_token_by_login("mallory") is None


async def test_an_expired_state_is_refused(oauth_app: OAuthApp) -> None:
    await oauth_app.services.store.save_oauth_state("old-state", {}, ttl=-1)
    answer = await oauth_app.callback("code=x&state=old-state")
    assert answer.status == 400 and "too old" in await answer.text()


async def test_github_error_redirect_is_400_escaped_and_spends_the_state(oauth_app: OAuthApp) -> None:
    state = state_of(await oauth_app.start())
    query = urlencode(
        {"error": "access_denied", "error_description": "<script>alert(1)</script> denied", "state": state}
    )
    answer = await oauth_app.callback(query)
    body = await answer.text()
    assert answer.status == 400
    assert "&lt;script&gt;alert(1)&lt;/script&gt; denied" in body and "<script>" not in body
    assert await oauth_app.services.store.pop_oauth_state(state) is None


async def test_a_code_github_refuses_is_400(oauth_app: OAuthApp) -> None:
    state = state_of(await oauth_app.start())
    answer = await oauth_app.callback(f"code=not-a-code&state={state}")
    assert answer.status == 400
    assert "The code passed is incorrect or expired." in await answer.text()


async def test_missing_code_is_400(oauth_app: OAuthApp) -> None:
    answer = await oauth_app.callback("")
    assert answer.status == 400 and "no authorisation code" in await answer.text()


async def test_post_install_redirect_links_the_user_to_the_installation(oauth_app: OAuthApp) -> None:
    inst = oauth_app.github.add_installation("acme", ["web"])
    oauth_app.github.add_user("bob")
    code = oauth_app.github.oauth_code("bob")
    answer = await oauth_app.callback(f"code={code}&installation_id={inst.id}&setup_action=install")
    assert answer.status == 200 and "@bob" in await answer.text()
    token = await oauth_app.services.user_tokens.token_for_installation(inst.id)
    assert token is not None and token == await oauth_app.services.user_tokens.token_for("bob")


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("installation_id=999999&setup_action=install", "does not belong to Fixloop"),
        ("installation_id={inst}", "No state"),  # no setup_action: not GitHub's post-install redirect
        ("installation_id={inst}&setup_action=request", "No state"),
        ("installation_id=abc&setup_action=install", "No state"),
    ],
)
async def test_stateless_callbacks_need_setup_action_and_a_real_installation(
    oauth_app: OAuthApp, query: str, says: str
) -> None:
    inst = oauth_app.github.add_installation("acme", ["web"])
    code = oauth_app.github.oauth_code("mallory")
    answer = await oauth_app.callback(f"code={code}&" + query.format(inst=inst.id))
    assert answer.status == 400 and says in await answer.text()
    assert code in oauth_app.github.auth.codes  # refused before the code was redeemed


async def test_a_state_with_a_foreign_installation_is_refused(oauth_app: OAuthApp) -> None:
    oauth_app.github.add_user("mallory")
    state = state_of(await oauth_app.start("?installation_id=424242"))
    answer = await oauth_app.callback(
        f"code={oauth_app.github.oauth_code('mallory', CALLBACK)}&state={state}"
    )
    assert answer.status == 400 and "does not belong to Fixloop" in await answer.text()


async def test_head_does_not_consume_a_state(oauth_app: OAuthApp) -> None:
    state = state_of(await oauth_app.start())
    answer = await oauth_app.client.head(f"/github/oauth/callback?code=x&state={state}")
    assert answer.status == 405
    assert await oauth_app.services.store.pop_oauth_state(state) is not None  # still there


@pytest.mark.parametrize("oauth_env", [{"GITHUB_CLIENT_ID": ""}, {"GITHUB_CLIENT_SECRET": ""}])
async def test_no_oauth_configured_is_503_with_a_reason(oauth_app: OAuthApp) -> None:
    for path in ("/github/oauth/start", "/github/oauth/callback?code=x&state=y"):
        answer = await oauth_app.client.get(path, allow_redirects=False)
        assert answer.status == 503
        assert "GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are not set" in await answer.text()


@pytest.mark.parametrize("oauth_env", [{"FIXLOOP_SECRET_KEY": ""}])
async def test_no_secret_key_is_503_before_the_user_consents(oauth_app: OAuthApp) -> None:
    answer = await oauth_app.client.get("/github/oauth/start", allow_redirects=False)
    assert answer.status == 503
    assert "FIXLOOP_SECRET_KEY: required to store user tokens" in await answer.text()


async def test_the_server_wiring_serves_the_flow(app_harness: AppHarness) -> None:
    """The same routes through create_app (whichever way app/server.py registers them)."""
    answer = await app_harness.client.get("/github/oauth/start", allow_redirects=False)
    assert answer.status == 302
    assert answer.headers["Location"].startswith(
        f"{app_harness.settings.github_web_url}/login/oauth/authorize?"
    )
    refused = await app_harness.client.get("/github/oauth/callback?code=x&state=forged")
    assert refused.status == 400 and refused.content_type == "text/html"
