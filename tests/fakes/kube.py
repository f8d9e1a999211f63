"""The one fake Kubernetes API server of the test suite (aiohttp on 127.0.0.1, random port).

The app reaches it as it reaches a real cluster: through a kubeconfig file (``fake.kubeconfig``) with the
server URL and a bearer token; any other token gets 401. Errors are ``kind: Status`` bodies.

    fake = FakeKube(); await fake.start(); fake.load_demo()
    kube = await KubeClient.create(str(fake.kubeconfig), timeout=1)

Faults: ``fake.down = True`` (503 for everything), ``await fake.unplug()`` / ``replug()`` (connection
refused), ``fake.forbid("pods/log")`` (403 for a resource, ``resource/subresource`` or path glob),
``fake.delay = 2.0`` (seconds before each answer), ``fake.race("Rollout", ns, name, write, ...)``
(the next guarded patches meet a concurrent write and get 409 Conflict, see ``kube_objects`` for
writes). ``fake.requests`` / ``fake.patches`` record calls.
Tests get a started instance from the ``fake_kube`` fixture (see ``tests/rollouts/conftest.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import re
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from tests.fakes.kube_logs import Logs
from tests.fakes.kube_objects import kube_event
from tests.fakes.kube_store import BY_KIND, RESOURCES, ApiError, Resource, Store, Write

__all__ = ["FakeKube", "fake_kube", "kube_event"]

TOKEN = "fake-kube-token"
_PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[^/]+)(?:/(?P<name>[^/]+)(?:/(?P<sub>[^/]+))?)?$"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass(frozen=True)
class PatchCall:
    resource: str  # "rollouts" or "rollouts/status"
    namespace: str
    name: str
    content_type: str
    body: Any
    status: int  # what the fake answered


@dataclass
class _Route:
    res: Resource
    namespace: str | None
    name: str
    sub: str

    @property
    def resource(self) -> str:
        return f"{self.res.plural}/{self.sub}" if self.sub else self.res.plural


@dataclass
class FakeKube:
    token: str = TOKEN
    directory: Path | None = None  # where the kubeconfig goes; a temporary directory if None
    down: bool = False
    delay: float = 0.0
    requests: list[Recorded] = field(default_factory=list)
    patches: list[PatchCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.store = Store()
        self.logs = Logs()
        self._forbidden: list[tuple[str, frozenset[str] | None]] = []
        self._runner: web.AppRunner | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._stopping = asyncio.Event()
        self.port = 0

    # -- life cycle -------------------------------------------------------------------------------
    async def start(self) -> FakeKube:
        await self._listen(0)
        if self.directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="fake-kube-")
            self.directory = Path(self._tmp.name)
        self.kubeconfig.write_text(yaml.safe_dump(self.kubeconfig_dict()), encoding="utf-8")
        return self

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._tmp is not None:
            self._tmp.cleanup()

    async def unplug(self) -> None:
        """Close the port: clients get 'connection refused' until ``replug()``."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def replug(self) -> None:
        await self._listen(self.port)

    async def _listen(self, port: int) -> None:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def kubeconfig(self) -> Path:
        assert self.directory is not None, "start() the fake first"
        return self.directory / "kubeconfig"

    def kubeconfig_dict(self, token: str | None = None) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": token or self.token}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
            "current-context": "fake",
        }

    # -- seeding and assertions -----------------------------------------------------------------------
    def add(self, *objects: dict[str, Any]) -> None:
        for obj in objects:
            self.store.add(obj)

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        return self.store.get(BY_KIND[kind], namespace, name)

    def set_logs(
        self,
        namespace: str,
        pod: str,
        container: str,
        lines: Iterable[str],
        *,
        previous: bool = False,
        start: str | None = None,
    ) -> None:
        """Lines in ``--timestamps`` form keep their time; others get ``start`` (default: pod creation)."""
        if start is None:
            created = self.get("Pod", namespace, pod)["metadata"]["creationTimestamp"]
            start = created
        self.logs.set(namespace, pod, container, lines, previous=previous, start=start)

    def load_demo(self) -> None:
        from tests.fakes.kube_demo import load_demo  # noqa: PLC0415 - avoid an import cycle

        load_demo(self)

    # -- faults ---------------------------------------------------------------------------------------
    def forbid(self, *patterns: str, verbs: Iterable[str] | None = None) -> None:
        """403 for requests whose resource (``pods``, ``pods/log``, ``rollouts/status``) or path matches."""
        for pattern in patterns:
            self._forbidden.append((pattern, frozenset(verbs) if verbs else None))

    def allow_all(self) -> None:
        self._forbidden.clear()

    def race(self, kind: str, namespace: str, name: str, *writes: Write) -> None:
        """Each of the next ``len(writes)`` resourceVersion-guarded PATCHes of the object finds that
        another client wrote it in between (``write``, e.g. the controller's status update): 409."""
        self.store.race(BY_KIND[kind], namespace, name, list(writes))

    # -- HTTP -----------------------------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.read()
        query = dict(request.query)
        self.requests.append(Recorded(request.method, request.path, query, request.content_type, body))
        try:
            if request.headers.get("Authorization") != f"Bearer {self.token}":
                raise ApiError(401, "Unauthorized", "Unauthorized")
            if self.delay:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.delay)
            if self.down:
                raise ApiError(
                    503, "ServiceUnavailable", "the server is currently unable to handle the request"
                )
            return await handler(request)
        except ApiError as exc:
            return web.json_response(exc.status(), status=exc.code)

    def _route(self, request: web.Request) -> _Route:
        found = _PATH.match(request.path)
        res = RESOURCES.get(found["plural"]) if found else None
        if (
            found is None
            or res is None
            or (found["core"] or f"{found['group']}/{found['version']}") != (res.api_version)
        ):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return _Route(res, found["ns"], found["name"] or "", found["sub"] or "")

    def _check_forbidden(self, request: web.Request, route: _Route) -> None:
        verb = {"GET": "get" if route.name else "list", "PATCH": "patch", "POST": "create"}.get(
            request.method, request.method.lower()
        )
        for pattern, verbs in self._forbidden:
            hit = fnmatch.fnmatchcase(route.resource, pattern) or fnmatch.fnmatchcase(request.path, pattern)
            if hit and (verbs is None or verb in verbs):
                target = f'{route.res.plural} "{route.name}"' if route.name else route.res.plural
                raise ApiError(
                    403,
                    "Forbidden",
                    f'{target} is forbidden: User "system:serviceaccount:fixloop:fixloop" cannot {verb} '
                    f'resource "{route.resource}" in API group "{route.res.group}" in the namespace '
                    f'"{route.namespace}"',
                    {"name": route.name, "group": route.res.group, "kind": route.resource},
                )

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        route = self._route(request)
        self._check_forbidden(request, route)
        if request.method == "GET":
            return self._get(request, route)
        if request.method == "PATCH" and route.name and route.namespace:
            return await self._patch(request, route)
        if request.method == "POST" and not route.name and route.namespace:
            obj = await request.json()
            obj.setdefault("metadata", {})["namespace"] = route.namespace
            if (route.res.plural, route.namespace, obj["metadata"].get("name")) in self.store.objects:
                raise ApiError(
                    409, "AlreadyExists", f'{route.res.plural} "{obj["metadata"]["name"]}" already exists'
                )
            return web.json_response(self.store.add(obj), status=201)
        raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on {route.resource}")

    def _get(self, request: web.Request, route: _Route) -> web.StreamResponse:
        res = route.res
        if not route.name:
            items = self.store.list(
                res,
                route.namespace,
                request.query.get("labelSelector", ""),
                request.query.get("fieldSelector", ""),
            )
            meta = {"resourceVersion": str(len(self.requests))}
            return web.json_response(
                {"kind": f"{res.kind}List", "apiVersion": res.api_version, "metadata": meta, "items": items}
            )
        assert route.namespace is not None
        obj = self.store.get(res, route.namespace, route.name)
        if route.sub == "log" and res.plural == "pods":
            return web.Response(text=self.logs.read(route.namespace, obj, request.query))
        if route.sub and not (route.sub == "status" and res.status_subresource):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return web.json_response(obj)

    async def _patch(self, request: web.Request, route: _Route) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw or b"null")
        except ValueError:
            body = raw
        assert route.namespace is not None
        status = 200
        try:
            obj = self.store.patch(
                route.res,
                route.namespace,
                route.name,
                route.sub,
                request.headers.get("Content-Type", ""),
                raw,
            )
        except ApiError as exc:
            status = exc.code
            raise
        finally:
            ctype = request.headers.get("Content-Type", "")
            self.patches.append(PatchCall(route.resource, route.namespace, route.name, ctype, body, status))
        return web.json_response(obj)


@contextlib.asynccontextmanager
async def running_fake_kube() -> AsyncIterator[FakeKube]:
    """A started, empty fake API server, stopped on exit (one more cluster for a test that needs two)."""
    fake = FakeKube()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def fake_kube() -> AsyncIterator[FakeKube]:
    """A started, empty fake API server; ``fake_kube.load_demo()`` seeds the demo."""
    async with running_fake_kube() as fake:
        yield fake
