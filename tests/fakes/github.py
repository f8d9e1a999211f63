"""FakeGitHub: the one strict fake GitHub every test uses, reached by the real app over HTTP.

    async with FakeGitHub() as fake:                      # or the `fake_github` pytest fixture
        inst = fake.add_installation("acme", ["web"])     # repo acme/web, covered by the App
        fake.put_file("acme/web", ".github/fixloop.yml", "agent: copilot\\n")
        fake.add_user("alice", copilot_seat=True); fake.add_collaborator("acme/web", "alice")
        env = fake.env()                                  # GITHUB_API_URL, GITHUB_WEB_URL, App id, key...
        ...run the app...
        assert fake.issues("acme/web")[0].labels == ["fixloop"]

Every REST request is checked against GitHub's OpenAPI description (tests/fixtures/openapi) before
it is handled: a request the description does not allow gets 422 and lands in `fake.violations`,
which the `fake_github` fixture asserts empty at teardown. Answers are validated too (a fake bug
also lands in `violations`). Auth works as on GitHub: App JWT for /app endpoints, installation
tokens (ghs_, 1 h, scoped to the installation's repositories), user tokens (ghu_) from the OAuth
web flow on `web_url`.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from tests.fakes import github_handlers as _handlers  # noqa: F401 - registers the REST routes
from tests.fakes import keys
from tests.fakes.github_auth import Auth, GitHubError, Token, bad_credentials
from tests.fakes.github_routing import ROUTES, Ctx, Fault, RecordedRequest, Reply, Slowdown, not_found
from tests.fakes.github_shapes import Shapes
from tests.fakes.github_state import Caller, GitHubState, Repo
from tests.fakes.openapi_check import Match, OpenAPIViolation, check_request, check_response

RATE_LIMIT = {"core": 5000, "search": 30}
SECONDARY = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach "
    "out to GitHub Support for help, please include the request ID."
)
DEFAULT_FAULT_MESSAGES = {
    403: SECONDARY,
    429: SECONDARY,
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class _Server:
    runner: web.AppRunner
    url: str = ""


def _parse_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def _etag(body: bytes) -> str:
    return f'W/"{hashlib.sha256(body).hexdigest()[:40]}"'


class FakeGitHub(GitHubState):
    def __init__(
        self,
        *,
        app_id: int = keys.APP_ID,
        app_slug: str = keys.APP_SLUG,
        client_id: str = keys.CLIENT_ID,
        client_secret: str = keys.CLIENT_SECRET,
        public_key_pem: str = keys.PUBLIC_KEY_PEM,
        validate_responses: bool = True,
    ) -> None:
        super().__init__(app_id, app_slug, client_id)
        self.client_secret = client_secret
        self.auth = Auth(self, public_key_pem, client_id, client_secret)
        self.validate_responses = validate_responses
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self.slowdowns: list[Slowdown] = []
        self.delay = 0.0
        self.shapes = Shapes(self, "https://api.github.invalid", "https://github.invalid")
        self._used: dict[str, int] = {}
        self._servers: list[_Server] = []

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> FakeGitHub:
        api = web.Application(client_max_size=10 * 2**20)
        api.router.add_route("*", "/{tail:.*}", self._handle_api)
        site = web.Application(middlewares=[self._record_web])
        site.router.add_get("/login/oauth/authorize", self.auth.authorize)
        site.router.add_post("/login/oauth/authorize", self.auth.sign_in)
        site.router.add_post("/login/oauth/access_token", self.auth.access_token)
        for app in (api, site):
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            host, port = runner.addresses[0][:2]
            self._servers.append(_Server(runner, f"http://{host}:{port}"))
        self.shapes = Shapes(self, self.api_url, self.web_url)
        return self

    async def stop(self) -> None:
        for server in self._servers:
            await server.runner.cleanup()
        self._servers.clear()

    async def __aenter__(self) -> FakeGitHub:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        return self._servers[0].url

    @property
    def web_url(self) -> str:
        return self._servers[1].url

    def env(self) -> dict[str, str]:
        """The environment that points the app at this fake, with the test App's identity."""
        return {
            "GITHUB_API_URL": self.api_url,
            "GITHUB_WEB_URL": self.web_url,
            "GITHUB_APP_ID": str(self.app_id),
            "GITHUB_PRIVATE_KEY": keys.PRIVATE_KEY_PEM,
            "GITHUB_CLIENT_ID": self.client_id,
            "GITHUB_CLIENT_SECRET": self.client_secret,
        }

    # --- credentials for tests ------------------------------------------------------------------

    def installation_token(self, installation_id: int) -> str:
        return self.auth.installation_token(installation_id).value

    def user_token(self, login: str) -> str:
        """A fresh user-to-server token for `login` (as if they had gone through OAuth)."""
        return str(self.auth.user_token(login)["access_token"])

    def approve_oauth(self, login: str) -> None:
        """Let the next /login/oauth/authorize redirect back with a code for `login`."""
        self.auth.approvals.append(login)

    def oauth_code(self, login: str, redirect_uri: str | None = None) -> str:
        return self.auth.code_for(login, redirect_uri)

    def revoke_token(self, value: str) -> None:
        self.auth.revoke(value)

    def expire_token(self, value: str) -> None:
        self.auth.tokens[value].expires_at = time.time() - 1

    # --- fault injection and inspection ---------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_pattern: str,
        status: int,
        headers: dict[str, str] | None = None,
        times: int = 1,
        *,
        body: Any = None,
        after_work: bool = False,
    ) -> None:
        """Answer the next `times` matching requests with `status` (after validation, before auth).

        `path_pattern` is an OpenAPI template ("/repos/{owner}/{repo}/issues") or a glob on the
        path ("/repos/acme/web/issues/*"); `method` may be "*". Retry-After or x-ratelimit-*
        go in `headers`. `after_work=True` carries the request out first, as GitHub behind a proxy that
        gave up waiting does: the 502 comes back, the issue exists.
        """
        fault = Fault(method.upper(), path_pattern, status, dict(headers or {}), times, body, after_work)
        self.faults.append(fault)

    def slow_next(self, method: str, path_pattern: str, seconds: float, times: int = 1) -> None:
        """Answer the next `times` matching requests `seconds` late, as a slow GitHub does: the request
        is still carried out, so a client that gave up and retried a POST has made it twice."""
        self.slowdowns.append(Slowdown(method.upper(), path_pattern, seconds, times))

    def take_violations(self) -> list[str]:
        """Return and clear the violations (for tests that send bad requests on purpose)."""
        taken, self.violations = self.violations, []
        return taken

    def assert_no_violations(self) -> None:
        if self.violations:
            listed = "\n  ".join(self.violations)
            raise AssertionError(f"requests GitHub's description does not allow:\n  {listed}")

    def requests_to(self, method: str, pattern: str) -> list[RecordedRequest]:
        """Recorded requests whose template equals `pattern` or whose path matches it as a glob."""
        return [
            r
            for r in self.requests
            if r.method == method.upper() and (r.template == pattern or fnmatch.fnmatchcase(r.path, pattern))
        ]

    def visible_repos(self, caller: Caller) -> list[str]:
        if caller.kind == "installation":
            return sorted(self.installations[caller.installation_id or 0].repos)
        covered = {r for inst in self.installations.values() for r in inst.repos}
        return sorted(
            r for r in covered if caller.user and self._user_can_read(self.repos[r], caller.user.login)
        )

    # --- request handling -----------------------------------------------------------------------

    @web.middleware
    async def _record_web(self, request: web.Request, handler: Any) -> web.StreamResponse:
        record = RecordedRequest(
            request.method, request.path, dict(request.query), None, dict(request.headers)
        )
        self.requests.append(record)
        try:
            response: web.StreamResponse = await handler(request)
        except web.HTTPException as exc:
            record.status = exc.status
            raise
        record.status = response.status
        return response

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        path = request.raw_path.split("?", 1)[0]
        record = RecordedRequest(
            request.method, path, dict(request.query), _parse_body(raw), dict(request.headers)
        )
        self.requests.append(record)
        if self.delay:
            await asyncio.sleep(self.delay)
        response = await self._respond(request, raw, record)
        record.status = response.status
        return response

    async def _respond(self, request: web.Request, raw: bytes, record: RecordedRequest) -> web.StreamResponse:
        content_type = request.headers.get("Content-Type", "application/json")
        try:
            found = check_request(
                request.method,
                record.path,
                request.query.items(),
                headers=request.headers,
                body=raw,
                content_type=content_type,
            )
        except OpenAPIViolation as exc:
            self.violations.append(str(exc))
            return self._json(422, {"message": str(exc), "documentation_url": "tests/fixtures/openapi"}, None)
        record.template = found.template
        late = self._take_slowdown(request.method, record.path, found.template)
        response = await self._serve(request, raw, record, found)
        if late:  # after the work: the client that gave up does not undo it
            await asyncio.sleep(late)
        return response

    def _take_slowdown(self, method: str, path: str, template: str) -> float:
        for slow in self.slowdowns:
            if slow.times > 0 and slow.matches(method, path, template):
                slow.times -= 1
                return slow.seconds
        return 0.0

    async def _serve(
        self, request: web.Request, raw: bytes, record: RecordedRequest, found: Match
    ) -> web.StreamResponse:
        fault = next(
            (
                f
                for f in self.faults
                if f.times > 0 and f.matches(request.method, record.path, found.template)
            ),
            None,
        )
        if fault is not None:
            fault.times -= 1
            if fault.after_work:
                await self._serve_route(request, raw, record, found)
            return self._fault(fault, request)
        return await self._serve_route(request, raw, record, found)

    async def _serve_route(
        self, request: web.Request, raw: bytes, record: RecordedRequest, found: Match
    ) -> web.StreamResponse:
        route = ROUTES.get((found.method, found.template))
        if route is None:
            self.violations.append(f"the fake has no handler for {found.method.upper()} {found.template}")
            return self._json(501, {"message": "Not implemented by the fake"}, None)
        token = self.auth.token_for(request.headers.get("Authorization"))
        try:
            caller = self.auth.caller(request.headers.get("Authorization"))
            record.caller = caller.kind + (f":{caller.installation_id}" if caller.installation_id else "")
            record.caller += f":{caller.user.login}" if caller.kind == "user" and caller.user else ""
            self._check_kind(route.auth, caller)
            ctx = Ctx(
                self,
                found,
                caller,
                _parse_body(raw),
                request.query,
                request.headers,
                f"{self.api_url}{record.path}",
            )
            if found.template.startswith("/repos/{owner}/{repo}") and route.auth != "jwt":
                ctx.repo = self._repo_for(caller, token, found.params)
            reply = await route.handler(ctx)
        except GitHubError as exc:
            return self._json(exc.status, exc.body, token, exc.headers)
        return self._reply(request, found, reply, token)

    def _check_kind(self, needed: str, caller: Caller) -> None:
        if needed == "jwt" and caller.kind != "app":
            raise GitHubError(401, "A JSON web token could not be decoded")
        if needed != "jwt" and caller.kind == "app":
            raise bad_credentials()
        if needed == "user" and caller.kind != "user":
            raise GitHubError(403, "Resource not accessible by integration")

    def _user_can_read(self, repo: Repo, login: str) -> bool:
        return not repo.private or login == repo.owner.login or login in repo.collaborators

    def _repo_for(self, caller: Caller, token: Token | None, params: dict[str, str]) -> Repo:
        wanted = f"{params['owner']}/{params['repo']}".lower()
        repo = next((r for name, r in self.repos.items() if name.lower() == wanted), None)
        if repo is None or repo.full_name not in self.visible_repos(caller):
            raise not_found()
        if token is not None and token.repos is not None and repo.full_name not in token.repos:
            raise not_found()
        return repo

    def _reply(
        self, request: web.Request, found: Match, reply: Reply, token: Token | None
    ) -> web.StreamResponse:
        if isinstance(reply.body, bytes):  # raw media type (contents with Accept: ...raw)
            return web.Response(
                status=reply.status, body=reply.body, headers=self._rate(token, found) | dict(reply.headers)
            )
        if self.validate_responses and 200 <= reply.status < 300:
            try:
                check_response(found, reply.status, reply.body)
            except OpenAPIViolation as exc:
                self.violations.append(f"fake bug, answer not GitHub-shaped: {exc}")
        body = json.dumps(reply.body).encode()
        headers = self._rate(token, found) | dict(reply.headers)
        if request.method == "GET" and reply.status == 200:
            headers["ETag"] = _etag(body)
            wanted = {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}
            if headers["ETag"] in wanted or headers["ETag"].removeprefix("W/") in wanted:
                return web.Response(status=304, headers=headers)
        return web.Response(status=reply.status, body=body, headers=headers, content_type="application/json")

    def _rate(self, token: Token | None, found: Match | None) -> dict[str, str]:
        resource = "search" if found and found.template.startswith("/search/") else "core"
        key = f"{resource}:{token.value if token else 'anonymous'}"
        self._used[key] = self._used.get(key, 0) + 1
        limit = RATE_LIMIT[resource]
        return {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(limit - self._used[key], 0)),
            "x-ratelimit-used": str(self._used[key]),
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-ratelimit-resource": resource,
            "x-github-media-type": "github.v3; format=json",
        }

    def _json(
        self, status: int, body: Any, token: Token | None, headers: dict[str, str] | None = None
    ) -> web.Response:
        merged = self._rate(token, None) | (headers or {})
        return web.Response(
            status=status, body=json.dumps(body).encode(), headers=merged, content_type="application/json"
        )

    def _fault(self, fault: Fault, request: web.Request) -> web.Response:
        body = fault.body
        if body is None:
            message = DEFAULT_FAULT_MESSAGES.get(fault.status, "Injected fault")
            if fault.headers.get("x-ratelimit-remaining") == "0":
                message = "API rate limit exceeded for installation."
            body = {
                "message": message,
                "documentation_url": "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api",
            }
        token = self.auth.token_for(request.headers.get("Authorization"))
        return self._json(fault.status, body, token, fault.headers)


@pytest.fixture
async def fake_github() -> AsyncIterator[FakeGitHub]:
    """A started FakeGitHub; the test fails if the app sent any request GitHub would not accept."""
    fake = FakeGitHub()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
    fake.assert_no_violations()
