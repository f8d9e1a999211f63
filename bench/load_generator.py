"""The closed-loop load generator of ``bench.closed_loop``, run in a process of its own.

    .venv/bin/python -m bench.load_generator [--connections 50] [--seconds 10] [--warmup 2] [--slice 1]
        NAME=URL=PID NAME=URL=PID

``--connections`` keep-alive connections per server, each sending the next signed ``issues.opened``
delivery (GitHub's compact JSON, a fresh ``X-GitHub-Delivery`` every time) as soon as the previous one is
answered. The servers take turns in slices of ``--slice`` seconds (A B B A A B ...), and the one whose
turn it is not is stopped (SIGSTOP) until its next turn: its job workers cannot take the CPU from the
other's turn, and whatever else the machine is doing falls on both alike. Each server first gets
``--warmup`` seconds that are not counted. Prints one JSON object: per server, the deliveries
acknowledged, failed, the seconds of its turns, p50/p99 latency, and every answer including the warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import math
import os
import signal
import time
import uuid
from dataclasses import dataclass, field

import aiohttp

from bench.figures import percentile
from bench.webhook import FIXTURE, SECRET

# The deliveries the load can send: ``issues.opened`` (the measure; no handler of Fixloop reads it,
# so Fixloop acknowledges it without storing it, while the naive anchor stores everything) and
# ``issue_comment.created`` (a delivery Fixloop stores as a job and its workers run: the durable path).
EVENTS = {
    "issues.opened": ("issues", FIXTURE),
    "issue_comment.created": ("issue_comment", FIXTURE.with_name("issue_comment.created.json")),
}
DEFAULT_EVENT = "issues.opened"


def compact_body(event: str = DEFAULT_EVENT) -> bytes:
    """GitHub sends compact JSON; the fixture file is indented for reading."""
    return json.dumps(json.loads(EVENTS[event][1].read_bytes()), separators=(",", ":")).encode()


@dataclass
class Target:
    name: str
    url: str
    pid: int
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    answered: int = 0  # warm-up included: what the server's CPU time is divided by
    seconds: float = 0.0

    def summary(self) -> dict[str, float | int]:
        latencies = self.latencies or [math.nan]
        return {
            "acknowledged": len(self.latencies),
            "failures": self.failures,
            "seconds": self.seconds,
            "p50": percentile(latencies, 0.50),
            "p99": percentile(latencies, 0.99),
            "answered": self.answered,
        }


class Generator:
    def __init__(self, targets: list[Target], connections: int, event: str = DEFAULT_EVENT) -> None:
        self._targets = targets
        self._connections = connections
        self._event = EVENTS[event][0]
        self._body = compact_body(event)
        self._signature = "sha256=" + hmac.new(SECRET.encode(), self._body, hashlib.sha256).hexdigest()

    async def turn(
        self, session: aiohttp.ClientSession, target: Target, seconds: float, counted: bool
    ) -> None:
        """Let ``target`` run alone and keep it saturated for ``seconds``; wait for the last answers."""
        for other in self._targets:
            os.kill(other.pid, signal.SIGCONT if other is target else signal.SIGSTOP)
        begin = time.perf_counter()
        until = begin + seconds
        await asyncio.gather(
            *(self._connection(session, target, until, counted) for _ in range(self._connections))
        )
        if counted:
            target.seconds += time.perf_counter() - begin

    async def _connection(
        self, session: aiohttp.ClientSession, target: Target, until: float, counted: bool
    ) -> None:
        while (started := time.perf_counter()) < until:
            headers = {
                "X-GitHub-Event": self._event,
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-Hub-Signature-256": self._signature,
                "Content-Type": "application/json",
            }
            try:
                async with session.post(
                    f"{target.url}/github/webhook", data=self._body, headers=headers
                ) as answer:
                    await answer.read()
                    ok = answer.status == 202
            except aiohttp.ClientError:
                ok = False
            target.answered += 1
            if not counted:
                continue
            if ok:
                target.latencies.append(time.perf_counter() - started)
            else:
                target.failures += 1


async def drive(  # noqa: PLR0917 - the command line's options, in its order
    targets: list[Target], connections: int, seconds: float, warmup: float, turn: float, event: str
) -> None:
    generator = Generator(targets, connections, event)
    sessions = {
        t.name: aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) for t in targets
    }
    try:
        for target in targets:
            await generator.turn(sessions[target.name], target, warmup, counted=False)
        for number in range(math.ceil(seconds / turn)):
            for target in targets if number % 2 == 0 else targets[::-1]:
                await generator.turn(sessions[target.name], target, turn, counted=True)
    finally:
        for target in targets:
            with contextlib.suppress(ProcessLookupError):
                os.kill(target.pid, signal.SIGCONT)
        for session in sessions.values():
            await session.close()


def _target(text: str) -> Target:
    name, url, pid = text.split("=", 2)
    return Target(name, url, int(pid))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="+", type=_target, metavar="NAME=URL=PID")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0, help="counted seconds per server")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds per server first, not counted")
    parser.add_argument("--slice", type=float, default=1.0, help="seconds of one turn")
    parser.add_argument("--event", choices=sorted(EVENTS), default=DEFAULT_EVENT)
    args = parser.parse_args()
    asyncio.run(drive(args.targets, args.connections, args.seconds, args.warmup, args.slice, args.event))
    print(json.dumps({target.name: target.summary() for target in args.targets}))


if __name__ == "__main__":
    main()
