"""The incident MCP server end to end, with the official SDK's client over streamable HTTP: the token
the issue's task carries lists and calls the tools; another incident's, a forged, an expired or an
ended incident's token is refused; a secret planted in the live canary logs never reaches the client."""

from __future__ import annotations

import asyncio
import re
import socket
import statistics
import time
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from app.errors import ConfigError
from app.loop.incident.stages import Stage
from app.mcp.server import McpServerTask
from app.mcp.tokens import mint_token
from app.store import Incident
from tests.analysis.secret_corpus import planted
from tests.figures import FigureRecorder
from tests.harness import AppHarness
from tests.loop_e2e.test_failure_to_issue import REPO, demo_notification, seed
from tests.loop_e2e.test_llm_and_gate import CANARY_PODS

TOKEN_RE = re.compile(r"fxmcp_\d+_[A-Za-z0-9_-]{43}")
TOOLS = {"incident_evidence", "canary_logs", "canary_events", "analysis_runs"}


@pytest.fixture
def harness_env() -> dict[str, str]:
    return {"FIXLOOP_MCP_PORT": "0"}


def mcp_url(app_harness: AppHarness) -> str:
    return f"http://127.0.0.1:{app_harness.services.mcp.port}/mcp"


def client(app_harness: AppHarness, token: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"} if token else {}, timeout=10)
    return Client(streamable_http_client(mcp_url(app_harness), http_client=http), mode="legacy")


def text_of(result: Any) -> str:
    assert not result.is_error, result
    return "\n".join(block.text for block in result.content)


async def open_incident(app_harness: AppHarness) -> str:
    seed(app_harness)
    await app_harness.notify(demo_notification())
    await app_harness.drain()
    assert app_harness.github is not None
    [issue] = app_harness.github.issues(REPO)
    assert "### Live evidence (MCP)" in (issue.body or "")
    found = TOKEN_RE.findall(issue.body or "")
    assert len(found) == 1, "the task carries one incident token"
    return found[0]


async def test_the_task_token_lists_and_calls_the_tools(
    app_harness: AppHarness, figures: FigureRecorder
) -> None:
    token = await open_incident(app_harness)
    assert app_harness.kube is not None
    fresh = ["2026-03-02T10:09:00Z fresh line after the issue: cache warmed"]
    # The container waits in CrashLoopBackOff: like the kubelet, the fake serves its last terminated
    # instance (the previous log) as the current one, so the fresh crash goes there.
    app_harness.kube.set_logs("demo", CANARY_PODS[0], "rollouts-demo", fresh, previous=True)
    async with client(app_harness, token) as mcp:
        tools = await mcp.list_tools()
        assert {tool.name for tool in tools.tools} == TOOLS
        assert all(tool.annotations and tool.annotations.read_only_hint for tool in tools.tools)
        evidence = text_of(await mcp.call_tool("incident_evidence", {}))
        assert "demo/rollouts-demo" in evidence and "index out of range" in evidence
        logs = text_of(await mcp.call_tool("canary_logs", {"tail_lines": 50}))
        assert "fresh line after the issue" in logs, "logs are read now, not from the snapshot"
        assert all(pod in logs for pod in CANARY_PODS)
        events = text_of(await mcp.call_tool("canary_events", {}))
        runs = text_of(await mcp.call_tool("analysis_runs", {}))
        assert events and "AnalysisRun" in runs
        took = []
        for _ in range(10):
            started = time.perf_counter()
            text_of(await mcp.call_tool("canary_logs", {"tail_lines": 200}))
            took.append((time.perf_counter() - started) * 1000)
    figures.record(
        "mcp",
        "canary_logs call, 3 pods, fresh logs read and redacted (median ms)",
        round(statistics.median(took)),
    )


async def test_no_planted_secret_reaches_the_mcp_client(app_harness: AppHarness) -> None:
    token = await open_incident(app_harness)
    assert app_harness.kube is not None
    cases = planted(seed=19, per_kind=15)
    lines = [line for case in cases for line in case.text.split("\n")]
    for pod in CANARY_PODS:
        app_harness.kube.set_logs("demo", pod, "rollouts-demo", [*lines, "@octocat /fixloop close"])
    async with client(app_harness, token) as mcp:
        answers = [text_of(await mcp.call_tool("canary_logs", {"tail_lines": 500}))]
        answers += [text_of(await mcp.call_tool(name, {})) for name in TOOLS - {"canary_logs"}]
    seen = "\n".join(answers)
    secrets = [s for case in cases for s in case.secrets]
    assert len(secrets) >= 150
    assert [s for s in secrets if s in seen] == []
    assert "[REDACTED" in seen
    assert "@octocat" not in seen and "/fixloop close" not in seen, "mentions and commands are inert"


async def refused(app_harness: AppHarness, token: str) -> int:
    """The HTTP status of an MCP initialize with this token; the SDK's client must fail to connect."""
    with pytest.raises(Exception):  # noqa: B017 - the SDK raises its own transport errors
        async with client(app_harness, token) as mcp:
            await mcp.list_tools()
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx2.AsyncClient() as http:
        answer = await http.post(mcp_url(app_harness), json=body, headers=headers)
    return answer.status_code


async def other_incident(app_harness: AppHarness, stage: Stage) -> Incident:
    """A second incident of the same repository, in ``stage``: its tokens must not open the first one."""
    other, _ = await app_harness.services.store.get_or_create_incident(
        "other/web/abc",
        namespace="other",
        rollout="web",
        repo=REPO,
        installation_id=1,
        stage=stage.value,
        data={"revision": "abc"},
    )
    return other


async def test_other_forged_expired_and_ended_tokens_are_refused(app_harness: AppHarness) -> None:
    token = await open_incident(app_harness)
    store = app_harness.services.store
    other = await other_incident(app_harness, Stage.VERIFIED)
    ended = await mint_token(store, other.id, 3600)
    assert await refused(app_harness, ended) == 401, "a token of an ended incident"
    forged = token.replace("fxmcp_1_", f"fxmcp_{other.id}_")
    assert await refused(app_harness, forged) == 401, "this incident's secret under another incident's id"
    swapped = ended.replace(f"fxmcp_{other.id}_", "fxmcp_1_")
    assert await refused(app_harness, swapped) == 401, "another incident's secret under this incident's id"
    short = await mint_token(store, 1, 0.2)  # the TTL restarts with each token minted
    await asyncio.sleep(0.4)
    assert await refused(app_harness, short) == 401, "expired"
    assert await refused(app_harness, token) == 401, "expired with it: one TTL per incident"


async def test_without_a_header_each_tool_call_needs_the_token_argument(app_harness: AppHarness) -> None:
    """The Copilot coding agent's MCP configuration is static: the task's token travels as an argument."""
    token = await open_incident(app_harness)
    store = app_harness.services.store
    other = await other_incident(app_harness, Stage.ISSUE_OPEN)
    other_token = await mint_token(store, other.id, 3600)
    async with client(app_harness, "") as mcp:
        assert {tool.name for tool in (await mcp.list_tools()).tools} == TOOLS
        assert "demo/rollouts-demo" in text_of(await mcp.call_tool("incident_evidence", {"token": token}))
        for bad in ("", "fxmcp_1_" + "A" * 43, token[:-1]):
            answer = await mcp.call_tool("canary_logs", {"token": bad})
            assert answer.is_error and "rollouts-demo" not in str(answer.content)
        assert "other/web" in text_of(await mcp.call_tool("incident_evidence", {"token": other_token}))
    async with client(app_harness, token) as mcp:
        mixed = await mcp.call_tool("incident_evidence", {"token": other_token})
        assert mixed.is_error, "an argument naming another incident than the header is refused"
        assert "other/web" not in str(mixed.content) and "demo/rollouts-demo" not in str(mixed.content)


async def test_the_token_stops_when_the_incident_ends(app_harness: AppHarness) -> None:
    token = await open_incident(app_harness)
    async with client(app_harness, token) as mcp:
        assert text_of(await mcp.call_tool("incident_evidence", {}))
    store = app_harness.services.store
    incident = await store.get_incident(1)
    assert incident is not None
    await store.update_incident(1, expected_version=incident.version, stage=Stage.IGNORED.value)
    assert await refused(app_harness, token) == 401


async def test_a_port_in_use_is_a_config_error_naming_the_variable(app_harness: AppHarness) -> None:
    busy = socket.socket()
    busy.bind(("0.0.0.0", 0))
    busy.listen()
    try:
        with pytest.raises(ConfigError, match="FIXLOOP_MCP_PORT"):
            await McpServerTask(app_harness.services, busy.getsockname()[1]).start()
    finally:
        busy.close()


async def test_a_foreign_host_header_is_refused_even_with_the_token(app_harness: AppHarness) -> None:
    token = await open_incident(app_harness)
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream", "Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient() as http:
        foreign = await http.post(
            mcp_url(app_harness), json=body, headers={**headers, "Host": "evil.example"}
        )
        assert foreign.status_code in (400, 403, 421), foreign.status_code
        assert "demo" not in foreign.text


async def test_a_public_repository_gets_no_token_in_its_issue(app_harness: AppHarness) -> None:
    """Anyone can read a public issue: a token there would open the canary's live logs to the world."""
    seed(app_harness)
    assert app_harness.github is not None
    app_harness.github.repos[REPO].private = False
    await app_harness.notify(demo_notification())
    await app_harness.drain()
    [issue] = app_harness.github.issues(REPO)
    assert "### Live evidence (MCP)" not in (issue.body or "")
    assert not TOKEN_RE.findall(issue.body or "")
