"""Closed-loop webhook benchmark: Fixloop's intake at saturation against a naive durable one.

    .venv/bin/python -m bench.webhook --closed-loop [--connections 50] [--seconds 10] [--warmup 2]
                                      [--rounds 1]

Each round starts the naive anchor (``bench.naive_intake``: HMAC check, SQLite insert and commit per
request) and then the real app (``python -m app serve`` on SQLite, its job workers running), each in its
own process, and drives each in turn with the same load generator, itself a separate process (``python -m
bench.closed_loop drive``): ``--connections`` keep-alive connections, each sending the next signed
``issues.opened`` delivery (GitHub's compact JSON, 11.7 KB, a fresh ``X-GitHub-Delivery`` every time) as
soon as the previous one is answered. The first ``--warmup`` seconds are not counted. It prints req/s,
p50 and p99 of both and the ratio app / naive-sqlite; for the app also how many jobs its workers finished
during the load and how long they took to finish the rest (the intake must not starve them).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.figures import Figure, percentile
from bench.webhook import FIXTURE, ROOT, SECRET, _port, depth, start_app, wait_drained, wait_healthy

DEFAULT_CONNECTIONS = 50
GOAL_RATIO = 1.0


# --------------------------------------------------------------------------- the load generator process


def compact_body() -> bytes:
    """GitHub sends compact JSON; the fixture file is indented for reading."""
    return json.dumps(json.loads(FIXTURE.read_bytes()), separators=(",", ":")).encode()


async def drive(url: str, connections: int, seconds: float, warmup: float) -> dict[str, float | int]:
    body = compact_body()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    latencies: list[float] = []
    failures = 0
    begin = time.perf_counter()
    counted_from, until = begin + warmup, begin + warmup + seconds
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def connection() -> None:
            nonlocal failures
            while (started := time.perf_counter()) < until:
                headers = {
                    "X-GitHub-Event": "issues",
                    "X-GitHub-Delivery": str(uuid.uuid4()),
                    "X-Hub-Signature-256": signature,
                    "Content-Type": "application/json",
                }
                try:
                    async with session.post(f"{url}/github/webhook", data=body, headers=headers) as answer:
                        await answer.read()
                        ok = answer.status == 202
                except aiohttp.ClientError:
                    ok = False
                finished = time.perf_counter()
                if started < counted_from or finished > until:
                    continue  # warm-up, or straddling the end of the window
                if ok:
                    latencies.append(finished - started)
                else:
                    failures += 1

        await asyncio.gather(*(connection() for _ in range(connections)))
    if not latencies:
        raise SystemExit("no delivery was acknowledged")
    return {
        "acknowledged": len(latencies),
        "failures": failures,
        "seconds": seconds,
        "p50": percentile(latencies, 0.50),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies),
    }


def run_driver(url: str, connections: int, seconds: float, warmup: float) -> dict[str, float | int]:
    """The load generator in its own process (its event loop must not share the server's)."""
    command = [sys.executable, "-m", "bench.closed_loop", "drive", url]
    command += ["--connections", str(connections), "--seconds", str(seconds), "--warmup", str(warmup)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, check=False, timeout=seconds + warmup + 120)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr.decode()[-2000:]}")
    result: dict[str, float | int] = json.loads(done.stdout)
    return result


# --------------------------------------------------------------------------- the two servers


@dataclass
class Run:
    name: str
    acknowledged: int
    failures: int
    seconds: float
    p50: float
    p99: float
    done_during: int | None = None  # the app's jobs its workers finished while the load ran
    drained: float | None = None  # seconds after the load until every job was done

    @property
    def rate(self) -> float:
        return self.acknowledged / self.seconds


def _run(name: str, result: dict[str, float | int]) -> Run:
    return Run(
        name,
        int(result["acknowledged"]),
        int(result["failures"]),
        float(result["seconds"]),
        float(result["p50"]),
        float(result["p99"]),
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


async def measure_naive(tmp: Path, connections: int, seconds: float, warmup: float) -> Run:
    port = _port()
    command = [sys.executable, "-m", "bench.naive_intake", "--port", str(port)]
    command += ["--database", str(tmp / f"naive-{uuid.uuid4().hex[:6]}.db")]
    with (tmp / "naive.log").open("ab") as out:
        server = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=out)
    try:
        await wait_healthy(f"http://127.0.0.1:{port}")
        result = await asyncio.to_thread(run_driver, f"http://127.0.0.1:{port}", connections, seconds, warmup)
    finally:
        _stop(server)
    return _run("naive-sqlite", result)


async def measure_app(tmp: Path, connections: int, seconds: float, warmup: float) -> Run:
    port = _port()
    url = f"http://127.0.0.1:{port}"
    app = start_app(f"sqlite:///{tmp}/app-{uuid.uuid4().hex[:6]}.db", port, tmp / "app.log")
    try:
        await wait_healthy(url)
        result = await asyncio.to_thread(run_driver, url, connections, seconds, warmup)
        async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as answer:
            done_during = int(depth(await answer.text(), "done"))
        drained = await wait_drained(url)
    finally:
        _stop(app)
    run = _run("app", result)
    run.done_during, run.drained = done_during, drained
    return run


# --------------------------------------------------------------------------- one run, its report


@dataclass
class Round:
    naive: Run
    app: Run

    @property
    def ratio(self) -> float:
        return self.app.rate / self.naive.rate


async def measure(connections: int, seconds: float, warmup: float, rounds: int = 1) -> list[Round]:
    """The naive anchor, then the app, ``rounds`` times: each ratio is of two runs under the same load."""
    found: list[Round] = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            naive = await measure_naive(Path(tmp), connections, seconds, warmup)
            app = await measure_app(Path(tmp), connections, seconds, warmup)
            found.append(Round(naive, app))
    return found


def _line(run: Run) -> str:
    text = (
        f"{run.name:<13} {run.rate:7.0f} req/s  p50 {run.p50 * 1000:6.1f} ms  p99 {run.p99 * 1000:6.1f} ms"
        f"  ({run.acknowledged} acknowledged, {run.failures} failed)"
    )
    if run.drained is not None:
        text += f"; jobs done by the end of the load {run.done_during}, the rest {run.drained:.1f} s after it"
    return text


def report(rounds: list[Round], connections: int, seconds: float) -> None:
    print(f"closed loop: {connections} connections, {seconds:.0f} s each, signed issues.opened (11.7 KB)")
    for number, found in enumerate(rounds, 1):
        print(f"round {number}")
        print("  " + _line(found.naive))
        print("  " + _line(found.app))
        print(f"  app/naive-sqlite {found.ratio:.2f}")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def figures(rounds: list[Round]) -> list[Figure]:
    worst = min(rounds, key=lambda found: found.ratio)
    app, naive = worst.app, worst.naive
    latencies = f"{_ms(app.p50)} / {_ms(app.p99)} ms; {_ms(naive.p50)} / {_ms(naive.p99)} ms"
    return [
        Figure(
            f"webhook intake at saturation ({DEFAULT_CONNECTIONS} connections), app / naive-sqlite",
            f"{worst.ratio:.2f} ({app.rate:.0f} / {naive.rate:.0f} req/s)",
            f">= {GOAL_RATIO:.1f}",
            worst.ratio >= GOAL_RATIO and app.failures == 0,
        ),
        Figure("  p50 / p99, app; naive-sqlite", latencies),
        Figure(
            "  jobs done during the load (warm-up included); the rest done after it in",
            f"{app.done_during}; {app.drained:.1f} s",
        ),
    ]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load not counted")


def main() -> None:
    """``python -m bench.closed_loop drive URL ...``: the load generator; prints its result as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=("drive",))
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=10.0)
    add_arguments(parser)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(drive(args.url, args.connections, args.seconds, args.warmup))))


if __name__ == "__main__":
    main()
