"""Users authorise Fixloop: OAuth state, code exchange, encrypted storage, refresh and revocation."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from app.github.user_tokens import Grant, TokenVault, UserTokenRevoked
from tests.harness import AppHarness


async def authorise(app_harness: AppHarness, login: str, query: str = "") -> aiohttp.ClientResponse:
    """Browser: /github/oauth/start -> GitHub's authorize -> back to the callback (redirects followed by hand)."""
    assert app_harness.github is not None
    app_harness.github.approve_oauth(login)
    start = await app_harness.client.get(f"/github/oauth/start{query}", allow_redirects=False)
    assert start.status == 302
    authorize = start.headers["Location"]
    assert authorize.startswith(app_harness.github.web_url + "/login/oauth/authorize?")
    async with aiohttp.ClientSession() as browser, browser.get(authorize, allow_redirects=False) as answer:
        back = answer.headers["Location"]
    parts = urlsplit(back)
    assert parts.path == "/github/oauth/callback"
    return await app_harness.client.get(f"{parts.path}?{parts.query}")


async def test_full_flow_stores_an_encrypted_token_that_works(app_harness: AppHarness) -> None:
    assert app_harness.github is not None
    inst = app_harness.github.add_installation("acme", ["web"])
    alice = app_harness.github.add_user("alice", copilot_seat=True)
    page = await authorise(app_harness, "alice", f"?installation_id={inst.id}")
    assert page.status == 200 and "@alice" in await page.text()
    stored = await app_harness.services.store.get_user_token_by_login("alice")
    assert stored is not None and stored.user_id == alice.id
    token = await app_harness.services.user_tokens.token_for_installation(inst.id)
    assert token is not None and token.encode() not in stored.ciphertext
    me = await app_harness.services.github.client(token).getitem("/user")
    assert me["login"] == "alice"


async def test_state_is_single_use(app_harness: AppHarness) -> None:
    assert app_harness.github is not None
    app_harness.github.add_user("alice")
    app_harness.github.approve_oauth("alice")
    start = await app_harness.client.get("/github/oauth/start", allow_redirects=False)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    code = app_harness.github.oauth_code("alice")
    first = await app_harness.client.get(f"/github/oauth/callback?code={code}&state={state}")
    replay = await app_harness.client.get(f"/github/oauth/callback?code={code}&state={state}")
    assert first.status == 200
    assert replay.status == 400 and "already used" in await replay.text()


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("code=x&state=forged", "already used or is too old"),
        ("code=x", "No state"),
        ("error=access_denied&error_description=The+user+denied", "The user denied"),
        ("", "Missing code"),
    ],
)
async def test_bad_callbacks_are_400(app_harness: AppHarness, query: str, says: str) -> None:
    answer = await app_harness.client.get(f"/github/oauth/callback?{query}")
    assert answer.status == 400
    assert says in await answer.text()


async def test_post_install_redirect_needs_a_real_installation(app_harness: AppHarness) -> None:
    assert app_harness.github is not None
    inst = app_harness.github.add_installation("acme", ["web"])
    app_harness.github.add_user("bob")
    code = app_harness.github.oauth_code("bob")
    fake = await app_harness.client.get(
        f"/github/oauth/callback?code={code}&installation_id=999999&setup_action=install"
    )
    assert fake.status == 400
    code = app_harness.github.oauth_code("bob")
    real = await app_harness.client.get(
        f"/github/oauth/callback?code={code}&installation_id={inst.id}&setup_action=install"
    )
    assert real.status == 200
    assert await app_harness.services.user_tokens.token_for_installation(inst.id) is not None


async def test_revoked_refresh_token_is_dropped(app_harness: AppHarness) -> None:
    assert app_harness.github is not None
    user = app_harness.github.add_user("carol")
    grant = Grant("ghu_expired", "ghr_revoked", expires_in=1, refresh_expires_in=3600)
    await app_harness.services.user_tokens.save(user.id, "carol", grant, 42)
    with pytest.raises(UserTokenRevoked):
        await app_harness.services.user_tokens.token_for(user.id)
    assert await app_harness.services.store.get_user_token(user.id) is None
    assert await app_harness.services.user_tokens.token_for_installation(42) is None


def test_vault_binds_ciphertext_to_the_user_and_key() -> None:
    vault = TokenVault("key-one")
    blob = vault.seal(7, {"access": "ghu_x", "refresh": "ghr_y"})
    assert vault.open(7, blob) == {"access": "ghu_x", "refresh": "ghr_y"}
    with pytest.raises(UserTokenRevoked):
        vault.open(8, blob)  # moved to another user's row
    with pytest.raises(UserTokenRevoked):
        TokenVault("key-two").open(7, blob)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(UserTokenRevoked):
        vault.open(7, tampered)
