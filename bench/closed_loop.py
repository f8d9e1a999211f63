"""Closed-loop webhook benchmark: Fixloop's intake at saturation against a naive durable one, in one run.

    .venv/bin/python -m bench.webhook --closed-loop [--connections 50] [--seconds 10] [--warmup 2] [--slice 1]

Starts the naive anchor (``bench.naive_intake``: an aiohttp handler that checks the HMAC and inserts the
body into SQLite with one commit per request) and the real app (``python -m app serve`` on SQLite, its job
workers running), each in its own process, and saturates both with the same closed-loop load generator in
a third process (``bench.load_generator``: ``--connections`` connections per server, each sending the next
signed delivery as soon as the previous one is answered: ``issues.opened`` of 11.7 KB by default, which no
handler of Fixloop reads, so it acknowledges it without storing it; ``--event issue_comment.created`` for
one it stores and runs, the durable path). The two servers take
turns of ``--slice`` seconds, the other one stopped meanwhile, so both meet the same machine (it is
shared): ``--seconds`` counted per server after ``--warmup``. Prints req/s, p50/p99 and CPU per request of
both, the ratio app / naive-sqlite, and for the app how many jobs its workers finished during the load and
how long they took to finish the rest once it stopped (the intake must not starve them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench import naive_intake
from bench.figures import Figure
from bench.load_generator import DEFAULT_EVENT, EVENTS, compact_body
from bench.webhook import ROOT, _port, depth, start_app, wait_drained, wait_healthy

DEFAULT_CONNECTIONS = 50
GOAL_RATIO = 1.0


@dataclass(frozen=True)
class Load:
    connections: int = DEFAULT_CONNECTIONS
    seconds: float = 10.0  # counted, per server
    warmup: float = 2.0  # seconds of load per server first, not counted
    turn: float = 1.0  # seconds of one turn (the servers alternate)
    event: str = DEFAULT_EVENT  # which delivery (bench.load_generator.EVENTS)
    # The naive anchor's SQLite level: FULL, the durability of Fixloop's intake commit (a delivery
    # acknowledged is on the disk); NORMAL, the weaker one, for comparison.
    naive_synchronous: str = "FULL"


@dataclass
class Run:
    name: str
    acknowledged: int
    failures: int
    seconds: float
    p50: float
    p99: float
    cpu_per_request: float  # the server process's CPU seconds (all threads) per answer, warm-up included

    @property
    def rate(self) -> float:
        return self.acknowledged / self.seconds


@dataclass
class Comparison:
    naive: Run
    app: Run
    done_during: int  # the app's jobs its workers had finished when the load stopped
    drained: float  # seconds after the load until every job was done

    @property
    def ratio(self) -> float:
        return self.app.rate / self.naive.rate


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return 0.0
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_generator(load: Load, servers: dict[str, tuple[str, int]]) -> dict[str, dict[str, float]]:
    """``bench.load_generator`` in its own process (its event loop must not share a server's)."""
    command = [sys.executable, "-m", "bench.load_generator", "--connections", str(load.connections)]
    command += ["--seconds", str(load.seconds), "--warmup", str(load.warmup), "--slice", str(load.turn)]
    command += ["--event", load.event]
    command += [f"{name}={url}={pid}" for name, (url, pid) in servers.items()]
    patience = 2 * (load.seconds + load.warmup) + 120
    done = subprocess.run(command, cwd=ROOT, capture_output=True, check=False, timeout=patience)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr.decode()[-2000:]}")
    result: dict[str, dict[str, float]] = json.loads(done.stdout)
    return result


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def start_naive(tmp: Path, synchronous: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    command = [sys.executable, "-m", "bench.naive_intake", "--port", str(port)]
    command += ["--database", str(tmp / "naive.db"), "--synchronous", synchronous]
    with (tmp / "naive.log").open("ab") as out:
        return subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=out), f"http://127.0.0.1:{port}"


async def measure(load: Load, extra: dict[str, str] | None = None) -> Comparison:
    """Both servers under the same load, taking turns; then the app's workers finish its queue."""
    with tempfile.TemporaryDirectory() as tmp:
        port = _port()
        app_url = f"http://127.0.0.1:{port}"
        app = start_app(f"sqlite:///{tmp}/app.db", port, Path(tmp) / "app.log", extra=extra)
        naive, naive_url = start_naive(Path(tmp), load.naive_synchronous)
        try:
            await wait_healthy(app_url)
            await wait_healthy(naive_url)
            servers = {"naive-sqlite": (naive_url, naive.pid), "app": (app_url, app.pid)}
            cpu_before = {name: cpu_seconds(pid) for name, (_, pid) in servers.items()}
            result = await asyncio.to_thread(run_generator, load, servers)
            runs = {
                name: _run(name, result[name], cpu_seconds(pid) - cpu_before[name])
                for name, (_, pid) in servers.items()
            }
            async with aiohttp.ClientSession() as session, session.get(f"{app_url}/metrics") as answer:
                done_during = int(depth(await answer.text(), "done"))
            drained = await wait_drained(app_url)
        finally:
            _stop(naive)
            _stop(app)
    return Comparison(runs["naive-sqlite"], runs["app"], done_during, drained)


def _run(name: str, result: dict[str, float], cpu: float) -> Run:
    return Run(
        name,
        int(result["acknowledged"]),
        int(result["failures"]),
        float(result["seconds"]),
        float(result["p50"]),
        float(result["p99"]),
        cpu / max(1.0, result["answered"]),
    )


# --------------------------------------------------------------------------- the report


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def _line(run: Run) -> str:
    return (
        f"{run.name:<13} {run.rate:6.0f} req/s  p50 {_ms(run.p50):>4} ms  p99 {_ms(run.p99):>4} ms"
        f"  CPU {run.cpu_per_request * 1e6:4.0f} us/request  ({run.acknowledged} acknowledged,"
        f" {run.failures} failed)"
    )


def report(found: Comparison, load: Load) -> None:
    print(
        f"closed loop: {load.connections} connections, {load.seconds:.0f} s counted per server after"
        f" {load.warmup:.0f} s of warm-up, in turns of {load.turn:.1f} s;"
        f" signed {load.event} deliveries of {len(compact_body(load.event)) / 1000:.1f} kB;"
        f" naive-sqlite at synchronous = {load.naive_synchronous}"
    )
    print("  " + _line(found.naive))
    print("  " + _line(found.app))
    print(
        f"  {'':13} jobs done by the end of the load {found.done_during},"
        f" the rest done {found.drained:.1f} s after it"
    )
    print(f"app/naive-sqlite {found.ratio:.2f}")


def figures(found: Comparison, load: Load) -> list[Figure]:
    app, naive = found.app, found.naive
    return [
        Figure(
            f"webhook intake at saturation ({load.connections} connections, {load.event}),"
            f" app / naive-sqlite at {load.naive_synchronous}",
            f"{found.ratio:.2f} ({app.rate:.0f} / {naive.rate:.0f} req/s)",
            f">= {GOAL_RATIO:.1f}",
            found.ratio >= GOAL_RATIO and app.failures == 0,
        ),
        Figure(
            "  p99 (p50), app; naive-sqlite",
            f"{_ms(app.p99)} ({_ms(app.p50)}); {_ms(naive.p99)} ({_ms(naive.p50)}) ms",
        ),
        Figure(
            "  CPU per request, app; naive-sqlite",
            f"{app.cpu_per_request * 1e6:.0f}; {naive.cpu_per_request * 1e6:.0f} us",
        ),
        Figure(
            "  jobs done during the load; the rest done after it in",
            f"{found.done_during}; {found.drained:.1f} s",
        ),
    ]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m bench.webhook --closed-loop`` (``--seconds`` is the shared one)."""
    parser.add_argument("--connections", type=int, default=Load.connections)
    parser.add_argument("--warmup", type=float, default=Load.warmup, help="seconds per server not counted")
    parser.add_argument("--slice", type=float, default=Load.turn, help="seconds of one turn")
    parser.add_argument(
        "--event",
        choices=sorted(EVENTS),
        default=DEFAULT_EVENT,
        help="issues.opened: Fixloop acknowledges it unstored; issue_comment.created: it stores and runs it",
    )
    parser.add_argument(
        "--naive-synchronous",
        choices=naive_intake.SYNCHRONOUS,
        default=Load.naive_synchronous,
        help="the naive anchor's SQLite level: FULL as Fixloop's intake commit, or the weaker NORMAL",
    )
