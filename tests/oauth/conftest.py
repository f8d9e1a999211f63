"""The OAuth flow through the real app (``tests.harness.app_harness``), with a public URL of its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from app.services import SERVICES, Services
from app.settings import Settings
from tests.fakes.github import FakeGitHub
from tests.harness import AppHarness

PUBLIC_URL = "https://fixloop.example"


@dataclass
class OAuthApp:
    client: TestClient[web.Request, web.Application]
    settings: Settings
    github: FakeGitHub
    # The browser's cookie from /start: a Secure cookie, which the test client (plain http) would not
    # send back by itself, so it is carried here as a browser on https does.
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def services(self) -> Services:
        app = self.client.app
        assert isinstance(app, web.Application)
        return app[SERVICES]

    async def start(self, query: str = "") -> str:
        """GET /github/oauth/start; the authorize URL it redirects to."""
        answer = await self.client.get(f"/github/oauth/start{query}", allow_redirects=False)
        assert answer.status == 302, await answer.text()
        self.cookies = {name: morsel.value for name, morsel in answer.cookies.items()}
        return answer.headers["Location"]

    async def authorise(self, login: str, query: str = "") -> aiohttp.ClientResponse:
        """The browser's round trip: start -> GitHub's authorize (approved) -> back to the callback."""
        self.github.add_user(login)
        self.github.approve_oauth(login)
        authorize = await self.start(query)
        async with aiohttp.ClientSession() as browser, browser.get(authorize, allow_redirects=False) as back:
            assert back.status == 302
            parts = urlsplit(back.headers["Location"])
        assert f"{parts.scheme}://{parts.netloc}" == PUBLIC_URL
        return await self.callback(parts.query)

    async def callback(self, query: str, *, cookies: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        sent = self.cookies if cookies is None else cookies
        header = "; ".join(f"{name}={value}" for name, value in sent.items())
        return await self.client.get(
            f"/github/oauth/callback?{query}", headers={"Cookie": header} if header else {}
        )


@pytest.fixture
def oauth_env() -> dict[str, str]:
    """Extra environment; parametrize it to change the configuration."""
    return {}


@pytest.fixture
def harness_env(oauth_env: dict[str, str]) -> dict[str, str]:
    return {"FIXLOOP_PUBLIC_URL": PUBLIC_URL, **oauth_env}


@pytest.fixture
def oauth_app(app_harness: AppHarness) -> OAuthApp:
    """The real app (create_app, its route table and services), seen through the OAuth routes."""
    assert app_harness.github is not None
    return OAuthApp(app_harness.client, app_harness.settings, app_harness.github)
