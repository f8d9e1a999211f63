"""TokenEndpoint against a scripted token endpoint: retries on 5xx/429/transport, never on refusals."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from app.errors import ConfigError, PermanentError, TransientError
from app.github.oauth import Grant, OAuthRefused, TokenEndpoint
from app.settings import Secret, Settings

GOOD = {
    "access_token": "ghu_new",
    "expires_in": 28800,
    "refresh_token": "ghr_new",
    "refresh_token_expires_in": 99,
}


class Script:
    """Answers queued responses in order, then GOOD; records the form bodies it received."""

    def __init__(self) -> None:
        self.answers: list[web.Response] = []
        self.seen: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append({"accept": request.headers.get("Accept"), **dict(await request.post())})
        return self.answers.pop(0) if self.answers else web.json_response(GOOD)


@pytest.fixture
async def script() -> AsyncIterator[tuple[Script, str]]:
    scripted = Script()
    app = web.Application()
    app.router.add_post("/login/oauth/access_token", scripted.handle)
    server = TestServer(app)
    await server.start_server()
    try:
        yield scripted, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


def settings(web_url: str, client_id: str = "Iv1.client") -> Settings:
    return Settings(
        github_web_url=web_url,
        github_client_id=client_id,
        github_client_secret=Secret("client-secret"),
        public_url="https://fixloop.example",
    )


async def run(web_url: str, call: str = "refresh", **kwargs: str) -> tuple[Grant, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with aiohttp.ClientSession() as session:
        endpoint = TokenEndpoint(settings(web_url, **kwargs), session, sleep)
        grant = await (endpoint.refresh("ghr_old") if call == "refresh" else endpoint.exchange_code("c0de"))
    return grant, slept


async def test_refresh_posts_a_form_asking_for_json(script: tuple[Script, str]) -> None:
    scripted, url = script
    grant, slept = await run(url)
    assert (grant.access_token, grant.refresh_token, grant.expires_in) == ("ghu_new", "ghr_new", 28800)
    assert slept == []
    assert scripted.seen == [
        {
            "accept": "application/json",
            "client_id": "Iv1.client",
            "client_secret": "client-secret",
            "grant_type": "refresh_token",
            "refresh_token": "ghr_old",
        }
    ]
    assert "ghu_new" not in repr(grant) and "ghr_new" not in repr(grant)


async def test_code_exchange_sends_the_callback_as_redirect_uri(script: tuple[Script, str]) -> None:
    scripted, url = script
    await run(url, call="code")
    assert scripted.seen[0]["code"] == "c0de"
    assert scripted.seen[0]["redirect_uri"] == "https://fixloop.example/github/oauth/callback"


async def test_5xx_is_retried_with_backoff(script: tuple[Script, str]) -> None:
    scripted, url = script
    scripted.answers = [web.Response(status=502), web.Response(status=500)]
    grant, slept = await run(url)
    assert grant.access_token == "ghu_new" and slept == [0.5, 1.0] and len(scripted.seen) == 3


async def test_retry_after_is_honoured_and_capped(script: tuple[Script, str]) -> None:
    scripted, url = script
    scripted.answers = [
        web.Response(status=429, headers={"Retry-After": "3"}),
        web.Response(status=503, headers={"Retry-After": "3600"}),
    ]
    _, slept = await run(url)
    assert slept == [3.0, 10.0]


async def test_a_lasting_5xx_is_transient_after_three_attempts(script: tuple[Script, str]) -> None:
    scripted, url = script
    scripted.answers = [web.Response(status=502) for _ in range(5)]
    with pytest.raises(TransientError, match="HTTP 502"):
        await run(url)
    assert len(scripted.seen) == 3


async def test_an_unreachable_endpoint_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connection refused
        with pytest.raises(TransientError, match="unreachable"):
            await run(f"http://127.0.0.1:{port}")


async def test_refusals_are_not_retried(script: tuple[Script, str]) -> None:
    scripted, url = script
    scripted.answers = [web.json_response({"error": "bad_refresh_token", "error_description": "gone"})]
    with pytest.raises(OAuthRefused) as refused:
        await run(url)
    assert refused.value.error == "bad_refresh_token" and len(scripted.seen) == 1


async def test_a_non_json_answer_is_a_permanent_error(script: tuple[Script, str]) -> None:
    scripted, url = script
    scripted.answers = [web.Response(status=404, text="<html>Not Found</html>", content_type="text/html")]
    with pytest.raises(PermanentError, match="HTTP 404 without JSON"):
        await run(url)


async def test_no_client_id_is_a_config_error(script: tuple[Script, str]) -> None:
    scripted, url = script
    with pytest.raises(ConfigError, match="GITHUB_CLIENT_ID"):
        await run(url, client_id="")
    assert scripted.seen == []
