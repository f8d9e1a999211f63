"""Run the real app as a separate process (``python -m app serve``), to kill it with SIGKILL, and send it
requests that can be sent again as they were after a kill."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.harness import wait_until

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class AppProcess:
    env: dict[str, str]
    log_path: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    command: str = "serve"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> AppProcess:
        self.port = self.port or free_port()
        env = {**os.environ, **self.env, "PORT": str(self.port)}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", self.command], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        if self.command == "serve":
            await wait_until(self._healthy, 30, f"app on port {self.port} to answer /healthz")
        return self

    async def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            log = self.log_path.read_text()[-4000:]
            raise AssertionError(f"app exited with {self.process.returncode}; log tail:\n{log}")
        try:
            async with aiohttp.ClientSession() as session, session.get(f"{self.url}/healthz") as answer:
                return answer.status == 200
        except aiohttp.ClientError:
            return False

    def kill(self) -> None:
        """SIGKILL: no drain, no cleanup; what was in flight stays claimed until its lease runs out."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.process.wait, 30)
            except subprocess.TimeoutExpired:
                self.process.kill()


@dataclass(frozen=True)
class Request:
    """One HTTP request to the app, sent again as is after a kill (a delivery keeps its X-GitHub-Delivery)."""

    key: str
    path: str
    body: bytes
    headers: dict[str, str]


async def post_all(urls: list[str], requests: list[Request], concurrency: int = 16) -> set[str]:
    """Send each request (round-robin over the apps' URLs); return the keys acknowledged with 202. A killed
    app acknowledges none: the sender sees a failed delivery, as GitHub or Argo would."""
    limit = asyncio.Semaphore(concurrency)
    acknowledged: set[str] = set()

    async def post(session: aiohttp.ClientSession, index: int, request: Request) -> None:
        async with limit:
            try:
                url = urls[index % len(urls)] + request.path
                async with session.post(url, data=request.body, headers=request.headers) as answer:
                    if answer.status == 202:
                        acknowledged.add(request.key)
            except (TimeoutError, aiohttp.ClientError):
                pass

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
        await asyncio.gather(*(post(session, i, r) for i, r in enumerate(requests)))
    return acknowledged
