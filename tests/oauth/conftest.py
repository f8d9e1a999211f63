"""An app with only the OAuth routes, wired as app/server.py wires them, around the real Services.

``oauth_routes(endpoints)`` is registered here exactly as the server registers it, so these tests cover
the route table too; the shared fakes (GitHub, Kubernetes) are the project-wide fixtures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from app.github.oauth_routes import OAuthEndpoints, oauth_routes
from app.metrics import Metrics
from app.services import SERVICES, Services, start_services, stop_services
from app.settings import Settings
from tests.fakes.github import FakeGitHub
from tests.fakes.kube import FakeKube
from tests.harness import base_env

PUBLIC_URL = "https://fixloop.example"


def endpoints_of(request: web.Request) -> OAuthEndpoints:
    services = request.app[SERVICES]
    return OAuthEndpoints(services.settings, services.store, services.github, services.user_tokens)


def build_app(settings: Settings) -> web.Application:
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        services = await start_services(settings, Metrics())
        app[SERVICES] = services
        try:
            yield
        finally:
            await stop_services(services)

    app = web.Application()
    app.cleanup_ctx.append(lifecycle)
    app.add_routes(oauth_routes(endpoints_of))
    return app


@dataclass
class OAuthApp:
    client: TestClient[web.Request, web.Application]
    settings: Settings
    github: FakeGitHub

    @property
    def services(self) -> Services:
        app = self.client.app
        assert isinstance(app, web.Application)
        return app[SERVICES]

    async def start(self, query: str = "") -> str:
        """GET /github/oauth/start; the authorize URL it redirects to."""
        answer = await self.client.get(f"/github/oauth/start{query}", allow_redirects=False)
        assert answer.status == 302, await answer.text()
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

    async def callback(self, query: str) -> aiohttp.ClientResponse:
        return await self.client.get(f"/github/oauth/callback?{query}")


@pytest.fixture
def oauth_env() -> dict[str, str]:
    """Extra environment; parametrize it to change the configuration."""
    return {}


@pytest.fixture
async def oauth_app(
    fake_github: FakeGitHub, fake_kube: FakeKube, oauth_env: dict[str, str], tmp_path: Path
) -> AsyncIterator[OAuthApp]:
    env = base_env(
        fake_github,
        f"sqlite:///{tmp_path / 'oauth.db'}",
        KUBECONFIG=str(fake_kube.kubeconfig),
        FIXLOOP_PUBLIC_URL=PUBLIC_URL,
        **oauth_env,
    )
    settings = Settings.from_env(env)
    client = TestClient(TestServer(build_app(settings)))
    await client.start_server()
    try:
        yield OAuthApp(client, settings, fake_github)
    finally:
        await client.close()
