"""UserTokens against the fake GitHub: refresh near expiry, revoked grants, races, 401s, picking a user."""

from __future__ import annotations

import dataclasses
import time

import gidgethub
import pytest

from app.errors import PermanentError, TransientError
from app.github.oauth import Grant, TokenEndpoint
from app.github.user_tokens import TokenUnreadable, TokenVault, UserTokenRevoked, UserTokens
from app.settings import Secret
from tests.harness import SECRET_KEY
from tests.oauth.conftest import PUBLIC_URL, OAuthApp

START = f"{PUBLIC_URL}/github/oauth/start"


async def seed(app: OAuthApp, login: str, *, expires_in: float = 28800) -> tuple[int, dict[str, str]]:
    """Store a real token pair minted by the fake, as if `login` had authorised; expiry as given."""
    user = app.github.add_user(login)
    pair = app.github.auth.user_token(login)
    grant = Grant(pair["access_token"], pair["refresh_token"], expires_in, pair["refresh_token_expires_in"])
    await app.services.user_tokens.save(user.id, login, grant)
    return user.id, pair


def token_requests(app: OAuthApp) -> int:
    return len(app.github.requests_to("POST", "/login/oauth/access_token"))


async def test_a_fresh_token_is_returned_as_is_by_id_or_login(oauth_app: OAuthApp) -> None:
    user_id, pair = await seed(oauth_app, "alice")
    tokens = oauth_app.services.user_tokens
    assert await tokens.token_for(user_id) == pair["access_token"]
    assert await tokens.token_for("ALICE") == pair["access_token"]  # logins compare case-insensitively
    assert await tokens.token_for("@alice") == pair["access_token"]
    assert await tokens.token_for("nobody") is None and await tokens.token_for(123456) is None
    assert token_requests(oauth_app) == 0


async def test_a_token_near_expiry_is_refreshed_and_the_new_pair_stored(oauth_app: OAuthApp) -> None:
    user_id, pair = await seed(oauth_app, "alice", expires_in=240)  # inside the 5-minute margin
    tokens = oauth_app.services.user_tokens
    fresh = await tokens.token_for("alice")
    assert fresh is not None and fresh != pair["access_token"]
    me = await oauth_app.services.github.client(fresh).getitem("/user")
    assert me["login"] == "alice"
    stored = await oauth_app.services.store.get_user_token(user_id)
    assert stored is not None and stored.expires_at is not None and stored.expires_at > time.time() + 3600
    assert fresh.encode() not in stored.ciphertext
    assert await tokens.token_for(user_id) == fresh and token_requests(oauth_app) == 1


async def test_an_expired_token_is_refreshed(oauth_app: OAuthApp) -> None:
    user_id, pair = await seed(oauth_app, "alice")
    oauth_app.github.expire_token(pair["access_token"])
    blob = TokenVault(SECRET_KEY).seal(
        user_id, {"access": pair["access_token"], "refresh": pair["refresh_token"]}
    )
    await oauth_app.services.store.save_user_token(user_id, "alice", blob, time.time() - 1, None)
    fresh = await oauth_app.services.user_tokens.token_for("alice")
    assert fresh is not None and fresh != pair["access_token"]
    assert (await oauth_app.services.github.client(fresh).getitem("/user"))["login"] == "alice"


async def test_a_revoked_refresh_token_deletes_the_row_and_says_where_to_authorise(
    oauth_app: OAuthApp,
) -> None:
    user_id, pair = await seed(oauth_app, "carol", expires_in=60)
    oauth_app.github.revoke_token(pair["refresh_token"])
    with pytest.raises(UserTokenRevoked) as revoked:
        await oauth_app.services.user_tokens.token_for("carol")
    assert revoked.value.login == "carol" and revoked.value.start_url == START
    assert f"@carol can authorise Fixloop again at {START}" in str(revoked.value)
    assert pair["refresh_token"] not in str(revoked.value)
    assert await oauth_app.services.store.get_user_token(user_id) is None


async def test_an_expired_refresh_token_is_dropped_without_asking_github(oauth_app: OAuthApp) -> None:
    user = oauth_app.github.add_user("dave")
    blob = TokenVault(SECRET_KEY).seal(user.id, {"access": "ghu_old", "refresh": "ghr_old"})
    now = time.time()
    await oauth_app.services.store.save_user_token(user.id, "dave", blob, now - 60, now - 1)
    with pytest.raises(UserTokenRevoked, match="have expired"):
        await oauth_app.services.user_tokens.token_for(user.id)
    assert await oauth_app.services.store.get_user_token(user.id) is None
    assert token_requests(oauth_app) == 0


async def test_a_wrong_client_secret_does_not_delete_the_users_grant(oauth_app: OAuthApp) -> None:
    user_id, _ = await seed(oauth_app, "erin", expires_in=60)
    services = oauth_app.services
    wrong = dataclasses.replace(services.settings, github_client_secret=Secret("wrong"))
    tokens = UserTokens(services.store, wrong, services.session)
    with pytest.raises(PermanentError, match="client_id and/or client_secret") as failed:
        await tokens.token_for(user_id)
    assert not isinstance(failed.value, UserTokenRevoked)
    assert await services.store.get_user_token(user_id) is not None


async def test_losing_a_refresh_race_to_another_process_keeps_the_winners_token(oauth_app: OAuthApp) -> None:
    user_id, _ = await seed(oauth_app, "frank", expires_in=60)
    services = oauth_app.services
    winner = services.user_tokens

    class Racing(TokenEndpoint):
        async def refresh(self, refresh_token: str) -> Grant:
            await winner.token_for(user_id)  # another replica refreshes the same grant first
            return await super().refresh(refresh_token)  # ours is now spent: bad_refresh_token

    loser = UserTokens(
        services.store,
        services.settings,
        services.session,
        endpoint=Racing(services.settings, services.session),
    )
    token = await loser.token_for(user_id)
    assert token is not None and token == await winner.token_for(user_id)
    assert (await services.github.client(token).getitem("/user"))["login"] == "frank"


async def test_a_401_is_reported_through_mark_revoked(oauth_app: OAuthApp) -> None:
    user_id, pair = await seed(oauth_app, "gina")
    oauth_app.github.revoke_token(pair["access_token"])  # the user revoked the App on github.com
    with pytest.raises(gidgethub.BadRequest) as refused:
        await oauth_app.services.github.client(pair["access_token"]).getitem("/user")
    assert refused.value.status_code == 401
    await oauth_app.services.user_tokens.mark_revoked(user_id)
    assert await oauth_app.services.user_tokens.token_for(user_id) is None


async def test_an_unreadable_row_asks_the_user_to_authorise_again(oauth_app: OAuthApp) -> None:
    user = oauth_app.github.add_user("hank")
    blob = TokenVault("another-key").seal(user.id, {"access": "ghu_x", "refresh": "ghr_y"})
    await oauth_app.services.store.save_user_token(user.id, "hank", blob, None, None)
    with pytest.raises(TokenUnreadable) as unreadable:
        await oauth_app.services.user_tokens.token_for("hank")
    assert unreadable.value.start_url == START
    assert await oauth_app.services.store.get_user_token(user.id) is not None  # a key fix brings it back


async def test_any_authorised_picks_the_first_usable_login(oauth_app: OAuthApp) -> None:
    _, carol = await seed(oauth_app, "carol", expires_in=60)
    oauth_app.github.revoke_token(carol["refresh_token"])
    await seed(oauth_app, "alice")
    await seed(oauth_app, "bob")
    tokens = oauth_app.services.user_tokens
    assert await tokens.any_authorised(["ghost", "carol", "alice", "bob"]) == "alice"
    assert await tokens.any_authorised(["ghost"]) is None and await tokens.any_authorised([]) is None


async def test_any_authorised_reraises_a_transient_failure_when_nobody_else_qualifies(
    oauth_app: OAuthApp,
) -> None:
    await seed(oauth_app, "ivan", expires_in=60)
    await seed(oauth_app, "alice")
    services = oauth_app.services

    class Down(TokenEndpoint):
        async def refresh(self, refresh_token: str) -> Grant:
            raise TransientError("GitHub's OAuth token endpoint answered HTTP 502")

    tokens = UserTokens(
        services.store,
        services.settings,
        services.session,
        endpoint=Down(services.settings, services.session),
    )
    assert await tokens.any_authorised(["ivan", "alice"]) == "alice"
    with pytest.raises(TransientError):
        await tokens.any_authorised(["ivan", "ghost"])
