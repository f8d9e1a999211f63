"""FakeA2AAgent: the one fake A2A agent every test uses, a real server built with the official a2a-sdk
(its JSON-RPC routes and agent card on Starlette, served by uvicorn on 127.0.0.1).

    async with FakeA2AAgent() as agent:            # or the `fake_a2a` pytest fixture
        agent.script(VERDICT)                      # answers, in order: a dict as a data part,
        agent.script("not json")                   # a str as a text part (garbage, hostile text)
        agent.script(AgentReply(VERDICT, as_task=True))   # a completed Task with an artifact
        agent.script(AgentReply(fail="out of tokens"))    # a failed Task
        agent.delay = 5.0                          # seconds before every answer (slow agent)
        agent.down()                               # stop serving: connection refused from now on
        agent.url                                  # the base URL (the card is under /.well-known/)
        agent.received                             # the text parts of every message it got

No scripted answer left: the agent answers with a failed task and records a violation; the fixture
asserts there are none at teardown.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from a2a.helpers import (
    get_text_parts,
    new_data_message,
    new_data_part,
    new_task_from_user_message,
    new_text_message,
    new_text_part,
)
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types.a2a_pb2 import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
from starlette.applications import Starlette

AGENT_NAME = "Canary Doctor"


@dataclass(frozen=True)
class AgentReply:
    answer: dict[str, Any] | str | None = None
    as_task: bool = False  # a Task with the answer as an artifact, instead of a direct Message
    fail: str | None = None  # a failed Task with this reason


class _Executor(AgentExecutor):
    def __init__(self, fake: FakeA2AAgent) -> None:
        self.fake = fake

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.message is not None
        self.fake.received.append("\n".join(get_text_parts(context.message.parts)))
        if self.fake.delay:
            await asyncio.sleep(self.fake.delay)
        if not self.fake.replies:
            self.fake.violations.append("no scripted answer left")
            reply = AgentReply(fail="fake: no scripted answer")
        else:
            reply = self.fake.replies.pop(0)
        if reply.fail is None and not reply.as_task:
            await event_queue.enqueue_event(_message(reply.answer))
            return
        task = context.current_task or new_task_from_user_message(context.message)
        await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue=event_queue, task_id=task.id, context_id=task.context_id)
        await updater.start_work()
        if reply.fail is not None:
            await updater.failed(new_text_message(reply.fail))
            return
        part = (
            new_data_part(reply.answer)
            if isinstance(reply.answer, dict)
            else new_text_part(str(reply.answer))
        )
        await updater.add_artifact(parts=[part], name="verdict")
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        raise NotImplementedError("the fake agent does not cancel")


def _message(answer: dict[str, Any] | str | None) -> Any:
    return new_data_message(answer) if isinstance(answer, dict) else new_text_message(str(answer or ""))


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class FakeA2AAgent:
    def __init__(self, name: str = AGENT_NAME) -> None:
        self.name = name
        self.delay = 0.0
        self.replies: list[AgentReply] = []
        self.received: list[str] = []
        self.violations: list[str] = []
        self.interface_url: str | None = None  # None: the agent's own URL; set to point the card elsewhere
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._sock = _free_socket()
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def card(self) -> AgentCard:
        skill = AgentSkill(
            id="canary-analysis",
            name="Canary analysis",
            description="Finds why a canary failed and answers a fixloop_verdict JSON object.",
            tags=["kubernetes", "argo-rollouts"],
            input_modes=["text/plain"],
            output_modes=["application/json", "text/plain"],
        )
        return AgentCard(
            name=self.name,
            description="Fake canary analyst for Fixloop's tests",
            version="1.0.0",
            default_input_modes=["text/plain"],
            default_output_modes=["application/json", "text/plain"],
            capabilities=AgentCapabilities(streaming=False),
            supported_interfaces=[
                AgentInterface(
                    protocol_binding="JSONRPC",
                    protocol_version="1.0",
                    url=self.interface_url or f"{self.url}/",
                )
            ],
            skills=[skill],
        )

    def script(self, *replies: AgentReply | dict[str, Any] | str) -> None:
        self.replies += [r if isinstance(r, AgentReply) else AgentReply(r) for r in replies]

    async def start(self) -> FakeA2AAgent:
        card = self.card()
        handler = DefaultRequestHandler(
            agent_executor=_Executor(self), task_store=InMemoryTaskStore(), agent_card=card
        )
        routes = [*create_agent_card_routes(card), *create_jsonrpc_routes(handler, "/")]
        config = uvicorn.Config(Starlette(routes=routes), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        while not self._server.started:  # uvicorn sets a flag, not an event
            if self._task.done():
                await self._task  # raises why it could not start
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._server, self._task = None, None
        self._sock.close()

    async def down(self) -> None:
        """Stop serving: from now on the agent's URL refuses connections."""
        await self.stop()

    async def __aenter__(self) -> FakeA2AAgent:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


@pytest.fixture
async def fake_a2a() -> AsyncIterator[FakeA2AAgent]:
    async with FakeA2AAgent() as fake:
        yield fake
        assert not fake.violations, fake.violations
