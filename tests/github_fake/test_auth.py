"""App JWTs, installation tokens, user tokens and the OAuth web flow, as GitHub checks them."""

from __future__ import annotations

import calendar
import time
from urllib.parse import parse_qs, urlsplit

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes import keys
from tests.fakes.github import FakeGitHub
from tests.fakes.github_state import Installation
from tests.github_fake.conftest import REPO, call


async def test_app_jwt_reads_the_app_and_mints_installation_tokens(
    fake_github: FakeGitHub, inst: Installation, http: aiohttp.ClientSession
) -> None:
    app = await call(http, fake_github, "GET", "/app", token=keys.app_jwt())
    assert (app.status, app.body["id"], app.body["slug"]) == (200, keys.APP_ID, keys.APP_SLUG)
    found = await call(http, fake_github, "GET", f"/repos/{REPO}/installation", token=keys.app_jwt())
    assert found.body["id"] == inst.id
    minted = await call(
        http, fake_github, "POST", f"/app/installations/{inst.id}/access_tokens", token=keys.app_jwt()
    )
    assert minted.status == 201
    assert minted.body["token"].startswith("ghs_")
    expires = calendar.timegm(time.strptime(minted.body["expires_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert 3500 < expires - time.time() <= 3600


async def test_the_client_id_is_accepted_as_issuer(
    fake_github: FakeGitHub, http: aiohttp.ClientSession
) -> None:
    assert (await call(http, fake_github, "GET", "/app", token=keys.app_jwt(keys.CLIENT_ID))).status == 200


async def test_bad_jwts_get_githubs_401s(fake_github: FakeGitHub, http: aiohttp.ClientSession) -> None:
    now = int(time.time())
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cases = {
        keys.app_jwt(iat=now - 700, exp=now - 100): "'Expiration time' claim ('exp') must be a numeric value",
        keys.app_jwt(iat=now - 60, exp=now + 900): "'Expiration time' claim ('exp') is too far in the future",
        keys.app_jwt(iat=now + 300, exp=now + 600): "'Issued at' claim ('iat')",
        keys.app_jwt(private_key=other_key.decode()): "A JSON web token could not be decoded",
        keys.app_jwt(app_id=1): "A JSON web token could not be decoded",
    }
    for token, message in cases.items():
        answer = await call(http, fake_github, "GET", "/app", token=token)
        assert answer.status == 401
        assert answer.body["message"].startswith(message)
        assert answer.body["documentation_url"].startswith("https://docs.github.com/")


async def test_missing_or_unknown_credentials(
    fake_github: FakeGitHub, inst: Installation, http: aiohttp.ClientSession
) -> None:
    missing = await call(http, fake_github, "GET", f"/repos/{REPO}")
    assert (missing.status, missing.body["message"]) == (401, "Requires authentication")
    unknown = await call(http, fake_github, "GET", f"/repos/{REPO}", token="ghs_" + "x" * 36)
    assert (unknown.status, unknown.body["message"]) == (401, "Bad credentials")
    token = fake_github.installation_token(inst.id)
    on_app = await call(http, fake_github, "GET", "/app", token=token)
    assert on_app.status == 401
    jwt_on_repo = await call(http, fake_github, "GET", f"/repos/{REPO}", token=keys.app_jwt())
    assert (jwt_on_repo.status, jwt_on_repo.body["message"]) == (401, "Bad credentials")


async def test_installation_tokens_are_scoped_and_expire(
    fake_github: FakeGitHub, inst: Installation, http: aiohttp.ClientSession
) -> None:
    fake_github.add_repo("acme/secret")  # exists, not in the installation
    fake_github.add_installation("other", ["api"])
    token = fake_github.installation_token(inst.id)
    assert (await call(http, fake_github, "GET", f"/repos/{REPO}", token=token)).status == 200
    assert (await call(http, fake_github, "GET", "/repos/acme/secret", token=token)).status == 404
    assert (await call(http, fake_github, "GET", "/repos/other/api", token=token)).status == 404
    fake_github.expire_token(token)
    assert (await call(http, fake_github, "GET", f"/repos/{REPO}", token=token)).status == 401


async def test_a_token_asked_for_fewer_repositories_only_sees_those(
    fake_github: FakeGitHub, inst: Installation, http: aiohttp.ClientSession
) -> None:
    fake_github.add_installation("acme", ["web", "api"], id=inst.id)
    minted = await call(
        http,
        fake_github,
        "POST",
        f"/app/installations/{inst.id}/access_tokens",
        token=keys.app_jwt(),
        body={"repositories": ["api"]},
    )
    token = minted.body["token"]
    assert (await call(http, fake_github, "GET", "/repos/acme/api", token=token)).status == 200
    assert (await call(http, fake_github, "GET", f"/repos/{REPO}", token=token)).status == 404


async def test_user_endpoint_needs_a_user_token(
    fake_github: FakeGitHub, inst: Installation, http: aiohttp.ClientSession
) -> None:
    me = await call(http, fake_github, "GET", "/user", token=fake_github.user_token("alice"))
    assert (me.status, me.body["login"], me.body["user_view_type"]) == (200, "alice", "private")
    as_app = await call(http, fake_github, "GET", "/user", token=fake_github.installation_token(inst.id))
    assert (as_app.status, as_app.body["message"]) == (403, "Resource not accessible by integration")


async def test_user_installations_lists_what_the_user_reaches_with_a_user_token_only(
    fake_github: FakeGitHub, inst: Installation, http: aiohttp.ClientSession
) -> None:
    other = fake_github.add_installation("globex", ["shop"])
    fake_github.add_installation("initech", ["tps"])
    fake_github.add_collaborator("globex/shop", "alice", "read")
    alice = fake_github.user_token("alice")
    first = await call(http, fake_github, "GET", "/user/installations?per_page=1", token=alice)
    assert first.status == 200 and first.body["total_count"] == 2
    assert [i["id"] for i in first.body["installations"]] == [inst.id]
    assert 'rel="next"' in first.headers["Link"]
    second = await call(http, fake_github, "GET", "/user/installations?per_page=1&page=2", token=alice)
    assert [i["id"] for i in second.body["installations"]] == [other.id]
    assert "next" not in second.headers.get("Link", "")
    stranger = await call(
        http, fake_github, "GET", "/user/installations", token=fake_github.user_token("eve")
    )
    assert stranger.body == {"total_count": 0, "installations": []}
    as_inst = await call(
        http, fake_github, "GET", "/user/installations", token=fake_github.installation_token(inst.id)
    )
    assert (as_inst.status, as_inst.body["message"]) == (403, "Resource not accessible by integration")
    jwt = await call(http, fake_github, "GET", "/user/installations", token=keys.app_jwt())
    assert jwt.status == 401
    assert not fake_github.violations


async def test_oauth_web_flow_code_exchange_and_refresh(
    fake_github: FakeGitHub, http: aiohttp.ClientSession
) -> None:
    authorize = f"{fake_github.web_url}/login/oauth/authorize"
    params = {
        "client_id": keys.CLIENT_ID,
        "redirect_uri": "http://app.test/github/oauth/callback",
        "state": "s1",
    }
    async with http.get(authorize, params=params, allow_redirects=False) as page:
        assert page.status == 200  # nobody approved yet: GitHub's sign-in page
    fake_github.approve_oauth("alice")
    async with http.get(authorize, params=params, allow_redirects=False) as redirect:
        assert redirect.status == 302
        location = urlsplit(redirect.headers["Location"])
    query = parse_qs(location.query)
    assert location.path == "/github/oauth/callback" and query["state"] == ["s1"]

    token_url = f"{fake_github.web_url}/login/oauth/access_token"
    form = {
        "client_id": keys.CLIENT_ID,
        "client_secret": keys.CLIENT_SECRET,
        "code": query["code"][0],
        "redirect_uri": params["redirect_uri"],
    }
    json_accept = {"Accept": "application/json"}
    async with http.post(token_url, data=form, headers=json_accept) as answer:
        tokens = await answer.json()
    assert tokens["access_token"].startswith("ghu_") and tokens["refresh_token"].startswith("ghr_")
    assert tokens["expires_in"] == 28800 and tokens["refresh_token_expires_in"] > 28800
    async with http.post(token_url, data=form, headers=json_accept) as reused:
        assert reused.status == 200
        assert (await reused.json())["error"] == "bad_verification_code"

    refresh = {
        "client_id": keys.CLIENT_ID,
        "client_secret": keys.CLIENT_SECRET,
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
    }
    async with http.post(token_url, data=refresh, headers=json_accept) as answer:
        renewed = await answer.json()
    assert renewed["access_token"] != tokens["access_token"]
    old = await call(http, fake_github, "GET", "/user", token=tokens["access_token"])
    assert old.status == 401  # a used refresh token retires the old user token
    assert (await call(http, fake_github, "GET", "/user", token=renewed["access_token"])).status == 200
    async with http.post(token_url, data=refresh, headers=json_accept) as again:
        assert (await again.json())["error"] == "bad_refresh_token"


async def test_oauth_refuses_bad_secrets_and_speaks_form_encoding_by_default(
    fake_github: FakeGitHub, http: aiohttp.ClientSession
) -> None:
    token_url = f"{fake_github.web_url}/login/oauth/access_token"
    code = fake_github.oauth_code("alice")
    bad = {"client_id": keys.CLIENT_ID, "client_secret": "wrong", "code": code}
    async with http.post(token_url, data=bad, headers={"Accept": "application/json"}) as answer:
        assert answer.status == 200
        assert (await answer.json())["error"] == "incorrect_client_credentials"
    good = bad | {"client_secret": keys.CLIENT_SECRET}
    async with http.post(token_url, data=good) as answer:
        assert answer.content_type == "application/x-www-form-urlencoded"
        assert parse_qs(await answer.text())["token_type"] == ["bearer"]


async def test_revoked_user_tokens_are_bad_credentials(
    fake_github: FakeGitHub, http: aiohttp.ClientSession
) -> None:
    token = fake_github.user_token("alice")
    fake_github.revoke_token(token)
    answer = await call(http, fake_github, "GET", "/user", token=token)
    assert (answer.status, answer.body["message"]) == (401, "Bad credentials")
