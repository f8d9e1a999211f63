"""Benchmark: webhook acknowledgement latency and throughput over loopback.

    .venv/bin/python -m bench.webhook [--rate 500] [--seconds 10] [--database sqlite|postgresql] [--split]
    .venv/bin/python -m bench.webhook --closed-loop [--connections 50] [--seconds 10] [--slice 1]

Starts the real app (``python -m app serve``) in its own process with SQLite (or the local PostgreSQL),
then sends signed ``issues.opened`` deliveries at a fixed arrival rate (open loop: requests are not held
back by slow answers) from this process, and reports p50/p99/max acknowledgement latency and the achieved
throughput. Every delivery is stored as a job before the 202, so this measures the durable intake.
The client shares the 2 cores with the server, so the figures are conservative.

``--closed-loop`` measures the intake at saturation instead, against a naive durable intake in the same
run: ``bench/closed_loop.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.figures import Figure, percentile

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret"  # noqa: S105 - the benchmark signs with its own throwaway secret
FIXTURE = ROOT / "tests/fixtures/webhooks/issues.opened.json"
GOAL_P99_MS = 25


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_app(
    database_url: str, port: int, log: Path, *, command: str = "serve", extra: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": database_url,
        "GITHUB_WEBHOOK_SECRET": SECRET,
        "FIXLOOP_LOG_LEVEL": "WARNING",
        **(extra or {}),
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app", command], cwd=ROOT, env=env, stdout=out, stderr=out
        )


async def wait_healthy(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(f"{url}/healthz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the app did not start")


async def fire(url: str, rate: float, seconds: float) -> tuple[list[float], int, float]:
    body = FIXTURE.read_bytes()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    latencies: list[float] = []
    failures = 0
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            nonlocal failures
            headers = {
                "X-GitHub-Event": "issues",
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-Hub-Signature-256": signature,
                "Content-Type": "application/json",
            }
            started = time.perf_counter()
            try:
                async with session.post(f"{url}/github/webhook", data=body, headers=headers) as answer:
                    await answer.read()
                    ok = answer.status == 202
            except aiohttp.ClientError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                failures += 1

        tasks = []
        begin = time.perf_counter()
        total = int(rate * seconds)
        for index in range(total):
            delay = begin + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - begin
    return latencies, failures, elapsed


@dataclass
class Acks:
    database: str
    split: bool
    rate: float
    latencies: list[float]  # seconds, acknowledged deliveries only
    failures: int
    elapsed: float
    drained: float  # seconds from the end of the load until every job was done (the workers kept up?)

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed

    def ms(self, fraction: float) -> float:
        return percentile(self.latencies, fraction) * 1000


def report(acks: Acks) -> None:
    split_note = " (intake and workers in two processes)" if acks.split else ""
    print(f"database             {acks.database}{split_note}")
    print(f"target rate          {acks.rate:.0f}/s")
    print(f"acknowledged         {len(acks.latencies)} (failed {acks.failures})")
    print(f"throughput           {acks.throughput:.0f}/s")
    print(f"latency p50          {acks.ms(0.50):.1f} ms")
    print(f"latency p99          {acks.ms(0.99):.1f} ms")
    print(f"latency max          {max(acks.latencies) * 1000:.1f} ms")
    print(f"latency mean         {statistics.fmean(acks.latencies) * 1000:.1f} ms")
    print(f"jobs all done        {acks.drained:.1f} s after the load")


def figures(acks: Acks) -> list[Figure]:
    where = acks.database + (", split worker" if acks.split else "")
    return [
        Figure(
            f"webhook ack at {acks.rate:.0f}/s for {acks.elapsed:.0f} s ({where}), p99",
            f"{acks.ms(0.99):.1f} ms (p50 {acks.ms(0.50):.1f} ms)",
            f"< {GOAL_P99_MS} ms",
            acks.ms(0.99) < GOAL_P99_MS and acks.failures == 0,
        ),
        Figure(
            "  acknowledged throughput (failed); every job done after the load in",
            f"{acks.throughput:.0f}/s ({acks.failures}); {acks.drained:.1f} s",
        ),
    ]


def _database_url(database: str, tmp: str) -> str:
    if database == "sqlite":
        return f"sqlite:///{tmp}/bench.db"
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "test", "-c", f"CREATE SCHEMA {schema}"],
        check=True,
        capture_output=True,
    )
    return f"postgresql://postgres@127.0.0.1:5432/test?search_path={schema}"


async def measure(rate: float, seconds: float, database: str = "sqlite", *, split: bool = False) -> Acks:
    with tempfile.TemporaryDirectory() as tmp:
        url_db = _database_url(database, tmp)
        port = _port()
        log = Path(tmp) / "app.log"
        split_env = {"FIXLOOP_RUN_WORKERS": "false"} if split else {}
        app = start_app(url_db, port, log, extra=split_env)
        worker = start_app(url_db, port, log, command="worker") if split else None
        try:
            await wait_healthy(f"http://127.0.0.1:{port}")
            await fire(f"http://127.0.0.1:{port}", 50, 1)  # warm-up
            latencies, failures, elapsed = await fire(f"http://127.0.0.1:{port}", rate, seconds)
            drained = await wait_drained(f"http://127.0.0.1:{port}")
        finally:
            for process in (app, worker):
                if process is not None:
                    process.terminate()
                    process.wait(30)
    if not latencies:
        raise RuntimeError("no delivery was acknowledged")
    return Acks(database, split, rate, latencies, failures, elapsed, drained)


async def wait_drained(url: str, patience: float = 300.0) -> float:
    """Seconds until no job is queued or running, read from the app's own /metrics (the queue-depth
    gauge operators watch): the intake's fast lane must not starve the workers. Read over HTTP, not by a
    second connection to the database: a second SQLite writer would queue behind the app's workers."""
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() - started < patience:
            async with session.get(f"{url}/metrics") as answer:
                text = await answer.text()
            if depth(text, "queued") == 0 and depth(text, "running") == 0:
                return time.perf_counter() - started
            await asyncio.sleep(0.1)
    raise RuntimeError(f"jobs still queued {patience:.0f} s after the load")


def depth(metrics: str, status: str) -> float:
    prefix = f'fixloop_job_queue_depth{{status="{status}"}} '
    line = next((line for line in metrics.splitlines() if line.startswith(prefix)), None)
    if line is None:
        raise RuntimeError(f"/metrics has no {prefix.strip()}")
    return float(line.removeprefix(prefix))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--split", action="store_true", help="jobs in a `python -m app worker` process")
    parser.add_argument("--closed-loop", action="store_true", help="saturation, against a naive intake")
    # Imported here: bench.closed_loop builds on this module's helpers.
    from bench import closed_loop  # noqa: PLC0415

    closed_loop.add_arguments(parser)
    args = parser.parse_args()
    if args.closed_loop:
        load = closed_loop.Load(
            args.connections, args.seconds, args.warmup, args.slice, args.event, args.naive_synchronous
        )
        closed_loop.report(asyncio.run(closed_loop.measure(load)), load)
        return
    report(asyncio.run(measure(args.rate, args.seconds, args.database, split=args.split)))


if __name__ == "__main__":
    main()
