"""The GitHub adapter against the strict fake: App JWT, token cache, installation lookup, retries."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import jwt
import pytest

from app.errors import TransientError
from app.github.app import GitHubApp
from app.metrics import Metrics
from app.settings import Settings
from tests.fakes import keys
from tests.fakes.github import FakeGitHub


@pytest.fixture
async def github_app(fake_github: FakeGitHub) -> AsyncIterator[GitHubApp]:
    settings = Settings.from_env({**fake_github.env(), "GITHUB_WEBHOOK_SECRET": "x"})
    async with aiohttp.ClientSession() as session:
        yield GitHubApp(settings, session, Metrics())


def test_app_jwt_claims_follow_github_rules(github_app: GitHubApp) -> None:
    now = time.time()
    token = github_app.app_jwt(now)
    claims = jwt.decode(token, keys.PUBLIC_KEY_PEM, algorithms=["RS256"], options={"verify_exp": False})
    assert claims["iss"] == str(keys.APP_ID)
    assert claims["iat"] == int(now) - 60
    assert claims["exp"] - claims["iat"] == 600
    assert github_app.app_jwt(now + 30) == token  # reused while fresh


async def test_installation_token_is_cached(github_app: GitHubApp, fake_github: FakeGitHub) -> None:
    inst = fake_github.add_installation("acme", ["web"])
    first = await github_app.installation_token(inst.id)
    second = await github_app.installation_token(inst.id)
    assert first == second and first.startswith("ghs_")
    assert len(fake_github.requests_to("POST", "/app/installations/{installation_id}/access_tokens")) == 1


async def test_installation_for_repo(github_app: GitHubApp, fake_github: FakeGitHub) -> None:
    inst = fake_github.add_installation("acme", ["web"])
    fake_github.add_repo("acme/other")
    assert await github_app.installation_for_repo("acme/web") == inst.id
    assert await github_app.installation_for_repo("acme/other") is None
    assert await github_app.installation_for_repo("acme/web") == inst.id
    assert len(fake_github.requests_to("GET", "/repos/{owner}/{repo}/installation")) == 2  # cached


async def test_5xx_is_retried_then_succeeds(github_app: GitHubApp, fake_github: FakeGitHub) -> None:
    inst = fake_github.add_installation("acme", ["web"])
    fake_github.fail_next("GET", "/repos/{owner}/{repo}", 502, times=2)
    gh = github_app.installation_client(inst.id)
    repo = await gh.getitem("/repos/acme/web")
    assert repo["full_name"] == "acme/web"
    assert len(fake_github.requests_to("GET", "/repos/{owner}/{repo}")) == 3


async def test_secondary_rate_limit_goes_back_to_the_queue(
    github_app: GitHubApp, fake_github: FakeGitHub
) -> None:
    inst = fake_github.add_installation("acme", ["web"])
    fake_github.fail_next("GET", "/repos/{owner}/{repo}", 403, headers={"Retry-After": "90"})
    gh = github_app.installation_client(inst.id)
    with pytest.raises(TransientError) as raised:
        await gh.getitem("/repos/acme/web")
    assert raised.value.retry_after == 90


async def test_short_retry_after_is_waited_inline(github_app: GitHubApp, fake_github: FakeGitHub) -> None:
    inst = fake_github.add_installation("acme", ["web"])
    fake_github.fail_next("GET", "/repos/{owner}/{repo}", 429, headers={"Retry-After": "1"})
    gh = github_app.installation_client(inst.id)
    started = time.monotonic()
    assert (await gh.getitem("/repos/acme/web"))["name"] == "web"
    assert time.monotonic() - started >= 1.0


async def test_etag_cache_answers_304(github_app: GitHubApp, fake_github: FakeGitHub) -> None:
    inst = fake_github.add_installation("acme", ["web"])
    gh = github_app.installation_client(inst.id)
    first = await gh.getitem("/repos/acme/web")
    second = await github_app.installation_client(inst.id).getitem("/repos/acme/web")
    assert first == second
    statuses = [r.status for r in fake_github.requests_to("GET", "/repos/{owner}/{repo}")]
    assert statuses == [200, 304]


async def test_persistent_5xx_becomes_transient_error(github_app: GitHubApp, fake_github: FakeGitHub) -> None:
    inst = fake_github.add_installation("acme", ["web"])
    fake_github.fail_next("GET", "/repos/{owner}/{repo}", 500, times=10)
    with pytest.raises(TransientError):
        await github_app.installation_client(inst.id).getitem("/repos/acme/web")
