"""The real llama.cpp server for these tests: the one .ci/run started, or one started here.

``FIXLOOP_TEST_LLAMA_URL`` (set by .ci/run, ends with /v1) names a running server; without it the
session starts its own on a free loopback port and stops it at the end. A server that cannot be
started or does not answer fails the tests with the reason: never a skip.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.analysis.llm import forget_formats
from tests.llm_server.llama import URL_ENV, LlamaUnavailable, answers, command, wait_ready
from tests.llm_server.proxy import RecordingProxy
from tests.processes import free_port


@pytest.fixture(scope="session")
def llama_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get(URL_ENV, "").strip().rstrip("/")
    if given:
        if not answers(given):
            pytest.fail(f"{URL_ENV}={given} does not answer GET /models: is the llama.cpp server up?")
        yield given
        return
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    with Path(log_path).open("wb") as log:
        try:
            process = subprocess.Popen(command(port), stdout=log, stderr=subprocess.STDOUT)
        except (LlamaUnavailable, OSError) as exc:
            pytest.fail(f"cannot start the llama.cpp server: {exc}")
        try:
            wait_ready(url, lambda: process.poll() is None)
        except LlamaUnavailable as exc:
            process.kill()
            process.wait(10)
            pytest.fail(f"{exc}; server log tail:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            yield url
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


@pytest.fixture
async def llama_proxy(llama_url: str) -> AsyncIterator[RecordingProxy]:
    """A recording proxy in front of the server: ``proxy.base_url`` is the endpoint Fixloop is given."""
    proxy = await RecordingProxy(llama_url).start()
    try:
        yield proxy
    finally:
        await proxy.stop()


@pytest.fixture(autouse=True)
def _fresh_format_memory() -> Iterator[None]:
    forget_formats()
    yield
    forget_formats()
