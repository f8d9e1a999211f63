"""The incident MCP server: the official ``mcp`` SDK's streamable HTTP app, served by uvicorn on its own
port (``FIXLOOP_MCP_PORT``) inside the ``serve`` process, beside the aiohttp app.

Why a port of its own: the SDK's transport is an ASGI (Starlette) app with its own lifespan (the session
manager's task group); bridging it into aiohttp would mean re-implementing its streaming responses.
uvicorn runs it on the same event loop, sharing the process's store and Kubernetes client; an ingress
routes ``/mcp`` to that port (``FIXLOOP_MCP_URL`` is what agents are told).

Auth, by the incident token of ``app.mcp.tokens``, in one of two places:

- ``Authorization: Bearer <token>``: a request whose header carries anything but a valid token is
  answered 401 before the SDK sees it;
- the tools' ``token`` argument, for clients whose MCP configuration is static (the Copilot coding
  agent's is one per repository, so it cannot hold a per-incident header): without the header, the
  session opens and lists its tools, and each tool call must name a valid token.

Each tool decides its incident from the token alone (the header's, when there is one; an argument that
names another incident is refused): there is no incident argument to forge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ToolAnnotations

from app.errors import ConfigError
from app.mcp.tokens import verify_token
from app.mcp.tools import IncidentReader

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)

MCP_PATH = "/mcp"
STOP_TIMEOUT = 10.0  # seconds for open MCP requests to finish at shutdown
READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
REFUSED = "the incident token is missing, invalid or expired, or its incident has ended"
Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def bearer(headers: Any) -> str:
    value = str(headers.get("authorization", "") if headers else "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class BearerGate:
    """ASGI middleware: no valid incident token, no MCP (401 with a reason, as RFC 6750 says)."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app, self.services = app, services

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if "authorization" not in headers:  # the tools then need their token argument
            return await self.app(scope, receive, send)
        token = bearer(headers)
        if token and await verify_token(self.services.store, token) is not None:
            return await self.app(scope, receive, send)
        reason = "the token is malformed, invalid or expired, or its incident has ended"
        body = orjson.dumps({"error": "unauthorized", "reason": reason})
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="fixloop-mcp", error="invalid_token"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return None


async def _incident_reader(
    services: Services, tool: str, ctx: Context[Any, Any], token: str
) -> IncidentReader:
    """The incident a tool call may read, decided by its token alone; ToolError when there is none."""
    header = bearer(ctx.headers)
    incident_id = await verify_token(services.store, header or token)
    if (
        incident_id is not None
        and header
        and token
        and await verify_token(services.store, token) != incident_id
    ):
        incident_id = None  # the argument names another incident than the header
    incident = await services.store.get_incident(incident_id) if incident_id else None
    if incident is None:
        services.metrics.mcp_calls.labels(tool=tool, outcome="refused").inc()
        raise ToolError(REFUSED)
    services.metrics.mcp_calls.labels(tool=tool, outcome="ok").inc()
    return IncidentReader(services, incident)


def build_mcp(services: Services) -> MCPServer[Any]:
    mcp: MCPServer[Any] = MCPServer(
        "fixloop",
        instructions=(
            "Read-only evidence of one failed canary. The incident token (Authorization header, or each "
            "tool's token argument) decides which incident."
        ),
        log_level="WARNING",
    )

    @mcp.tool(annotations=READ_ONLY)
    async def incident_evidence(ctx: Context[Any, Any], token: str = "") -> str:
        """The incident's analysis and the evidence Fixloop collected: images, crashes, metrics, events.
        token: the incident token from the issue's task, unless the Authorization header carries it."""
        return (await _incident_reader(services, "incident_evidence", ctx, token)).evidence()

    @mcp.tool(annotations=READ_ONLY)
    async def canary_logs(
        ctx: Context[Any, Any], token: str = "", tail_lines: int = 200, previous: bool = False
    ) -> str:
        """Fresh logs of the canary pods (the failing revision), redacted; previous: crashed instances.
        token: the incident token from the issue's task, unless the Authorization header carries it."""
        return await (await _incident_reader(services, "canary_logs", ctx, token)).canary_logs(
            tail_lines, previous
        )

    @mcp.tool(annotations=READ_ONLY)
    async def canary_events(ctx: Context[Any, Any], token: str = "") -> str:
        """Fresh Kubernetes Events about the Rollout and its canary pods.
        token: the incident token from the issue's task, unless the Authorization header carries it."""
        return await (await _incident_reader(services, "canary_events", ctx, token)).canary_events()

    @mcp.tool(annotations=READ_ONLY)
    async def analysis_runs(ctx: Context[Any, Any], token: str = "") -> str:
        """The canary revision's AnalysisRuns: phase and every metric's measurements.
        token: the incident token from the issue's task, unless the Authorization header carries it."""
        return await (await _incident_reader(services, "analysis_runs", ctx, token)).analysis_runs()

    return mcp


def asgi_app(services: Services) -> ASGIApp:
    public = urlsplit(services.settings.mcp_public_url)
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", public.netloc, f"{public.hostname}:*"]
    security = TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts)
    app = build_mcp(services).streamable_http_app(
        streamable_http_path=MCP_PATH, stateless_http=True, json_response=True, transport_security=security
    )
    return BearerGate(app, services)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """aiohttp's runner owns SIGTERM/SIGINT; its shutdown stops this server (McpServerTask.stop)."""
        yield


class McpServerTask:
    """uvicorn serving the MCP app on the running loop; ``port`` is the bound one (0 asks for any).

    The socket is bound here, not by uvicorn: uvicorn answers a port in use with ``sys.exit``, which
    inside a task would stop the whole event loop, the aiohttp app with it.
    """

    def __init__(self, services: Services, port: int) -> None:
        config = uvicorn.Config(asgi_app(services), log_level="warning", lifespan="on")
        self.server = _Server(config)
        self.requested = port
        self.sock: socket.socket | None = None
        self.task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        assert self.sock is not None
        return int(self.sock.getsockname()[1])

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", self.requested))  # noqa: S104 - as the aiohttp app: the pod's port
        except OSError as exc:
            sock.close()
            raise ConfigError(
                f"FIXLOOP_MCP_PORT: cannot listen on {self.requested}: {exc.strerror}"
            ) from None
        return sock

    async def _serve(self, sock: socket.socket) -> None:
        try:
            await self.server.serve(sockets=[sock])
        except SystemExit as exc:  # uvicorn's way to fail its startup: kept inside this task
            raise RuntimeError(f"the MCP server failed to start (uvicorn exit {exc.code})") from None

    async def start(self) -> None:
        """Serving once this returns; ConfigError naming FIXLOOP_MCP_PORT when it cannot listen."""
        self.sock = self._bind()
        self.task = asyncio.create_task(self._serve(self.sock), name="mcp-server")
        while not self.server.started:  # uvicorn sets a flag, not an event
            if self.task.done():
                await self.task  # raises why it stopped
                raise RuntimeError("the MCP server stopped while starting")
            await asyncio.sleep(0.02)
        log.info("MCP server listening on port %s", self.port)

    async def stop(self) -> None:
        if self.task is None:
            return
        self.server.should_exit = True
        try:
            await asyncio.wait_for(self.task, timeout=STOP_TIMEOUT)  # cancels it past the timeout
        except (asyncio.CancelledError, TimeoutError, RuntimeError) as exc:
            log.warning("MCP server stopped uncleanly: %s", type(exc).__name__)
        if self.sock is not None:
            self.sock.close()
