"""A GitHubClient with an installation token on acme/web of the fake GitHub, for the typed calls' tests."""

from __future__ import annotations

import aiohttp
import pytest

from app.github.http import GitHubClient
from tests.fakes.github import FakeGitHub
from tests.fakes.github_state import Installation
from tests.github_fake.conftest import http, inst  # noqa: F401 - the fake's own fixtures

REPO = "acme/web"


async def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def gh(http: aiohttp.ClientSession, fake_github: FakeGitHub, inst: Installation) -> GitHubClient:  # noqa: F811
    token = fake_github.installation_token(inst.id)
    return GitHubClient(http, base_url=fake_github.api_url, oauth_token=token, sleep=no_sleep)
