"""Prove the runtime install works: what every user and every container gets, not CI's dev install.

    python3 tools/check_runtime_install.py [--keep]

1. Copies into a scratch build context exactly the files the Dockerfile's build stage COPYs (read from the
   Dockerfile, so the two cannot drift), and installs them into a fresh virtual environment with the
   Dockerfile's own install script (tools/install-runtime.sh): no extras, not editable.
2. In that environment, from a directory outside the source tree (so nothing is imported from it), imports
   every module of ``app`` and checks that every import inside a function resolves too; then runs
   ``python -m app check-config``, ``python -m app analyze`` on the bundled example, and
   ``python -m app serve`` until ``/healthz`` answers 200 and a signed ``ping`` delivery 2xx, then stops it
   with SIGTERM and expects a clean exit.

Exits non-zero, naming the step, when any of it fails: a runtime import missing from
``[project].dependencies`` fails step 2. Standard library only (it runs before anything is installed).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
PING_FIXTURE = ROOT / "tests" / "fixtures" / "webhooks" / "ping.json"
WEBHOOK_SECRET = "runtime-check-webhook-secret"  # noqa: S105 - a throwaway value for a throwaway server
NOTIFY_TOKEN = "runtime-check-notify-token"  # noqa: S105
STEP_TIMEOUT = 600.0  # seconds: the install may compile nothing, but downloads can be slow

# Run by the fresh environment's Python: every module of the installed ``app`` imports, and every import
# nested in a function (not seen by importing the module) names a module that can be found.
IMPORT_SWEEP = r"""
import ast, importlib, importlib.util, pathlib, pkgutil, sys
import app
root = pathlib.Path(app.__file__).parent
if "site-packages" not in str(root):
    sys.exit(f"app imported from {root}, not from the installed package")
problems = []
for info in pkgutil.walk_packages(app.__path__, "app."):
    try:
        importlib.import_module(info.name)
    except Exception as exc:
        problems.append(f"import {info.name}: {type(exc).__name__}: {exc}")

def type_checking_only(node):
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(test)

def imported_names(tree):
    skip = {id(n) for block in ast.walk(tree) if type_checking_only(block) for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module

for source in sorted(root.rglob("*.py")):
    for name in imported_names(ast.parse(source.read_text(encoding="utf-8"))):
        top = name.split(".")[0]
        if top != "app" and importlib.util.find_spec(top) is None:
            problems.append(f"{source.relative_to(root.parent)}: imports {name}: not installed")
if problems:
    sys.exit("\n".join(problems))
print(f"ok   every module of {root} imports")
"""


class CheckFailed(Exception):
    """One step of the check failed; the message says which and why."""


def build_context_files() -> list[tuple[str, str]]:
    """(source, destination) of each COPY in the Dockerfile's first (build) stage."""
    copies: list[tuple[str, str]] = []
    stage = 0
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words[:1] == ["FROM"]:
            stage += 1
        if stage == 1 and words[:1] == ["COPY"] and not words[1].startswith("--"):
            *sources, destination = words[1:]
            copies += [(source, destination) for source in sources]
    if not copies:
        raise CheckFailed("Dockerfile: no COPY in the build stage")
    return copies


def make_context(context: Path) -> None:
    """Lay out the files as the build stage's COPY lines do (destinations relative to its WORKDIR)."""
    for source, destination in build_context_files():
        target = context / destination
        if destination.endswith("/"):
            target = target / Path(source).name
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / source, target)


def run(step: str, argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    print(f"...  {step}", flush=True)
    try:
        done = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise CheckFailed(f"{step}: no answer after {STEP_TIMEOUT:.0f} s") from exc
    if done.returncode != 0:
        raise CheckFailed(f"{step}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def app_env(scratch: Path, port: int) -> dict[str, str]:
    """A clean environment: nothing from the caller's settings leaks into what is checked."""
    key = scratch / "app-key.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True, timeout=60
    )
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(scratch),
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{scratch / 'fixloop.db'}",
        "GITHUB_APP_ID": "1",
        "GITHUB_PRIVATE_KEY_PATH": str(key),
        "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "FIXLOOP_NOTIFY_TOKEN": NOTIFY_TOKEN,
        "FIXLOOP_LOG_FORMAT": "json",
    }


def http(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback only
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def signed_ping() -> tuple[bytes, dict[str, str]]:
    body = json.dumps(json.loads(PING_FIXTURE.read_text(encoding="utf-8"))).encode()
    signature = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {
        "Content-Type": "application/json",
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": f"sha256={signature}",
    }


def wait_healthy(base: str, server: subprocess.Popen[str], deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CheckFailed(f"serve exited {server.returncode} before /healthz answered")
        try:
            if http(f"{base}/healthz") == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise CheckFailed("serve: /healthz did not answer 200 within 60 s")


def check_serve(python: Path, cwd: Path, env: dict[str, str]) -> None:
    print("...  python -m app serve", flush=True)
    base = f"http://127.0.0.1:{env['PORT']}"
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen(
            [str(python), "-m", "app", "serve"], cwd=cwd, env=env, stdout=log, stderr=log, text=True
        )
        try:
            wait_healthy(base, server, time.monotonic() + 60)
            status = http(f"{base}/github/webhook", *signed_ping())
            if not 200 <= status < 300:
                raise CheckFailed(f"serve: signed ping answered {status}")
            server.send_signal(signal.SIGTERM)
            code = server.wait(timeout=40)
            if code != 0:
                raise CheckFailed(f"serve: exit {code} after SIGTERM")
        except CheckFailed as exc:
            log.seek(0)
            raise CheckFailed(f"{exc}\n{log.read()[-3000:]}") from exc
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    print("ok   serve: /healthz 200, signed ping 2xx, clean stop on SIGTERM")


def check(scratch: Path) -> None:
    context, workdir = scratch / "context", scratch / "run"
    context.mkdir()
    workdir.mkdir()
    make_context(context)
    run("python -m venv", [sys.executable, "-m", "venv", str(scratch / "venv")], scratch, dict(os.environ))
    python = scratch / "venv" / "bin" / "python"
    install = ["sh", str(context / "tools" / "install-runtime.sh"), str(python), str(context)]
    run("tools/install-runtime.sh (no extras, not editable)", install, context, dict(os.environ))
    env = app_env(scratch, free_port())
    print(run("import sweep", [str(python), "-c", IMPORT_SWEEP], workdir, env), end="")
    print(run("python -m app check-config", [str(python), "-m", "app", "check-config"], workdir, env), end="")
    issue = run("python -m app analyze", [str(python), "-m", "app", "analyze"], workdir, env)
    if not issue.startswith("# ") or "## Evidence" not in issue or "rollouts-demo" not in issue:
        raise CheckFailed(f"analyze: the demo issue is missing from its output:\n{issue[:2000]}")
    print(f"ok   analyze: {issue.splitlines()[0][:100]}")
    check_serve(python, workdir, env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (printed)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="fixloop-runtime-check-"))
    try:
        check(scratch)
    except CheckFailed as exc:
        print(f"FAIL {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print("ok   the runtime install serves, checks its config and analyses the bundled example")
    return 0


if __name__ == "__main__":
    sys.exit(main())
