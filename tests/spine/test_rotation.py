"""Rotation without downtime: a current and a previous webhook secret, notify token and App key at once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import gidgethub
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.errors import ConfigError
from app.github.app import GitHubApp
from app.metrics import Metrics
from app.settings import Settings
from app.web import matching_candidate
from tests.fakes import keys
from tests.fakes.github import FakeGitHub
from tests.fakes.kube_demo import demo_notification
from tests.fakes.webhooks import load_fixture, webhook_headers
from tests.harness import NOTIFY_TOKEN, WEBHOOK_SECRET, AppHarness

OLD_SECRET = "the-old-webhook-secret"
OLD_TOKEN = "the-old-notify-token"
RETIRED = "a-token-rotated-out-long-ago"


def _new_key() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


NEW_PRIVATE, NEW_PUBLIC = _new_key()


@pytest.fixture
def harness_env() -> dict[str, str]:
    return {"GITHUB_WEBHOOK_SECRET_PREVIOUS": OLD_SECRET, "FIXLOOP_NOTIFY_TOKEN_PREVIOUS": OLD_TOKEN}


def test_matching_candidate_names_the_match_and_never_an_empty_one() -> None:
    assert matching_candidate("b", ["a", "b"]) == 1
    assert matching_candidate("a", ["a", "b"]) == 0
    assert matching_candidate("c", ["a", "b"]) == -1
    assert matching_candidate("", ["", "b"]) == -1
    assert matching_candidate("a", []) == -1


@pytest.mark.parametrize("name", ["GITHUB_WEBHOOK_SECRET", "FIXLOOP_NOTIFY_TOKEN"])
def test_a_previous_value_alone_is_refused(name: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({f"{name}_PREVIOUS": "old"})
    assert str(raised.value).startswith(f"{name}_PREVIOUS")


def test_the_current_value_comes_first() -> None:
    settings = Settings.from_env({"FIXLOOP_NOTIFY_TOKEN": "new", "FIXLOOP_NOTIFY_TOKEN_PREVIOUS": "old"})
    assert settings.notify_tokens == ("new", "old")
    assert Settings.from_env({"FIXLOOP_NOTIFY_TOKEN": "new"}).notify_tokens == ("new",)


async def test_webhooks_signed_with_either_secret_are_accepted_and_others_refused(
    app_harness: AppHarness,
) -> None:
    for secret, status in ((WEBHOOK_SECRET, 200), (OLD_SECRET, 200), (RETIRED, 401)):
        response = await app_harness.post_webhook("ping", load_fixture("ping", None), secret=secret)
        assert response.status == status, secret
    body = json.dumps(load_fixture("ping", None)).encode()
    headers = webhook_headers("ping", body, OLD_SECRET)
    headers["X-Hub-Signature-256"] = headers["X-Hub-Signature-256"][:-1] + "0"
    assert (await app_harness.client.post("/github/webhook", data=body, headers=headers)).status == 401


async def test_notifications_with_the_current_or_previous_token_pass_a_retired_one_is_refused(
    app_harness: AppHarness,
) -> None:
    for token, status in ((NOTIFY_TOKEN, 202), (OLD_TOKEN, 202), (RETIRED, 401), ("", 401)):
        response = await app_harness.notify(demo_notification(), token=token)
        assert response.status == status, token
    gate = await app_harness.client.get(
        "/analysis/shop/checkout", headers={"Authorization": f"Bearer {OLD_TOKEN}"}
    )
    assert gate.status == 200  # the gate takes the same tokens
    refused = await app_harness.client.get(
        "/analysis/shop/checkout", headers={"Authorization": f"Bearer {RETIRED}"}
    )
    assert refused.status == 401


@pytest.fixture
async def rotating_app(fake_github: FakeGitHub) -> AsyncIterator[GitHubApp]:
    """The App mid-rotation: the new key is current, the old one (the fake's) previous."""
    env = {
        **fake_github.env(),
        "GITHUB_PRIVATE_KEY": NEW_PRIVATE,
        "GITHUB_PRIVATE_KEY_PREVIOUS": keys.PRIVATE_KEY_PEM,
    }
    async with aiohttp.ClientSession() as session:
        yield GitHubApp(Settings.from_env(env), session, Metrics())


async def test_the_new_key_signs_once_github_has_it(rotating_app: GitHubApp, fake_github: FakeGitHub) -> None:
    fake_github.auth.public_keys.append(NEW_PUBLIC)  # the operator added the new key on GitHub first
    assert await rotating_app.slug() == keys.APP_SLUG
    jwt.decode(rotating_app.app_jwt(), NEW_PUBLIC, algorithms=["RS256"])  # signed by the current key


async def test_a_401_for_the_new_key_falls_back_to_the_previous_one(
    rotating_app: GitHubApp, fake_github: FakeGitHub
) -> None:
    # The new key is not registered on GitHub yet: the previous one keeps Fixloop working.
    assert await rotating_app.slug() == keys.APP_SLUG
    jwt.decode(rotating_app.app_jwt(), keys.PUBLIC_KEY_PEM, algorithms=["RS256"])
    # The old key is then deleted on GitHub and the new one registered: the next 401 switches back.
    fake_github.auth.public_keys[:] = [NEW_PUBLIC]
    assert await rotating_app.installation_for_repo("nobody/nothing") is None
    jwt.decode(rotating_app.app_jwt(), NEW_PUBLIC, algorithms=["RS256"])


async def test_without_a_previous_key_a_401_is_raised(fake_github: FakeGitHub) -> None:
    env = {**fake_github.env(), "GITHUB_PRIVATE_KEY": NEW_PRIVATE}
    async with aiohttp.ClientSession() as session:
        app = GitHubApp(Settings.from_env(env), session, Metrics())
        with pytest.raises(gidgethub.BadRequest):
            await app.slug()
