"""How the fake's REST handlers are declared (one per OpenAPI operation, with the auth it needs),
and the records of requests and injected faults."""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple
from urllib.parse import urlencode

from tests.fakes.github_auth import GitHubError
from tests.fakes.github_state import Caller, Issue, Repo
from tests.fakes.openapi_check import Match

if TYPE_CHECKING:
    from tests.fakes.github import FakeGitHub

AuthKind = Literal["jwt", "token", "user"]


class Reply(NamedTuple):
    status: int
    body: Any
    headers: Mapping[str, str] = {}


@dataclass
class Ctx:
    fake: FakeGitHub
    match: Match
    caller: Caller
    body: Any
    query: Mapping[str, str]
    headers: Mapping[str, str]
    url: str
    repo: Repo | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, str]:
        return self.match.params

    def issue(self, key: str = "issue_number") -> Issue:
        assert self.repo is not None
        found = self.repo.issues.get(int(self.params[key]))
        if found is None:
            raise not_found()
        return found


Handler = Callable[[Ctx], Awaitable[Reply]]


@dataclass(frozen=True)
class Route:
    auth: AuthKind
    handler: Handler


ROUTES: dict[tuple[str, str], Route] = {}


def route(method: str, template: str, auth: AuthKind = "token") -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES[(method.lower(), template)] = Route(auth, handler)
        return handler

    return register


def not_found(doc: str = "https://docs.github.com/rest") -> GitHubError:
    return GitHubError(404, "Not Found", documentation_url=doc)


def validation_failed(resource: str, field_name: str, code: str, message: str | None = None) -> GitHubError:
    error: dict[str, Any] = {"resource": resource, "field": field_name, "code": code}
    if message:
        error["message"] = message
    return GitHubError(422, "Validation Failed", errors=[error])


def paginate(ctx: Ctx, items: list[Any]) -> Reply:
    """One page of `items` (per_page, page) with GitHub's Link header."""
    per_page = min(int(ctx.query.get("per_page", 30)), 100)
    page = max(int(ctx.query.get("page", 1)), 1)
    last = max((len(items) + per_page - 1) // per_page, 1)
    chunk = items[(page - 1) * per_page : page * per_page]
    links = []

    def link(n: int, rel: str) -> str:
        query = {**ctx.query, "per_page": str(per_page), "page": str(n)}
        return f'<{ctx.url}?{urlencode(query)}>; rel="{rel}"'

    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        links += [link(1, "first"), link(page - 1, "prev")]
    return Reply(200, chunk, {"Link": ", ".join(links)} if links else {})


@dataclass
class RecordedRequest:
    """One request the fake received (REST or web)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    status: int = 0
    template: str | None = None
    caller: str | None = None  # "app", "installation:<id>", "user:<login>"
    at: float = field(default_factory=time.monotonic)  # when it arrived (backoff assertions)


@dataclass
class Fault:
    method: str
    pattern: str
    status: int
    headers: dict[str, str]
    times: int
    body: Any = None
    after_work: bool = False  # carry the request out, then answer the fault (a 502 from a proxy that gave up)

    def matches(self, method: str, path: str, template: str | None) -> bool:
        return _matches(self.method, self.pattern, method, path, template)


@dataclass
class Slowdown:
    """The next `times` matching requests are answered `seconds` late (the work is still done)."""

    method: str
    pattern: str
    seconds: float
    times: int

    def matches(self, method: str, path: str, template: str | None) -> bool:
        return _matches(self.method, self.pattern, method, path, template)


def _matches(wanted_method: str, pattern: str, method: str, path: str, template: str | None) -> bool:
    if wanted_method not in ("*", method.upper()):
        return False
    return pattern == template or fnmatch.fnmatchcase(path, pattern)
